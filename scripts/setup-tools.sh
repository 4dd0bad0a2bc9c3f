#!/usr/bin/env bash
# Installs (on Debian as root) or names (elsewhere) what the test suite needs beyond npm;
# the work is done by scripts/setup-tools.js, which also runs where there is no bash.
set -euo pipefail
exec node "$(dirname "${BASH_SOURCE[0]}")/setup-tools.js" "$@"
