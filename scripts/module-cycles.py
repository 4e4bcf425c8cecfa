#!/usr/bin/env python3
"""Import cycles between a crate's modules (files), from the `crate::` and
`super::` paths in its sources (outside their `#[cfg(test)] mod tests`).
A module's use of its ancestors or descendants is structure, not a cycle,
and is left out; paths through the crate root's re-exports are not seen.

    scripts/module-cycles.py server/src controller-core/src app/src

Prints each cycle; exits 1 if one is not in KNOWN (the cycles issue 21
lists, still to be removed: take a line out when its cycle is gone)."""
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

KNOWN = {
    "server/src: controller <-> settings_file",
    "server/src: project_history <-> project_store",
    "server/src: services::mqtt::bridge <-> services::mqtt::connection",
    "server/src: services::http::fanout <-> services::http::live",
    "controller-core/src: driver::template <-> driver::value",
    "app/src: live <-> panel",
}

new = 0
for src in sys.argv[1:] or ["server/src", "controller-core/src", "app/src"]:
    for comp in cycles(graph(src)):
        line = f"{src.rstrip('/')}: " + " <-> ".join('::'.join(c) for c in comp)
        if line in KNOWN:
            print(f"known: {line}")
        else:
            new += 1
            print(f"NEW CYCLE: {line}")
sys.exit(1 if new else 0)
