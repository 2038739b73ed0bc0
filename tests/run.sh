#!/usr/bin/env bash
# The whole test suite on a Debian 12 machine: installs what the tests need
# (system packages with apt-get, Python packages with pip), then runs pytest.
# Extra arguments go to pytest, e.g. `bash tests/run.sh -k realworld`.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES="qemu-system-x86 grub-common grub-pc-bin libxen-dev libxenmisc4.17 gcc libc6-dev pkg-config
  binutils xz-utils lz4 lzop zstd bzip2 gzip openssl file make git debootstrap"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
# The index is refreshed every run: the real-world tier follows Debian's current kernel.
$SUDO apt-get update -qq
missing=$(for pkg in $APT_PACKAGES; do dpkg -s "$pkg" >/dev/null 2>&1 || echo "$pkg"; done)
if [ -n "$missing" ]; then
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
python3 -m pip install -q --disable-pip-version-check -e '.[test]'
# Debian 13's loaders (QEMU 10.0, libxenguest 4.20, GRUB 2.12) run in a debootstrap chroot,
# cached in ~/.cache/pvhlint/trixie-root; about a minute to build, reused afterwards. Running
# it needs root (chroot). If it cannot be built the tests that need it say why: they skip, or
# fail under CI=true.
if [ "$(id -u)" = 0 ]; then
  python3 -m tests.loaders.trixie_root >/dev/null || echo "tests/run.sh: no Debian 13 chroot" >&2
else
  echo "tests/run.sh: not root, so no Debian 13 chroot (its loaders run under chroot)" >&2
fi
exec python3 -m pytest "$@"
