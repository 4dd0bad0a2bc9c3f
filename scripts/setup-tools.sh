#!/usr/bin/env bash
# Installs what the test suite needs beyond npm, so that a fresh machine passes
# `npm ci && npm test`. Idempotent: installs only what is missing, silent and
# fast (well under 2 s) when everything is already there.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Debian package -> why the tests need it. Checked with dpkg, plus a command
# that must be on PATH where the package provides one.
missing=()
need() {
  local package=$1 command=${2:-}
  if dpkg -s "$package" >/dev/null 2>&1 && { [ -z "$command" ] || command -v "$command" >/dev/null 2>&1; }; then
    return
  fi
  missing+=("$package")
}

if ! command -v dpkg >/dev/null 2>&1; then
  echo "setup-tools: dpkg not found; install by hand: python3-torch mkdocs mkdocs-material chromium git-lfs git" >&2
  exit 1
fi

need git git                  # integration tests run the CLI in temp git repos
need python3-torch            # .pt interop tests, run with Debian's /usr/bin/python3
need mkdocs mkdocs            # docs build (mkdocs build --strict)
need mkdocs-material          # the docs theme
need chromium chromium        # browser tests (playwright-core drives the Debian binary)
need git-lfs git-lfs          # benchmark anchor

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "setup-tools: missing Debian packages: ${missing[*]}" >&2
    echo "setup-tools: install them as root with:" >&2
    echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  log=$(mktemp)
  trap 'rm -f "$log"' EXIT
  # Wait for another apt/dpkg run instead of failing on its lock.
  apt_opts=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
  if ! "${as_root[@]}" apt-get "${apt_opts[@]}" update >"$log" 2>&1 ||
    ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y --no-install-recommends \
      "${missing[@]}" >>"$log" 2>&1; then
    cat "$log" >&2
    echo "setup-tools: apt-get failed installing: ${missing[*]}" >&2
    exit 1
  fi
  for package in "${missing[@]}"; do
    echo "setup-tools: installed $package"
  done
fi

if [ -f tools/gcs-emulator/ensure.js ]; then
  node tools/gcs-emulator/ensure.js --quiet
fi
