#!/usr/bin/env bash
# Tests the Debian packages as installed (after scripts/package.sh):
#
# 1. amd64: unpacks the package into a temporary root (dpkg-deb -x) and,
#    in a private network namespace, runs the packaged binary with the
#    packaged unit's ExecStart and Environment and the packaged settings
#    (paths moved under the temporary root): the demo answers on port 80,
#    the first admin is added, a project is pushed and applied over FTP and
#    Telnet, and after a restart the controller runs that project still.
# 2. The units pass `systemd-analyze verify` (in the unpacked root).
# 3. The maintainer scripts and conffile are what the package says.
# 4. arm64: the packaged binary under qemu-aarch64 (Debian's qemu-user)
#    validates a project and serves the panel page.
#
# Not in scripts/test.sh (the release cross builds are heavy). Takes about
# a minute once the packages are built.
# Usage: scripts/test-package.sh [DEB_DIR]   (default: target/debian)
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEBS="${1:-${CARGO_TARGET_DIR:-$ROOT/target}/debian}"
passed=0
failed=0
say() { printf '\033[1;34m[test-package]\033[0m %s\n' "$*"; }
ok() { passed=$((passed + 1)); printf '  ok    %s\n' "$*"; }
bad() { failed=$((failed + 1)); printf '  FAIL  %s\n' "$*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

for tool in dpkg-deb unshare ip curl systemd-analyze qemu-aarch64; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install dpkg-dev util-linux iproute2 curl systemd qemu-user)"; exit 2; }
done
amd64=$(ls "$DEBS"/roomctl_*_amd64.deb 2>/dev/null | head -n 1)
arm64=$(ls "$DEBS"/roomctl_*_arm64.deb 2>/dev/null | head -n 1)
[[ -n $amd64 ]] || { echo "no amd64 package in $DEBS: run scripts/package.sh first"; exit 2; }
started=$(date +%s)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# ---- 1. amd64 as installed ----
say "unpacking $amd64"
R="$WORK/root"
dpkg-deb -x "$amd64" "$R"
dpkg-deb -e "$amd64" "$WORK/control"
UNIT="$R/lib/systemd/system/roomctl.service"
[[ -f $UNIT ]] || UNIT="$R/usr/lib/systemd/system/roomctl.service"
check "the controller's unit is in the package" test -f "$UNIT"
check "the station's unit is in the package" test -f "$(dirname "$UNIT")/roomctl-station.service"
check "the site is in the package" test -f "$R/usr/share/roomctl/site/pkg/roomctl.wasm"
check "the settings are a conffile" grep -qx /etc/roomctl/roomctl.toml "$WORK/control/conffiles"
check "postinst makes the roomctl user" grep -q "adduser --system" "$WORK/control/postinst"
check "postinst tells how to make the first admin" grep -q "user add admin --role admin" "$WORK/control/postinst"
check "the binary is stripped" sh -c "file '$R/usr/bin/roomctl' | grep -qv 'not stripped'"

# The unit's command line and environment, with every packaged path moved
# under the temporary root (the state and logs directories too).
STATE="$WORK/var/lib/roomctl"
LOGS="$WORK/var/log/roomctl"
mkdir -p "$STATE" "$LOGS"
move() { sed -e "s#/usr/bin/roomctl#$R/usr/bin/roomctl#g" -e "s#/etc/roomctl#$R/etc/roomctl#g" \
  -e "s#/usr/share/roomctl#$R/usr/share/roomctl#g" -e "s#/var/lib/roomctl#$STATE#g" \
  -e "s#/var/log/roomctl#$LOGS#g"; }
EXEC=$(grep '^ExecStart=' "$UNIT" | head -n 1 | cut -d= -f2- | move)
ENVS=$(grep '^Environment=' "$UNIT" | cut -d= -f2- | move | tr '\n' ' ')
move < "$R/etc/roomctl/roomctl.toml" > "$WORK/roomctl.toml.moved" && mv "$WORK/roomctl.toml.moved" "$R/etc/roomctl/roomctl.toml"
CONFIG="$R/etc/roomctl/roomctl.toml"
BIN="$R/usr/bin/roomctl"
check "ExecStart runs the packaged binary with the packaged settings" \
  test "$EXEC" = "$BIN --config $CONFIG serve"

# A project of its own: the demo under another name.
sed -e 's/^name = "Demo meeting room"/name = "Installed room"/' -e 's/^revision = 1/revision = 3/' \
  "$ROOT/controller-core/projects/demo.toml" > "$WORK/project.toml"

