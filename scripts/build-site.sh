#!/usr/bin/env bash
# Builds the site exactly as `cargo leptos build --release` lays it out, with
# only the tools scripts/setup.sh installs (no cargo-leptos):
#
#   target/release/roomctl          the server (ssr), release profile
#   target/site/pkg/roomctl.js      wasm-bindgen's JS (--target web)
#   target/site/pkg/roomctl.wasm    the hydrated panel (hydrate, wasm-release
#                                   profile), wasm-bindgen + wasm-opt -Oz
#   target/site/pkg/{status,admin,station}.{js,wasm}  the status and admin
#                                   pages and the central station's screens
#                                   (app, feature `status` / `admin` /
#                                   `station`), each its own bundle, loaded
#                                   by its pages only (the station's by
#                                   `roomctl station`'s live screens)
#   target/site/pkg/designer.{js,wasm}  the Project Designer (app, feature
#                                   `designer`, with the designer crate's
#                                   checks), loaded by /designer only
#   target/site/pkg/roomctl.css     style/main.css
#   target/site/*                   public/
#   *.br, *.gz beside them          build-time compressed copies
#
# Names, paths, features and profiles come from [[workspace.metadata.leptos]]
# in Cargo.toml, the one configuration cargo-leptos reads too. Cargo is
# incremental; wasm-bindgen and wasm-opt are skipped when the wasm they
# would process is byte-for-byte the one they processed last time.
# Safe to re-run. Usage: scripts/build-site.sh [--dev | --site-only]
#   --dev        the server in the dev profile (target/debug/roomctl):
#                compiles in about half the time and shares most of its
#                build with `cargo test`; the demo and the test suite use
#                it. The panel's wasm is always the optimised release
#                build. Installations use the default (release).
#   --site-only  no server at all, only target/site: scripts/package.sh,
#                which builds the packages' server itself (deb profile).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=versions.env
source "$ROOT/scripts/versions.env"
export PATH="$HOME/.cargo/bin:$ROOT/end2end/node_modules/.bin:$PATH"

say() { printf '\033[1;34m[build-site]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[build-site]\033[0m %s\n' "$*" >&2; exit 1; }

# The tools, at the versions scripts/setup.sh installs.
command -v node >/dev/null || die "node is missing: run scripts/setup.sh"
[[ "$(wasm-bindgen --version 2>/dev/null || true)" == *" $WASM_BINDGEN_VERSION"* ]] \
  || die "wasm-bindgen $WASM_BINDGEN_VERSION is missing (found: $(wasm-bindgen --version 2>/dev/null || echo none)): run scripts/setup.sh"
WASM_OPT="${WASM_OPT:-$ROOT/end2end/node_modules/.bin/wasm-opt}"
[[ -x "$WASM_OPT" ]] || die "wasm-opt (npm binaryen) is missing at $WASM_OPT: run scripts/setup.sh"
if command -v rustup >/dev/null; then
  rustup target list --installed | grep -qx wasm32-unknown-unknown \
    || die "the wasm32-unknown-unknown target is missing: run scripts/setup.sh"
fi

# [[workspace.metadata.leptos]] (the first and only project), as shell variables.
eval "$(cargo metadata --no-deps --format-version 1 | node -e '
  const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const p = m.metadata.leptos[0];
  const q = (s) => "\x27" + String(s).replace(/\x27/g, "\x27\\\x27\x27") + "\x27";
  const v = {
    OUTPUT_NAME: p["output-name"] || p.name,
    SITE_ROOT: p["site-root"] || "target/site",
    PKG_DIR: p["site-pkg-dir"] || "pkg",
    STYLE_FILE: p["style-file"] || "",
    ASSETS_DIR: p["assets-dir"] || "",
    SITE_ADDR: p["site-addr"] || "127.0.0.1:3000",
    RELOAD_PORT: p["reload-port"] || 3001,
    BIN_PACKAGE: p["bin-package"],
    BIN_TARGET: p["bin-target"] || p["bin-package"],
    BIN_FEATURES: (p["bin-features"] || []).join(","),
    BIN_DEFAULT_FEATURES: p["bin-default-features"] ? 1 : 0,
    BIN_PROFILE: p["bin-profile-release"] || "release",
    LIB_PACKAGE: p["lib-package"],
    LIB_FEATURES: (p["lib-features"] || []).join(","),
    LIB_DEFAULT_FEATURES: p["lib-default-features"] ? 1 : 0,
    LIB_PROFILE: p["lib-profile-release"] || "release",
  };
  for (const [k, x] of Object.entries(v)) console.log(`${k}=${q(x)}`);
