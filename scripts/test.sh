#!/bin/sh
# The README's second command: install what is missing, then run every test suite
# (sanitized build, unit, fuzz smoke, integration). Ends with "N passed, N failed".
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
exec make test
