#!/bin/bash
# install-deps.sh - install the Debian packages heaptrace needs to build and
# test, but only those that are missing. A quick no-op when all are present.
# Runs apt-get update at most once, and only when something must be installed.
set -euo pipefail

PACKAGES=(
	clang clang-format llvm libbpf-dev bpftool libelf-dev libdw-dev
	libprotobuf-c-dev protobuf-c-compiler zlib1g-dev golang-go curl
	pkg-config libiberty-dev make gcc g++ libc6-dev perl python3 libcapstone-dev
	libjemalloc-dev libtcmalloc-minimal4 redis-server redis-tools bpftrace systemtap-sdt-dev
	libdebuginfod-dev debuginfod libcurl4-openssl-dev openssl
	passwd util-linux time bc
	# packaging (t19xx): man page checks, unit checks, the Debian package
	man-db groff systemd bash-completion debhelper dpkg-dev fakeroot strace
	prometheus
	# the slow-disk test's FUSE filesystem (t1928)
	libfuse3-dev fuse3
	jq chromium
)

missing=()
for pkg in "${PACKAGES[@]}"; do
	# dpkg -s succeeds for removed-but-configured packages too; check the status.
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	if [[ "$status" != "install ok installed" ]]; then
		missing+=("$pkg")
	fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
	exit 0
fi

echo "install-deps: installing missing packages: ${missing[*]}" >&2
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=(sudo)
	else
		echo "install-deps: error: need root (or sudo) to install: ${missing[*]}" >&2
		exit 1
	fi
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -q --no-install-recommends "${missing[@]}"
