#!/bin/bash
# The TAP unit test of user/output/pprof.c, built by the Makefile from tests/unit/test_pprof.c.
exec "${BUILD:-build}/tests/test_pprof"