')"
BUILD_SERVER=1
if [[ ${1:-} == --dev ]]; then
  BIN_PROFILE=dev
elif [[ ${1:-} == --site-only ]]; then
  BUILD_SERVER=0
elif [[ -n ${1:-} ]]; then
  die "unknown option $1 (usage: scripts/build-site.sh [--dev | --site-only])"
fi
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
PKG="$ROOT/$SITE_ROOT/$PKG_DIR"

# What cargo-leptos puts in the compilers' environment. Only
# LEPTOS_OUTPUT_NAME is read at compile time (leptos's HydrationScripts asks
# for <name>.wasm when it is set and for <name>_bg.wasm when not; also set in
# .cargo/config.toml); the rest are set so that switching between this script
# and cargo-leptos never rebuilds anything.
export LEPTOS_OUTPUT_NAME="$OUTPUT_NAME"
export LEPTOS_SITE_ROOT="$SITE_ROOT" LEPTOS_SITE_PKG_DIR="$PKG_DIR"
export LEPTOS_SITE_ADDR="$SITE_ADDR" LEPTOS_RELOAD_PORT="$RELOAD_PORT"
export LEPTOS_LIB_DIR="$LIB_PACKAGE" LEPTOS_BIN_DIR="$BIN_PACKAGE"
export LEPTOS_JS_MINIFY=true LEPTOS_HASH_FILES=false

profile_args() { [[ $1 == release ]] && echo --release || echo "--profile=$1"; }
profile_dir() { [[ $1 == dev ]] && echo debug || echo "$1"; }

# 1. The server: cargo leptos runs
#    cargo build --package=server --bin=roomctl --no-default-features --features=ssr --release
bin_args=(--package="$BIN_PACKAGE" --bin="$BIN_TARGET" "$(profile_args "$BIN_PROFILE")")
[[ $BIN_DEFAULT_FEATURES == 1 ]] || bin_args+=(--no-default-features)
[[ -z $BIN_FEATURES ]] || bin_args+=(--features="$BIN_FEATURES")
if [[ $BUILD_SERVER == 1 ]]; then
  say "cargo build ${bin_args[*]}"
  cargo build "${bin_args[@]}"
  server_built="server $TARGET_DIR/$(profile_dir "$BIN_PROFILE")/$BIN_TARGET"
else
  say "no server (--site-only)"
  server_built="no server (--site-only)"
fi

# 2. The browser's wasm, in its own target directory as cargo-leptos does
#    (target/front): the ssr and hydrate feature sets never share artifacts.
FRONT="$TARGET_DIR/front"
lib_args=(--package="$LIB_PACKAGE" --lib --target=wasm32-unknown-unknown
  --target-dir="$FRONT" "$(profile_args "$LIB_PROFILE")")
[[ $LIB_DEFAULT_FEATURES == 1 ]] || lib_args+=(--no-default-features)
[[ -z $LIB_FEATURES ]] || lib_args+=(--features="$LIB_FEATURES")
say "cargo build ${lib_args[*]}"
cargo build "${lib_args[@]}"
WASM_IN="$FRONT/wasm32-unknown-unknown/$(profile_dir "$LIB_PROFILE")/${LIB_PACKAGE//-/_}.wasm"
[[ -f $WASM_IN ]] || die "cargo did not produce $WASM_IN"

# 3. wasm-bindgen, then wasm-opt -Oz, into a staging directory; the site's
#    pkg/ gets the results. cargo-leptos renames <name>_bg.wasm to
#    <name>.wasm, the name HydrationScripts requests; so do we.
STAGE="$FRONT/bindgen"
mkdir -p "$STAGE" "$PKG"
# The wasm features rustc (1.95) enables by default for wasm32-unknown-unknown,
# as the module's target_features section lists them (wasm-opt --print-features
# on roomctl_bg.wasm). wasm-opt reads that section itself; naming them keeps
# the step working with a wasm-opt or a module that does not.
WASM_FEATURES=(--enable-bulk-memory --enable-nontrapping-float-to-int
  --enable-sign-ext --enable-mutable-globals --enable-multivalue
  --enable-reference-types)
stamp="$(sha256sum "$WASM_IN" | cut -d' ' -f1) converge wasm-bindgen $WASM_BINDGEN_VERSION $("$WASM_OPT" --version) ${WASM_FEATURES[*]}"
if [[ -f $STAGE/stamp && "$(cat "$STAGE/stamp")" == "$stamp" \
      && -f $STAGE/$OUTPUT_NAME.wasm && -f $STAGE/$OUTPUT_NAME.js ]]; then
  say "wasm unchanged: wasm-bindgen and wasm-opt skipped"
