#!/usr/bin/env bash
# Builds the Debian packages of roomctl: amd64 and arm64 (Raspberry Pi 4/5,
# ARM mini-PCs; cross-compiled with Debian's gcc-aarch64-linux-gnu and
# libc6-dev-arm64-cross and rustup's aarch64-unknown-linux-gnu target).
# Each holds the server built in the `deb` profile (Cargo.toml: release,
# stripped), the site (panel wasm, designer, styles, public/), the settings
# as a conffile, the two systemd units and the maintainer scripts
# ([package.metadata.deb] in server/Cargo.toml, packaging/). Then checks
# that the binary is stripped and for the right machine, the size budget
# (docs/performance.md, "Package size") and lintian.
#
# Usage: scripts/package.sh [amd64|arm64|all]        (default: all)
# Output: $CARGO_TARGET_DIR/debian/roomctl_<version>-1_<arch>.deb
#         (target/debian without CARGO_TARGET_DIR)
# Heavy: one release build per architecture (docs/development.md has the
# times). Installs what it needs first (scripts/setup.sh --package).
# The installed-package test: scripts/test-package.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$ROOT/end2end/node_modules/.bin:$PATH"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT="$TARGET_DIR/debian"
PROFILE=deb
ARCHES="${1:-all}"
[[ $ARCHES == all ]] && ARCHES="amd64 arm64"
for arch in $ARCHES; do
  [[ $arch == amd64 || $arch == arm64 ]] || { echo "unknown architecture $arch (amd64, arm64 or all)" >&2; exit 2; }
done

# The budget (docs/performance.md, "Package size"): what a box downloads
# and keeps. Over it, the build fails.
DEB_BUDGET=$((16 * 1024 * 1024))      # each .deb
BINARY_BUDGET=$((44 * 1024 * 1024))   # the stripped binary inside

say() { printf '\033[1;34m[package]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[package]\033[0m %s\n' "$*" >&2; exit 1; }
elapsed() { local s=$(( $(date +%s) - $1 )); printf '%d min %02d s' $((s / 60)) $((s % 60)); }

scripts/setup.sh --package

# The site is the same for both architectures (the panel's wasm, always
# the optimised build); no server there: the packages' is built below.
# After scripts/test.sh's own site build this only checks that nothing
# changed.
t=$(date +%s)
say "building the site (scripts/build-site.sh --site-only)"
scripts/build-site.sh --site-only
[[ -f "$ROOT/target/site/pkg/roomctl.wasm" ]] || die "no site in target/site"
say "site: $(elapsed "$t")"

mkdir -p "$OUT"
for arch in $ARCHES; do
  case $arch in
    amd64)
      target_args=()
      machine="x86-64"
      ;;
    arm64)
      target_args=(--target aarch64-unknown-linux-gnu)
      machine="ARM aarch64"
      # Debian's cross linker; the C code (ring, SQLite) through cc-rs.
      export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
      export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
      export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
      ;;
  esac
  # amd64 in target/deb/, arm64 in target/aarch64-unknown-linux-gnu/deb/
  # (where cargo-deb looks for each).
  t=$(date +%s)
  say "$arch: cargo build --profile $PROFILE ${target_args[*]}"
  cargo build --profile "$PROFILE" --package server --bin roomctl \
    --no-default-features --features ssr "${target_args[@]}"
  say "$arch: server built in $(elapsed "$t")"

  # cargo-deb: no build of its own, no strip (cargo stripped it, the
  # profile's `strip`), dependencies from dpkg-shlibdeps ($auto).
  deb=$(cargo deb --package server --no-build --no-strip --profile "$PROFILE" \
    "${target_args[@]}" --output "$OUT" | tail -n 1)
  [[ -f $deb ]] || die "$arch: cargo deb did not make a package (it said: $deb)"
  [[ $(dpkg-deb --field "$deb" Architecture) == "$arch" ]] || die "$arch: $deb is not an $arch package"

  tmp=$(mktemp -d)
  dpkg-deb -x "$deb" "$tmp"
  bin="$tmp/usr/bin/roomctl"
  described=$(file -b "$bin")
  rm -rf "$tmp"
  [[ $described == *"$machine"* ]] || die "$arch: the packaged binary is not for $machine: $described"
  [[ $described == *", stripped"* ]] || die "$arch: the packaged binary is not stripped: $described"
  bin_size=$(dpkg-deb --fsys-tarfile "$deb" | tar -tv ./usr/bin/roomctl | awk '{print $3}')
  deb_size=$(stat -c %s "$deb")
  installed_kib=$(dpkg-deb --field "$deb" Installed-Size)
  say "$arch: $(basename "$deb"): $deb_size bytes (budget $DEB_BUDGET); /usr/bin/roomctl $bin_size bytes, stripped (budget $BINARY_BUDGET); installed $installed_kib KiB"
  (( deb_size <= DEB_BUDGET )) || die "$arch: the package ($deb_size bytes) is over its budget of $DEB_BUDGET"
  (( bin_size <= BINARY_BUDGET )) || die "$arch: the binary ($bin_size bytes) is over its budget of $BINARY_BUDGET"

  say "$arch: lintian"
  # The tags kept, each with its reason: packaging/lintian-overrides.
  lintian --fail-on error,warning "$deb"
done
say "done: $(ls "$OUT"/*.deb | tr '\n' ' ')"
