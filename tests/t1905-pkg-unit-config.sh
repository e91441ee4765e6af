#!/bin/bash
# Unit test of the config file parser: runs the TAP binary built by make.
exec "${BUILD:-build}/tests/test_config"
