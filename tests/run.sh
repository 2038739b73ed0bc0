#!/usr/bin/env bash
# The whole test suite on a Debian 12 machine: installs what the tests need
# (system packages with apt-get, Python packages with pip), then runs pytest.
# Extra arguments go to pytest, e.g. `bash tests/run.sh -k realworld`.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES="qemu-system-x86 grub-common grub-pc-bin libxen-dev libxenmisc4.17 gcc libc6-dev pkg-config
  binutils xz-utils lz4 lzop zstd bzip2 gzip openssl file make git python3-venv"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
# The index is refreshed every run: the real-world tier follows Debian's current kernel.
$SUDO apt-get update -qq
missing=$(for pkg in $APT_PACKAGES; do dpkg -s "$pkg" >/dev/null 2>&1 || echo "$pkg"; done)
if [ -n "$missing" ]; then
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
# Debian's own Python refuses pip outside a virtual environment (externally-managed-
# environment): use the active one, else .venv here.
PYTHON=python3
if ! python3 -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)'; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  PYTHON=.venv/bin/python
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "tests/run.sh: pvhlint needs Python 3.11 or later ($("$PYTHON" --version))" >&2
  exit 2
fi
"$PYTHON" -m pip install -q --disable-pip-version-check -e '.[test]'
exec "$PYTHON" -m pytest "$@"
