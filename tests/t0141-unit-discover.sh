#!/bin/bash
exec "${BUILD:-build}/tests/test_discover"
