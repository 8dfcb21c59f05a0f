#!/bin/sh
# The README's first command: install what is missing, build, and start broker + hub + agent
# on this machine (see scripts/run-local.sh). Ctrl-C stops everything.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
exec make run
