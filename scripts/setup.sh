#!/usr/bin/env bash
# Installs what building, running and testing roomctl needs, skipping what is
# already present at the right version. Safe to run any number of times.
# Usage: scripts/setup.sh [--e2e] [--package]
#   --e2e      adds Chromium and the other tools the tests talk to the server with
#   --package  adds what scripts/package.sh and the installed-package test need
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=versions.env
source "$ROOT/scripts/versions.env"
export PATH="$HOME/.cargo/bin:$ROOT/end2end/node_modules/.bin:$PATH"

say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

# Installs Debian packages (apt-get update once, only when something is missing).
apt_updated=0
apt_install() {
  say "installing $* from Debian"
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  if [[ $apt_updated == 0 ]]; then
    $sudo apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

# Build prerequisites: a C compiler (ring), Node.js and npm (wasm-opt and
# Playwright come from npm), and rustfmt/clippy for the lint steps.
missing=()
command -v cc >/dev/null || missing+=(build-essential)
command -v npm >/dev/null || missing+=(nodejs npm)
(( ${#missing[@]} == 0 )) || apt_install "${missing[@]}"
for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^$component"; then
    say "adding the $component component"
    rustup component add "$component"
  fi
done

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# No cargo-leptos here: scripts/build-site.sh builds the site with the tools
# below. `cargo leptos watch` (UI work) has its own install step, see
# docs/development.md.

if [[ "$(wasm-bindgen --version 2>/dev/null || true)" != *" $WASM_BINDGEN_VERSION"* ]]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # no --locked: its lock file names a crate version the registry lacks
  # opt-level 1: compiles in a fraction of the time of the default release
  # profile; processing the panel wasm with it takes seconds at most.
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# wasm-opt (binaryen) and Playwright come from npm into end2end/node_modules
need_npm=0
[[ "$("$ROOT/end2end/node_modules/.bin/wasm-opt" --version 2>/dev/null || true)" == *"${BINARYEN_VERSION%%.*}"* ]] || need_npm=1
[[ -d "$ROOT/end2end/node_modules/@playwright/test" ]] || need_npm=1
[[ -d "$ROOT/end2end/node_modules/axe-core" ]] || need_npm=1
if [[ $need_npm == 1 ]]; then
  say "installing npm packages in end2end/ (binaryen, @playwright/test, axe-core)"
  (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund)
fi

want_e2e=0
want_package=0
for arg in "$@"; do
  case $arg in
    --e2e) want_e2e=1 ;;
    --package) want_package=1 ;;
    *) echo "unknown option $arg (usage: scripts/setup.sh [--e2e] [--package])" >&2; exit 2 ;;
  esac
done

if [[ $want_e2e == 1 ]]; then
  # For the tests: Debian's Chromium (Playwright), iproute2 and util-linux
  # (the LAN tests' private network namespaces), curl and Python's ftplib and
  # telnetlib (the FTP and Telnet tests talk to the server as real clients),
  # Mosquitto and its clients (the MQTT tests start their own broker on a
  # loopback port), openssl (their TLS broker's certificates), Radicale
  # (the calendar tests' CalDAV server).
  missing=()
  [[ -x /usr/bin/chromium ]] || missing+=(chromium)
  command -v ip >/dev/null || missing+=(iproute2)
  command -v unshare >/dev/null || missing+=(util-linux)
  # Programs the tests run beside the servers: cp and timeout (the upgrade
  # and FTP tests), kill (the installed-package test), sh.
  command -v cp >/dev/null && command -v timeout >/dev/null || missing+=(coreutils)
  command -v kill >/dev/null || missing+=(procps)
  command -v sh >/dev/null || missing+=(dash)
  command -v curl >/dev/null || missing+=(curl)
  python3 -c "import ftplib, telnetlib" 2>/dev/null || missing+=(python3)
  command -v mosquitto >/dev/null || [[ -x /usr/sbin/mosquitto ]] || missing+=(mosquitto)
  command -v mosquitto_pub >/dev/null || missing+=(mosquitto-clients)
  command -v openssl >/dev/null || missing+=(openssl)
  # Prometheus: tests/metrics.rs scrapes the controller and the station
  # with it, inside the test's own network namespace.
  command -v prometheus >/dev/null || missing+=(prometheus)
  # Radicale: tests/calendar.rs reads and writes a CalDAV collection on
  # its own Radicale, started on a loopback port with a config it writes.
  # Its VTIMEZONE handling needs pytz (only a Recommends of the package).
  command -v radicale >/dev/null || missing+=(radicale)
  /usr/bin/python3 -c "import pytz" 2>/dev/null || missing+=(python3-tz)
  (( ${#missing[@]} == 0 )) || apt_install "${missing[@]}"
  # The package starts a system broker on 1883 where systemd runs; the tests
  # start their own, so that one is switched off.
  if [[ " ${missing[*]} " == *" mosquitto "* ]] && command -v systemctl >/dev/null \
    && systemctl is-system-running >/dev/null 2>&1; then
    $([[ $(id -u) -eq 0 ]] || echo sudo) systemctl disable --now mosquitto >/dev/null 2>&1 || true
  fi
  # Likewise Prometheus and the node exporter it brings (9090, 9100).
  if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null \
    && systemctl is-system-running >/dev/null 2>&1; then
    $([[ $(id -u) -eq 0 ]] || echo sudo) systemctl disable --now prometheus prometheus-node-exporter >/dev/null 2>&1 || true
  fi
  # And Radicale's own service (5232).
  if [[ " ${missing[*]} " == *" radicale "* ]] && command -v systemctl >/dev/null \
    && systemctl is-system-running >/dev/null 2>&1; then
    $([[ $(id -u) -eq 0 ]] || echo sudo) systemctl disable --now radicale >/dev/null 2>&1 || true
  fi
fi
if [[ $want_package == 1 ]]; then
  # The Debian packages (scripts/package.sh): dpkg-dev (dpkg-deb,
  # dpkg-shlibdeps for the dependencies), lintian, file; the arm64 cross
  # toolchain (Debian's gcc and C library for aarch64: the linker, and the
  # C code of ring and SQLite) with rustup's aarch64 target; cargo-deb.
  # For the installed-package test (server/tests/installed_package.rs):
  # qemu-user runs the arm64 binary, systemd's systemd-analyze checks the
  # units.
  missing=()
  command -v dpkg-deb >/dev/null && command -v dpkg-shlibdeps >/dev/null || missing+=(dpkg-dev)
  command -v lintian >/dev/null || missing+=(lintian)
  command -v file >/dev/null || missing+=(file)
  command -v aarch64-linux-gnu-gcc >/dev/null || missing+=(gcc-aarch64-linux-gnu)
  [[ -f /usr/aarch64-linux-gnu/lib/crt1.o ]] || missing+=(libc6-dev-arm64-cross)
  command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
  command -v systemd-analyze >/dev/null || missing+=(systemd)
  command -v unshare >/dev/null && command -v setpriv >/dev/null || missing+=(util-linux)
  command -v ip >/dev/null || missing+=(iproute2)
  command -v curl >/dev/null || missing+=(curl)
  (( ${#missing[@]} == 0 )) || apt_install "${missing[@]}"
  if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
    say "adding the aarch64-unknown-linux-gnu target"
    rustup target add aarch64-unknown-linux-gnu
  fi
  if [[ "$(cargo deb --version 2>/dev/null || true)" != "cargo-deb $CARGO_DEB_VERSION" ]]; then
    say "installing cargo-deb $CARGO_DEB_VERSION"
    cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked
  fi
fi
say "tools ready"
