#!/bin/bash
# The TAP unit test of user/util/utf8.c, built by the Makefile from tests/unit/test_utf8.c.
exec "${BUILD:-build}/tests/test_utf8"
