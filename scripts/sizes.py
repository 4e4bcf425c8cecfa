#!/usr/bin/env python3
"""Long functions and long files in the product's Rust sources (issue #21:
no function over 80 lines outside generated code and test tables, no file
over 400 lines that holds more than one job).

    scripts/sizes.py            check: exit 1 on anything over a limit that
                                is not in KNOWN, or grown past its KNOWN size
    scripts/sizes.py --list     print every function and file over its limit

Counted: the crates' `src/` trees (server, controller-core, app, designer),
without their `#[cfg(test)] mod tests` blocks or `tests.rs` files. A
function's length is from its `fn` line to its closing brace. KNOWN is a
ratchet: the sizes the code had when the check came in. An entry may only
shrink; when a function or file gets under its limit, take its line out
(the check says which lines are stale).

A brace counter, not a parser: strings, chars, raw strings and comments are
skipped well enough for rustfmt-formatted code. `syn` would be exact but
would need a Rust tool built before the check can run; this runs in a
second on any machine with python3, as scripts/module-cycles.py does."""
import os
import re
import sys

ROOTS = ["server/src", "controller-core/src", "app/src", "designer/src"]
FN_LIMIT = 80
FILE_LIMIT = 400

# The sizes when the check came in (2026-12-07). Only shrink these.
KNOWN_FNS = {
    "server/src/station/usage.rs::report": 135,
    "server/src/station/watcher.rs::session": 129,
    "server/src/station/mqtt.rs::message": 106,
    "app/src/status.rs::StatusBody": 104,
    "controller-core/src/driver/transcript.rs::check": 103,
    "server/src/logic/devices/driven.rs::serve": 96,
    "app/src/station/usage.rs::UsagePage": 89,
    "server/src/station/service.rs::start": 84,
}
KNOWN_FILES = {
    "server/src/services/mqtt/bridge/mod.rs": 682,
    "server/src/services/http/panel_channel.rs": 563,
    "server/src/storage/project_store.rs": 669,
    "server/src/station/web.rs": 526,
    "controller-core/src/central_client.rs": 634,
    "server/src/services/http/admin.rs": 620,
    "server/src/logic/devices/mod.rs": 599,
    "controller-core/src/protocol/mqtt.rs": 588,
    "controller-core/src/project/edit.rs": 571,
    "server/src/services/calendar/reactor.rs": 401,
    "server/src/station/usage.rs": 493,
    "server/src/logic/devices/driven.rs": 487,
    "server/src/services/calendar/fetch.rs": 475,
    "server/src/station/registry.rs": 455,
    "server/src/state/controller.rs": 456,
    "controller-core/src/protocol/live_broadcast.rs": 444,
    "server/src/services/http/fanout.rs": 441,
    "server/src/station/mqtt.rs": 440,
    "app/src/admin.rs": 434,
    "server/src/services/http/preview.rs": 431,
    "server/src/services/telnet/commands.rs": 430,
    "controller-core/src/project/drivers.rs": 427,
    "server/src/station/watcher.rs": 423,
    "server/src/security/auth.rs": 422,
    "controller-core/src/project/controls.rs": 407,
}

FN = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?(?:extern\s+\"[^\"]*\"\s+)?fn\s+([A-Za-z_][A-Za-z0-9_]*)")
TEST_MOD = re.compile(r"^\s*#\[cfg\(test\)\]\s*$")


def strip(line, state):
    """The line without its strings, chars and comments; `state` carries a
    block comment or a raw string across lines."""
    out = []
    i = 0
    n = len(line)
    while i < n:
        if state["block"]:
            j = line.find("*/", i)
            if j < 0:
                return "".join(out)
            state["block"] = False
            i = j + 2
            continue
        if state["raw"] is not None:
            end = '"' + "#" * state["raw"]
            j = line.find(end, i)
            if j < 0:
                return "".join(out)
            state["raw"] = None
            i = j + len(end)
            continue
        if state["str"]:
            while i < n:
                if line[i] == "\\":
                    i += 2
                    continue
                if line[i] == '"':
                    state["str"] = False
                    i += 1
                    break
                i += 1
            continue
        c = line[i]
        if line.startswith("//", i):
            break
        if line.startswith("/*", i):
            state["block"] = True
            i += 2
            continue
        m = re.match(r'b?r(#*)"', line[i:])
        if m and (i == 0 or not (line[i - 1].isalnum() or line[i - 1] == "_")):
            state["raw"] = len(m.group(1))
            i += len(m.group(0))
            continue
        if c == '"':
            state["str"] = True
            i += 1
            continue
        if c == "'":
            # A char literal ('x', '\n', '\u{..}', '{') or a lifetime ('a).
            m = re.match(r"'(\\.[^']*|[^'\\])'", line[i:])
            if m:
                i += len(m.group(0))
                continue
        out.append(c)
        i += 1
    return "".join(out)


