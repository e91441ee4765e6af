#!/bin/bash
# Unit test: age buckets, wrapper globs, uncertainty, samples and age labels (runs the TAP binary built by make).
exec "${BUILD:-build}/tests/test_heaplabels"
