#!/usr/bin/env bash
# Builds roomctl and starts it with the built-in demo project on loopback
# (development profile: panel on http://127.0.0.1:3000/, wall panel on
# http://127.0.0.1:3080/). Installs what is missing first; safe to re-run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$ROOT/end2end/node_modules/.bin:$PATH"
cargo leptos build --release
export LEPTOS_SITE_ROOT="$ROOT/target/site"
exec "$ROOT/target/release/roomctl" serve --demo "$@"
