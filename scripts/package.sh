#!/usr/bin/env bash
# Builds the Debian packages of roomctl: amd64 (this machine) and arm64
# (Raspberry Pi 4/5, ARM mini-PCs; cross-compiled with Debian's
# gcc-aarch64-linux-gnu and rustup's aarch64-unknown-linux-gnu target).
# Each holds the stripped release binary, the site (panel wasm, designer,
# styles, public/), the settings as a conffile, the two systemd units and
# the maintainer scripts ([package.metadata.deb] in server/Cargo.toml,
# packaging/). Then runs lintian on each and checks the size budget
# (docs/performance.md, "Package size").
#
# Usage: scripts/package.sh [amd64|arm64|all]        (default: all)
# Output: target/debian/roomctl_<version>-1_<arch>.deb
# Heavy: two release builds (about 10-20 minutes each on 2 cores).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$ROOT/end2end/node_modules/.bin:$PATH"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
ARCHES="${1:-all}"
[[ $ARCHES == all ]] && ARCHES="amd64 arm64"
CARGO_DEB_VERSION=3.6.3

# The budget (docs/performance.md): what a box downloads and stores.
DEB_BUDGET=$((16 * 1024 * 1024))      # each .deb
BINARY_BUDGET=$((32 * 1024 * 1024))   # the stripped binary inside

say() { printf '\033[1;34m[package]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[package]\033[0m %s\n' "$*" >&2; exit 1; }

# Tools, installed when missing (idempotent).
apt_missing=()
command -v dpkg-deb >/dev/null || apt_missing+=(dpkg-dev)
command -v lintian >/dev/null || apt_missing+=(lintian)
if [[ $ARCHES == *arm64* ]]; then
  command -v aarch64-linux-gnu-gcc >/dev/null || apt_missing+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
fi
if (( ${#apt_missing[@]} )); then
  say "installing ${apt_missing[*]} from Debian"
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${apt_missing[@]}" >/dev/null
fi
if [[ "$(cargo deb --version 2>/dev/null || true)" != *"$CARGO_DEB_VERSION"* ]]; then
  say "installing cargo-deb $CARGO_DEB_VERSION"
  cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked
fi
if [[ $ARCHES == *arm64* ]] && ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  say "adding the aarch64-unknown-linux-gnu target"
  rustup target add aarch64-unknown-linux-gnu
fi

# The site (architecture-independent) and the amd64 server.
say "building the site and the release server (scripts/build-site.sh)"
scripts/build-site.sh
[[ -f "$ROOT/target/site/pkg/roomctl.wasm" ]] || die "no site in target/site"

size_of() { stat -c %s "$1"; }

for arch in $ARCHES; do
  case $arch in
    amd64)
      target_args=()
      ;;
    arm64)
      target_args=(--target aarch64-unknown-linux-gnu)
      export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
      export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
      export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
      say "cross-compiling the arm64 server"
      LEPTOS_OUTPUT_NAME=roomctl cargo build --release --package server --bin roomctl \
        --target aarch64-unknown-linux-gnu
      ;;
    *) die "unknown architecture $arch (amd64 or arm64)" ;;
  esac
  say "packaging $arch"
  deb=$(cargo deb --package server --no-build "${target_args[@]}" 2>&1 | tail -n 1)
  [[ -f $deb ]] || die "cargo deb did not make a package: $deb"
  # The binary as packaged (stripped by cargo-deb).
  tmp=$(mktemp -d)
  dpkg-deb -x "$deb" "$tmp"
  bin_size=$(size_of "$tmp/usr/bin/roomctl")
  deb_size=$(size_of "$deb")
  file "$tmp/usr/bin/roomctl" | grep -q "not stripped" && die "$arch: the packaged binary is not stripped"
  rm -rf "$tmp"
  say "$arch: $deb: $deb_size bytes (budget $DEB_BUDGET); binary $bin_size bytes stripped (budget $BINARY_BUDGET)"
  (( deb_size <= DEB_BUDGET )) || die "$arch: the package is over its budget"
  (( bin_size <= BINARY_BUDGET )) || die "$arch: the binary is over its budget"
  say "lintian $deb"
  # Tags we keep, with their reasons: packaging/lintian-overrides.
  lintian --fail-on error,warning "$deb"
  cp "$deb" "$TARGET_DIR/debian/roomctl_${arch}.deb" 2>/dev/null || true
done
say "done: $(ls "$TARGET_DIR"/debian/*.deb | tr '\n' ' ')"
