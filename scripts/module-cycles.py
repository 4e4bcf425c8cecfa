#!/usr/bin/env python3
"""Import cycles between a crate's modules (files), from the `crate::` and
`super::` paths in its sources (outside their `#[cfg(test)] mod tests`).
A module's use of its ancestors or descendants is structure, not a cycle,
and is left out; paths through the crate root's re-exports are not seen.

    scripts/module-cycles.py server/src controller-core/src app/src

Prints each cycle and each import that goes up a layer (UPWARD: the
command line above everything, settings and the audit trail below the
controller, the engine below the codecs, ...); exits 1 on any cycle, and on
an upward import not in KNOWN_UPWARD (still to be removed: take a line out
when its import is gone)."""
import os, re, sys

def modules(src):
    mods = {}
    for root, _, files in os.walk(src):
        for f in files:
            if not f.endswith('.rs'):
                continue
            rel = os.path.relpath(os.path.join(root, f), src)[:-3].split(os.sep)
            if rel[-1] in ('mod', 'lib', 'main'):
                rel = rel[:-1]
            if rel and rel[-1] == 'tests' or 'bin' in rel[:1]:
                continue
            mods[tuple(rel)] = os.path.join(root, f)
    return mods

PATH = re.compile(r'\b((?:crate|super)(?:::(?:super|[a-z_][a-z0-9_]*))+)')

def resolve(mod, path):
    parts = path.split('::')
    if parts[0] == 'crate':
        return tuple(parts[1:])
    # `super` from a.rs or from a/mod.rs alike means a's parent.
    base = list(mod)
    while parts and parts[0] == 'super':
        base = base[:-1]
        parts = parts[1:]
    return tuple(base + parts)

def graph(src):
    mods = modules(src)
    edges = {m: set() for m in mods}
    for m, file in mods.items():
        text = open(file, encoding='utf-8').read()
        # leave out a file's test module
        cut = re.search(r'#\[cfg\(test\)\]\s*mod tests\s*\{', text)
        if cut:
            text = text[:cut.start()]
        text = re.sub(r'//[^\n]*', '', text)
        for p in PATH.findall(text):
            target = resolve(m, p)
            while target and target not in mods:
                target = target[:-1]
            if not target or target == m or m[:len(target)] == target or target[:len(m)] == m:
                continue
            edges[m].add(target)
    return edges

def cycles(edges):
    index, low, stack, on, out = {}, {}, [], set(), []
    n = [0]
    sys.setrecursionlimit(10000)
    def visit(v):
        index[v] = low[v] = n[0]; n[0] += 1
        stack.append(v); on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))
    for v in edges:
        if v not in index:
            visit(v)
    return out

def under(mod, prefix):
    return mod[:len(prefix)] == prefix

# Imports that go up: (crate, importer, imported, why). "*" is every module
# but the imported one's own; the crate root (lib.rs, main.rs) is above all.
UPWARD = [
    ("server/src", "*", ("cli",), "the command line is the top: only main.rs and cli/ use it"),
    ("server/src", ("config",), ("audit",), "settings are read before anything runs"),
    ("server/src", ("config",), ("state",), "settings are read before anything runs"),
    ("server/src", ("config",), ("services",), "settings are read before anything runs"),
    ("server/src", ("audit",), ("state", "controller"), "the controller writes the audit trail, not the reverse"),
    ("server/src", ("audit",), ("services",), "services write the audit trail, not the reverse"),
    ("server/src", ("storage", "settings_file"), ("state", "controller"), "the controller follows the settings file"),
    ("server/src", ("storage",), ("services",), "services keep their files through storage/"),
    ("server/src", ("security",), ("services",), "services ask security/ who may, not the reverse"),
    ("server/src", ("state",), ("services",), "services change the controller's state, not the reverse"),
    ("server/src", ("storage", "project_history"), ("storage", "project_store"), "the store keeps the history"),
    ("controller-core/src", ("engine",), ("protocol",), "codecs carry the engine's steps, not the reverse"),
    ("controller-core/src", ("engine",), ("view",), "views are built from the engine's state"),
    ("controller-core/src", ("project",), ("engine",), "the engine runs a project"),
    ("controller-core/src", ("protocol",), ("link",), "the panel's link speaks the protocol"),
    ("controller-core/src", ("protocol",), ("central_client",), "the central client speaks the protocol"),
]

def upward(src, edges):
    for crate, lower, higher, why in UPWARD:
        if crate != src.rstrip('/'):
            continue
        for m, targets in edges.items():
            if lower == "*":
                if m == () or under(m, higher):
                    continue
            elif not under(m, lower):
                continue
            for t in sorted(targets):
                if under(t, higher):
                    yield f"{crate}: {'::'.join(m)} -> {'::'.join(t)} ({why})"

# Upward imports still to be removed (the station is being reworked on
# another branch): take a line out when its import is gone.
KNOWN_UPWARD: set = set()

new = 0
for src in sys.argv[1:] or ["server/src", "controller-core/src", "app/src"]:
    edges = graph(src)
    for comp in cycles(edges):
        new += 1
        print(f"CYCLE: {src.rstrip('/')}: " + " <-> ".join('::'.join(c) for c in comp))
    for line in upward(src, edges):
        if line in KNOWN_UPWARD:
            print(f"known: {line}")
        else:
            new += 1
            print(f"UPWARD: {line}")
sys.exit(1 if new else 0)
