#!/usr/bin/env bash
# Measures the README's two commands as a new user meets them: a fresh
# clone of this repository's HEAD, an empty CARGO_HOME (no installed cargo
# tools, no registry cache), an empty npm cache and no target/. Prints how
# long `scripts/demo.sh` takes until the demo answers, then how long
# `scripts/test.sh` takes. Not part of the suite; docs/development.md has
# the figures. Uses /tmp/roomctl-first-run (removed first).
# Usage: scripts/measure-first-run.sh
set -u
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK=/tmp/roomctl-first-run
rm -rf "$WORK"
mkdir -p "$WORK/home/.cargo/bin"
# Only rustup's proxies, as on a machine where rustup was just installed.
for tool in cargo rustc rustup cargo-clippy cargo-fmt clippy-driver rustfmt rustdoc; do
  ln -s "$(command -v "$tool")" "$WORK/home/.cargo/bin/$tool"
done
git clone -q "$REPO" "$WORK/clone"
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
export HOME="$WORK/home" CARGO_HOME="$WORK/home/.cargo"
export PATH="$CARGO_HOME/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
cd "$WORK/clone"
echo "commit $(git rev-parse --short HEAD)"
t0=$(date +%s)
scripts/demo.sh > "$WORK/demo.log" 2>&1 &
demo=$!
until curl -fs -o /dev/null http://127.0.0.1:3000/; do
  sleep 2
  kill -0 "$demo" 2>/dev/null || { echo "scripts/demo.sh ended early: see $WORK/demo.log"; exit 1; }
done
echo "command 1 (scripts/demo.sh) served the demo after $(( $(date +%s) - t0 )) s"
kill "$demo"; wait "$demo" 2>/dev/null
t1=$(date +%s)
scripts/test.sh > "$WORK/test.log" 2>&1
rc=$?
echo "command 2 (scripts/test.sh) exit $rc after $(( $(date +%s) - t1 )) s (log: $WORK/test.log)"
