#!/bin/bash
# The USDT note reader on the sampler and a <sys/sdt.h> program (tests/unit/test_usdt.c).
B=${BUILD:-build}
exec "$B/tests/test_usdt" "$B/libheaptrace-sampler.so" "$B/fixtures/otel_emitter-fp"