# Inside a namespace of its own: everything below talks to this box only.
cat > "$WORK/inside.sh" <<EOF
set -u
ip link set lo up
ip link set lo multicast on
ip route add 224.0.0.0/4 dev lo 2>/dev/null || true
ip route add default dev lo 2>/dev/null || true
start() { env $ENVS $EXEC > "$WORK/serve.log" 2>&1 & echo \$! > "$WORK/pid"; for i in \$(seq 1 100); do curl -s -o /dev/null http://127.0.0.1/healthz && return 0; sleep 0.1; done; return 1; }
stop() { kill \$(cat "$WORK/pid"); wait \$(cat "$WORK/pid") 2>/dev/null; }
result() { echo "RESULT \$1 \$2"; }
start && result ok "the packaged controller starts with the unit's command line" || result fail "the packaged controller starts (\$(tail -n 5 $WORK/serve.log))"
curl -s http://127.0.0.1/ | grep -q "Demo" && result ok "the demo answers on port 80" || result fail "the demo answers on port 80"
curl -s http://127.0.0.1/healthz | head -n 1 | grep -qxE 'ok|degraded' && result ok "/healthz answers (the demo's simulated devices are not running: degraded is right)" || result fail "/healthz answers"
echo "admin words 12" | $BIN --config $CONFIG user add admin --role admin --password-stdin > /dev/null && result ok "the first admin is added" || result fail "the first admin is added"
stop; start
echo "admin words 12" | $BIN project push 127.0.0.1 --user admin --password-stdin --apply "$WORK/project.toml" > "$WORK/push.log" 2>&1 && result ok "a project is pushed and applied" || result fail "a project is pushed and applied (\$(tail -n 3 $WORK/push.log))"
curl -s http://127.0.0.1/ | grep -q "Installed room" && result ok "the controller runs the pushed project" || result fail "the controller runs the pushed project"
stop; start
curl -s http://127.0.0.1/ | grep -q "Installed room" && result ok "a restart keeps the project" || result fail "a restart keeps the project"
test -f "$STATE/projects/active.toml" && result ok "the project is in /var/lib/roomctl/projects" || result fail "the project is in /var/lib/roomctl/projects"
test -s "$LOGS/audit.log" && result ok "the audit trail is in /var/log/roomctl" || result fail "the audit trail is in /var/log/roomctl"
stop
EOF
say "running the packaged controller in a network namespace"
while read -r _ outcome what; do
  if [[ $outcome == ok ]]; then ok "$what"; else bad "$what"; fi
done < <(unshare -n bash "$WORK/inside.sh" 2>/dev/null | grep '^RESULT ')

# ---- 2. the units ----
say "systemd-analyze verify"
# The units as packaged, their ExecStart pointed at the unpacked binary
# (verify checks that it exists); any line it prints (an unknown key, a
# bad value) is a failure, though it exits 0 for those.
mkdir -p "$WORK/units"
for u in roomctl roomctl-station; do
  sed "s#/usr/bin/roomctl#$R/usr/bin/roomctl#" "$(dirname "$UNIT")/$u.service" > "$WORK/units/$u.service"
done
verify=$(systemd-analyze verify --man=no "$WORK/units/roomctl.service" "$WORK/units/roomctl-station.service" 2>&1)
if [[ $? -eq 0 && -z $verify ]]; then ok "systemd-analyze verify passes on both units"; else bad "systemd-analyze verify: $verify"; fi

# ---- 3. arm64 under qemu ----
if [[ -n $arm64 ]]; then
  say "unpacking $arm64 and running it under qemu-aarch64"
  A="$WORK/arm64"
  dpkg-deb -x "$arm64" "$A"
  check "the arm64 binary is an aarch64 executable" sh -c "file '$A/usr/bin/roomctl' | grep -q 'ARM aarch64'"
  QEMU="qemu-aarch64 -L /usr/aarch64-linux-gnu"
  if $QEMU "$A/usr/bin/roomctl" validate "$WORK/project.toml" | grep -q 'valid project "Installed room"'; then
    ok "arm64: validates a project"
  else
    bad "arm64: validates a project"
  fi
  cat > "$WORK/arm64.sh" <<EOF
ip link set lo up
cat > "$WORK/arm64.toml" <<'TOML'
[panel]
port = 3000
TOML
LEPTOS_SITE_ROOT=$A/usr/share/roomctl/site $QEMU $A/usr/bin/roomctl --config "$WORK/arm64.toml" serve --project "$WORK/project.toml" > "$WORK/arm64.log" 2>&1 &
pid=\$!
for i in \$(seq 1 300); do curl -s -o /dev/null http://127.0.0.1:3000/healthz && break; sleep 0.2; done
curl -s http://127.0.0.1:3000/ | grep -q "Installed room" && echo "RESULT ok arm64: serves the panel page" || echo "RESULT fail arm64: serves the panel page (\$(tail -n 3 $WORK/arm64.log))"
curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:3000/pkg/roomctl.wasm | grep -qx 200 && echo "RESULT ok arm64: serves the panel's wasm" || echo "RESULT fail arm64: serves the panel's wasm"
kill \$pid
EOF
  while read -r _ outcome what; do
    if [[ $outcome == ok ]]; then ok "$what"; else bad "$what"; fi
  done < <(unshare -n bash "$WORK/arm64.sh" 2>/dev/null | grep '^RESULT ')
else
  bad "no arm64 package in $DEBS"
fi

say "took $(( $(date +%s) - started )) s"
echo "$passed passed, $failed failed"
(( failed == 0 ))
