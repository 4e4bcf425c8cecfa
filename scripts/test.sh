#!/usr/bin/env bash
# The whole test suite: formatting and lints, every cargo test (unit,
# property, integration), the release build of the panel (wasm), the
# Playwright end-to-end suite in Debian's Chromium, and the Debian packages
# built and tested as installed. Installs what is missing
# first; safe to re-run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/setup.sh --e2e
export PATH="$HOME/.cargo/bin:$ROOT/end2end/node_modules/.bin:$PATH"
# One build from scratch: incremental state would only add gigabytes to
# target/ (a CI machine's disk filled once while linking the tests).
export CARGO_INCREMENTAL=0

# Each step's heading says how much disk is left, so a run that fills the
# disk says where.
step() {
  printf '\n\033[1;34m==> %s\033[0m\n' "$*"
  df -h --output=avail,target "$ROOT" 2>/dev/null | tail -n 1 | awk '{print "    disk free: " $1 " on " $2}' || true
}

step "cargo fmt --check"
cargo fmt --all --check

step "no new import cycles (scripts/module-cycles.py)"
if command -v python3 >/dev/null; then
  python3 scripts/module-cycles.py
else
  echo "python3 is missing: the import-cycle check is skipped"
fi

step "no new long functions or files (scripts/sizes.py)"
if command -v python3 >/dev/null; then
  python3 scripts/sizes.py
else
  echo "python3 is missing: the size check is skipped"
fi

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test (unit, property and integration tests)"
cargo test --workspace

# After the tests: the server in the dev profile shares most of their build.
step "scripts/build-site.sh --dev (server + optimised panel wasm)"
scripts/build-site.sh --dev

step "Playwright end-to-end tests (Debian Chromium)"
export ROOMCTL_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/roomctl"
export LEPTOS_SITE_ROOT="$ROOT/target/site"
(cd end2end && npx playwright test)

# Last: the release builds of the Debian packages are the suite's longest
# step (docs/development.md, "The packages in the suite").
step "scripts/package.sh (Debian packages, amd64 and arm64) and scripts/test-package.sh"
scripts/package.sh all
scripts/test-package.sh

step "all tests passed"
