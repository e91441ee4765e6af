#!/bin/bash
# Unit test: the uid of a connection's client (sock_diag, /proc/net/tcp,
# SO_PEERCRED); runs the TAP binary built by make.
exec "${BUILD:-build}/tests/test_peer"
