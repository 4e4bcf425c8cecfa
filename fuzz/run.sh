#!/bin/sh
# Builds the fuzz targets with libFuzzer's coverage instrumentation and runs
# each for SECONDS (default 30), without cargo-fuzz (not installed on every
# machine; `cargo +nightly fuzz run TARGET` does the same plus AddressSanitizer).
# Usage: fuzz/run.sh [SECONDS] [TARGET...]
set -eu
cd "$(dirname "$0")"
seconds=${1:-30}
[ $# -gt 0 ] && shift
targets=${*:-"lookup live extension central_request central_event panel_client project pjlink mqtt_command driver_response device_search calendar occupancy_reading"}
triple=$(rustc -vV | sed -n 's/^host: //p')
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
# The target triple keeps these flags off build scripts and proc macros.
RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks" \
  cargo build --release --target "$triple" --bins
for t in $targets; do
  mkdir -p "corpus/$t" artifacts
  echo "== $t"
  "$CARGO_TARGET_DIR/$triple/release/$t" -max_total_time="$seconds" -max_len=4096 \
    -artifact_prefix=artifacts/ "corpus/$t" 2>&1 | grep -E '^#[0-9]+[[:space:]]+DONE|^==|ERROR|panicked' || true
  [ -z "$(ls artifacts 2>/dev/null)" ] || { echo "crash inputs in fuzz/artifacts"; exit 1; }
done
