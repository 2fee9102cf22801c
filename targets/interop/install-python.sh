#!/usr/bin/env bash
# Creates targets/interop/.venv and installs exactly the pinned lock (mcp==2.3.0, fastmcp==4.2.3 and their
# dependencies) for the Python interop targets. Idempotent: re-running reuses the venv and reinstalls nothing
# that is already at the pinned version.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
lock="$here/python/requirements.lock"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --disable-pip-version-check --no-input --quiet --no-deps -r "$lock"
"$venv/bin/python" -m pip check --disable-pip-version-check >/dev/null \
    || { echo "install-python.sh: pip check failed; the lock is incomplete" >&2; "$venv/bin/python" -m pip check; exit 1; }
"$venv/bin/python" -c 'import mcp, fastmcp, jwt; print("interop venv ready:", "fastmcp", fastmcp.__version__)'
