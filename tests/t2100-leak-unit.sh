#!/bin/bash
# The TAP unit test of user/output/leak.c, built by the Makefile from tests/unit/test_leak.c.
exec "${BUILD:-build}/tests/test_leak"