else
  rm -rf "$STAGE" && mkdir -p "$STAGE/out"
  say "wasm-bindgen --target web --no-typescript --out-name $OUTPUT_NAME"
  wasm-bindgen --target web --no-typescript --out-dir "$STAGE/out" \
    --out-name "$OUTPUT_NAME" "$WASM_IN"
  say "wasm-opt -Oz --converge ($(du -k "$STAGE/out/${OUTPUT_NAME}_bg.wasm" | cut -f1) KiB in)"
  # --converge repeats the passes until the module stops shrinking: about
  # 30 s more, 1.6 KB less gzipped (measured on the panel, 2026-12-07).
  "$WASM_OPT" -Oz --converge "${WASM_FEATURES[@]}" "$STAGE/out/${OUTPUT_NAME}_bg.wasm" \
    -o "$STAGE/$OUTPUT_NAME.wasm"
  rm "$STAGE/out/${OUTPUT_NAME}_bg.wasm"
  mv "$STAGE/out/$OUTPUT_NAME.js" "$STAGE/$OUTPUT_NAME.js"
  # inline JS snippets (#[wasm_bindgen(inline_js)]), if any
  if [[ -d $STAGE/out/snippets ]]; then mv "$STAGE/out/snippets" "$STAGE/snippets"; fi
  rm -rf "$STAGE/out"
  printf '%s' "$stamp" > "$STAGE/stamp"
fi
cp "$STAGE/$OUTPUT_NAME.wasm" "$STAGE/$OUTPUT_NAME.js" "$PKG/"
rm -rf "$PKG/snippets"
if [[ -d $STAGE/snippets ]]; then cp -r "$STAGE/snippets" "$PKG/snippets"; fi

# 3a. The status and admin pages', the station's and the Project Designer's
#     own wasm: the same app crate with the `status`, `admin`, `station` or
#     `designer` feature, each hydrating its own screen only
#     (app/src/lib.rs: each bundle carries only its own screens), as
#     pkg/<name>.js and pkg/<name>.wasm. Each in a target directory of its
#     own, so the app crate's feature sets never overwrite each other's
#     app.wasm (their dependencies come from sccache).
for SCREEN in status admin station designer; do
  SCREEN_FRONT="$TARGET_DIR/front-$SCREEN"
  SCREEN_STAGE="$FRONT/bindgen-$SCREEN"
  screen_args=(--package="$LIB_PACKAGE" --lib --target=wasm32-unknown-unknown
    --target-dir="$SCREEN_FRONT" "$(profile_args "$LIB_PROFILE")" --no-default-features --features="$SCREEN")
  say "cargo build ${screen_args[*]}"
  cargo build "${screen_args[@]}"
  SCREEN_IN="$SCREEN_FRONT/wasm32-unknown-unknown/$(profile_dir "$LIB_PROFILE")/${LIB_PACKAGE//-/_}.wasm"
  [[ -f $SCREEN_IN ]] || die "cargo did not produce $SCREEN_IN"
  stamp="$(sha256sum "$SCREEN_IN" | cut -d' ' -f1) wasm-bindgen $WASM_BINDGEN_VERSION $("$WASM_OPT" --version) ${WASM_FEATURES[*]}"
  if [[ -f $SCREEN_STAGE/stamp && "$(cat "$SCREEN_STAGE/stamp")" == "$stamp" \
        && -f $SCREEN_STAGE/$SCREEN.wasm && -f $SCREEN_STAGE/$SCREEN.js ]]; then
    say "$SCREEN wasm unchanged: wasm-bindgen and wasm-opt skipped"
  else
    rm -rf "$SCREEN_STAGE" && mkdir -p "$SCREEN_STAGE/out"
    wasm-bindgen --target web --no-typescript --out-dir "$SCREEN_STAGE/out" \
      --out-name "$SCREEN" "$SCREEN_IN"
    "$WASM_OPT" -Oz "${WASM_FEATURES[@]}" "$SCREEN_STAGE/out/${SCREEN}_bg.wasm" \
      -o "$SCREEN_STAGE/$SCREEN.wasm"
    mv "$SCREEN_STAGE/out/$SCREEN.js" "$SCREEN_STAGE/$SCREEN.js"
    rm -rf "$SCREEN_STAGE/out"
    printf '%s' "$stamp" > "$SCREEN_STAGE/stamp"
  fi
  cp "$SCREEN_STAGE/$SCREEN.wasm" "$SCREEN_STAGE/$SCREEN.js" "$PKG/"
done

