#!/usr/bin/env bash
# Builds roomctl and starts it with the built-in demo project on loopback
# (development profile: panel on http://127.0.0.1:3000/, wall panel on
# http://127.0.0.1:3080/), with the simulated devices of the demo's library
# drivers beside it (a PJLink projector on 127.0.0.1:4352, a Kramer switcher
# on :4353, a Biamp Tesira DSP on :4354, a Lutron dimmer on :4355 and a
# Lutron shade on :4356) so the demo's buttons drive something real.
# Installs what is missing first; safe to re-run. Ctrl-C stops both.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$ROOT/end2end/node_modules/.bin:$PATH"
scripts/build-site.sh --dev
export LEPTOS_SITE_ROOT="$ROOT/target/site"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/roomctl"

"$BIN" simulate \
  --driver pjlink --listen 127.0.0.1:4352 \
  --driver kramer-p3000 --listen 127.0.0.1:4353 \
  --driver biamp-tesira --listen 127.0.0.1:4354 \
  --driver lutron-integration --listen 127.0.0.1:4355 \
  --driver lutron-shade --listen 127.0.0.1:4356 &
SIM=$!
"$BIN" serve --demo "$@" &
CTL=$!
# Ctrl-C or a TERM to this script stops both (and waits for a clean exit).
trap 'kill "$CTL" "$SIM" 2>/dev/null || true; wait' INT TERM EXIT
wait "$CTL"
