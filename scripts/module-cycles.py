#!/usr/bin/env python3
"""No import cycle among a library crate's top-level modules.

Reads the crate's lib.rs for its modules and `pub use` re-exports, then every
file of each module (a module `m` is `m.rs` and everything under `m/`) for
the modules it names (`crate::m`, `use crate::{m, …}`, or a re-exported name
such as `crate::Config`). A child module's `super::` stays inside its parent,
so only the top-level graph is checked. Prints every cycle found, exits 1.

Usage: module-cycles.py SRC_DIR   (e.g. kiosk/app/src)
"""
import re
import sys
from pathlib import Path


def strip_comments(text):
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


def cfg_test_free(text):
    """Drops `#[cfg(test)] mod tests { … }` blocks: tests may use anything."""
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def main():
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "kiosk/app/src")
    lib = strip_comments((src / "lib.rs").read_text())
    modules = re.findall(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", lib, re.M)
    owner = {m: m for m in modules}
    for m, names in re.findall(r"pub use (\w+)::\{?([^;}]*)\}?;", lib):
        for name in re.findall(r"\w+", names):
            owner.setdefault(name, m)
    graph = {}
    for m in modules:
        files = [src / f"{m}.rs"] + sorted((src / m).rglob("*.rs")) if (src / m).is_dir() else [src / f"{m}.rs"]
        if not (src / f"{m}.rs").exists():
            files = [src / m / "mod.rs"] + sorted((src / m).rglob("*.rs"))
        deps = set()
        for f in files:
            if not f.exists():
                continue
            text = cfg_test_free(strip_comments(f.read_text()))
            for name in re.findall(r"\bcrate::(\w+)", text):
                deps.add(owner.get(name, name))
            for group in re.findall(r"\bcrate::\{([^;]*?)\}", text, re.S):
                for name in re.findall(r"(?:^|,)\s*(\w+)", group):
                    deps.add(owner.get(name, name))
        deps.discard(m)
        graph[m] = sorted(d for d in deps if d in owner.values())
    cycles, seen = [], set()

    def walk(node, path):
        for nxt in graph.get(node, []):
            if nxt in path:
                cyc = path[path.index(nxt):] + [nxt]
                key = frozenset(cyc)
                if key not in seen:
                    seen.add(key)
                    cycles.append(cyc)
            elif len(path) < 12:
                walk(nxt, path + [nxt])

    for m in modules:
        walk(m, [m])
    for c in cycles:
        print("module cycle in " + str(src) + ": " + " -> ".join(c))
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main())
