#!/bin/bash
# The TAP unit test of user/util/htab.c, built by the Makefile from tests/unit/test_htab.c.
exec "${BUILD:-build}/tests/test_htab"
