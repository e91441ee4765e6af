#!/bin/bash
# Unit test: runs the TAP binary built by make.
exec "${BUILD:-build}/tests/test_retention"