def measure(path):
    """(functions over the limit as (name, lines), product lines) of a file."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    state = {"block": False, "raw": None, "str": False}
    code = [strip(l, state) for l in lines]
    # Leave out `#[cfg(test)] mod ... { }` blocks.
    skip = [False] * len(lines)
    i = 0
    while i < len(lines):
        if TEST_MOD.match(lines[i]) and i + 1 < len(lines) and re.match(r"^\s*(pub\s+)?mod\s+\w+\s*\{", lines[i + 1]):
            depth = 0
            j = i + 1
            while j < len(lines):
                depth += code[j].count("{") - code[j].count("}")
                skip[j] = True
                if depth <= 0 and "{" in "".join(code[i + 1 : j + 1]):
                    break
                j += 1
            skip[i] = True
            i = j + 1
            continue
        i += 1
    long_fns = []
    for i, l in enumerate(lines):
        if skip[i]:
            continue
        m = FN.match(code[i])
        if not m:
            continue
        depth = 0
        opened = False
        j = i
        while j < len(lines):
            depth += code[j].count("{") - code[j].count("}")
            if "{" in code[j]:
                opened = True
            if opened and depth <= 0:
                break
            if not opened and code[j].rstrip().endswith(";"):
                break  # a declaration without a body
            j += 1
        if opened and j - i + 1 > FN_LIMIT:
            long_fns.append((m.group(1), j - i + 1))
    return long_fns, sum(1 for s in skip if not s)


def survey():
    fns, files = {}, {}
    for root in ROOTS:
        for dirpath, _, names in os.walk(root):
            for name in sorted(names):
                # A test module in its own file (`mod tests;`) is a test.
                if not name.endswith(".rs") or name == "tests.rs":
                    continue
                path = os.path.join(dirpath, name)
                long_fns, size = measure(path)
                for fname, n in long_fns:
                    key = f"{path}::{fname}"
                    fns[key] = max(n, fns.get(key, 0))
                if size > FILE_LIMIT:
                    files[path] = size
    return fns, files


def main():
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    fns, files = survey()
    if "--list" in sys.argv:
        for k, n in sorted(fns.items(), key=lambda x: -x[1]):
            print(f'    "{k}": {n},')
        print()
        for k, n in sorted(files.items(), key=lambda x: -x[1]):
            print(f'    "{k}": {n},')
        print(f"\n{len(fns)} functions over {FN_LIMIT} lines, {len(files)} files over {FILE_LIMIT} lines")
        return 0
    bad = []
    for what, found, known, limit in (
        ("function", fns, KNOWN_FNS, FN_LIMIT),
        ("file", files, KNOWN_FILES, FILE_LIMIT),
    ):
        for k, n in sorted(found.items()):
            if k not in known:
                bad.append(f"new {what} over {limit} lines: {k} ({n} lines): split it by job")
            elif n > known[k]:
                bad.append(f"{what} grew: {k} ({known[k]} -> {n} lines): split it instead")
        for k in sorted(set(known) - set(found)):
            bad.append(f"stale KNOWN entry (now under {limit} lines or gone): {k}: take its line out of scripts/sizes.py")
    for b in bad:
        print(b)
    print(f"{len(fns)} functions over {FN_LIMIT} lines ({len(KNOWN_FNS)} known), "
          f"{len(files)} files over {FILE_LIMIT} lines ({len(KNOWN_FILES)} known)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
