#!/usr/bin/env bash
# Tests the Debian packages as installed, after scripts/package.sh: runs
# server/tests/installed_package.rs (the one test harness) on them. Each
# package is unpacked into a temporary root; in a network namespace of its
# own the packaged binary runs with the packaged unit's command line and
# the packaged settings (the demo answers, users are added, a project is
# pushed, a restart keeps it, the station raises alerts), the units pass
# `systemd-analyze verify`, and the arm64 binary under qemu-aarch64
# validates a project and serves the panel page. Those tests are ignored in
# a plain `cargo test` (no packages there); this runs them.
#
# Usage: scripts/test-package.sh [DEB_DIR]   (default: $CARGO_TARGET_DIR/debian)
#   ROOMCTL_SAVE_DATA_DIR=DIR  keep the data the amd64 test made in DIR
#                              (how tests/fixtures/package-0.1.0-1 was made)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
DEBS="$(realpath "${1:-${CARGO_TARGET_DIR:-$ROOT/target}/debian}")"
ls "$DEBS"/roomctl_*_amd64.deb "$DEBS"/roomctl_*_arm64.deb >/dev/null \
  || { echo "no packages in $DEBS: run scripts/package.sh first" >&2; exit 2; }
# --workspace: the features `cargo test --workspace` (scripts/test.sh) built
# this test with, so that its build is reused, not redone.
ROOMCTL_DEB_DIR="$DEBS" cargo test --workspace --test installed_package -- --ignored