# 4. The stylesheet (cargo-leptos also runs lightningcss over it; the file
#    is plain CSS the supported browsers read as it is) and the assets.
if [[ -n $STYLE_FILE ]]; then cp "$STYLE_FILE" "$PKG/$OUTPUT_NAME.css"; fi
if [[ -n $ASSETS_DIR && -d $ASSETS_DIR ]]; then cp -r "$ASSETS_DIR/." "$ROOT/$SITE_ROOT/"; fi

# 5. Build-time compressed copies (.br, .gz) of the wasm, JS, CSS and the
#    other text files, beside each original with its modification time: the
#    server sends them as they are to browsers that accept them
#    (server/src/services/http/assets.rs). Node's zlib does both (brotli at
#    its best quality, gzip -9); a copy is remade only when its original
#    changed.
node -e '
  const fs = require("fs"), path = require("path"), zlib = require("zlib");
  const worth = /\.(wasm|js|css|svg|json|webmanifest|html|txt)$/;
  const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]);
  for (const file of walk(process.argv[1])) {
    if (!worth.test(file)) continue;
    const st = fs.statSync(file);
    for (const [ext, pack] of [
      [".br", (b) => zlib.brotliCompressSync(b, { params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: b.length } })],
      [".gz", (b) => zlib.gzipSync(b, { level: 9 })],
    ]) {
      const out = file + ext;
      if (fs.existsSync(out) && Math.trunc(fs.statSync(out).mtimeMs) === Math.trunc(st.mtimeMs)) continue;
      if (st.size < 1024) { fs.rmSync(out, { force: true }); continue; }
      fs.writeFileSync(out, pack(fs.readFileSync(file)));
      fs.utimesSync(out, st.atime, st.mtime);
    }
  }
' "$ROOT/$SITE_ROOT"

# The Project Designer's budget (docs/performance.md, "Designer wasm
# size"): controller-core's validator with its time-zone database, TOML
# editing and regexes, and the Leptos screen; an installer's laptop loads
# it once per visit, but it must not creep.
DESIGNER_WASM_BUDGET=1638400 # 1600 KiB gzipped (1,582,392 B at its port to Leptos)
designer_gz=$(gzip -9 -c "$PKG/designer.wasm" | wc -c)
say "designer: $designer_gz bytes of wasm gzipped, budget $DESIGNER_WASM_BUDGET (loaded by /designer only)"
(( designer_gz <= DESIGNER_WASM_BUDGET )) \
  || die "the designer's wasm is $designer_gz bytes gzipped, over its budget of $DESIGNER_WASM_BUDGET (see docs/performance.md: twiggy top on target/front-designer/wasm32-unknown-unknown/wasm-release/app.wasm)"
for SCREEN in status admin; do
  say "$SCREEN: $(gzip -9 -c "$PKG/$SCREEN.wasm" | wc -c) bytes of wasm gzipped (loaded by /$SCREEN only)"
done
# The station's screens have a budget of their own (docs/performance.md,
# "Station wasm size"): a station on a slow link still opens its grid quickly.
STATION_WASM_BUDGET=245760 # 240 KiB gzipped
station_gz=$(gzip -9 -c "$PKG/station.wasm" | wc -c)
say "station: $station_gz bytes of wasm gzipped, budget $STATION_WASM_BUDGET (loaded by roomctl station's grid, now view and room pages only)"
(( station_gz <= STATION_WASM_BUDGET )) \
  || die "the station's wasm is $station_gz bytes gzipped, over its budget of $STATION_WASM_BUDGET (see docs/performance.md: twiggy top on target/front-station/wasm32-unknown-unknown/wasm-release/app.wasm)"
# The panel loads on every wall panel at every boot: its wasm has a budget
# (docs/performance.md, "Panel wasm size"). Over it, the build fails.
PANEL_WASM_BUDGET=262144 # 256 KiB gzipped (docs/performance.md: lowered once the status and admin pages had their own bundles)
gzipped=$(gzip -9 -c "$PKG/$OUTPUT_NAME.wasm" | wc -c)
say "site ready: $SITE_ROOT/ ($(du -k "$PKG/$OUTPUT_NAME.wasm" | cut -f1) KiB wasm," \
  "$gzipped bytes gzipped, budget $PANEL_WASM_BUDGET; $(wc -c < "$PKG/$OUTPUT_NAME.wasm.br") as br), $server_built"
(( gzipped <= PANEL_WASM_BUDGET )) \
  || die "the panel's wasm is $gzipped bytes gzipped, over its budget of $PANEL_WASM_BUDGET (see docs/performance.md: twiggy top on target/front/wasm32-unknown-unknown/wasm-release/app.wasm)"
