#!/usr/bin/env python3
"""Fails when modules of a crate import each other in a cycle.

For every crate (a folder with Cargo.toml and src/), each source file is a module; a file
depends on the modules it names through `crate::…` or `super::…` paths (in `use` items or
inline). A path resolves to the deepest module file it names. A module's declaration of its
own children (`mod x;`) is not a dependency. Cycles are printed as `a -> b -> a`; exit 1.

Usage: tools/checks/module_cycles.py [CRATE_DIR ...]   (default: shared, services/*, tools/bench)
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def module_of(src: Path, file: Path) -> tuple:
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def strip_comments(text: str) -> str:
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


def expand_use(tree: str) -> list:
    """`a::{b, c::d}` -> ['a::b', 'a::c::d'] (nested braces handled)."""
    tree = tree.strip()
    if "{" not in tree:
        return [tree.split(" as ")[0].strip()]
    head, rest = tree.split("{", 1)
    inner = rest[: rest.rfind("}")]
    items, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    items.append(cur)
    out = []
    for item in filter(str.strip, items):
        for sub in expand_use(item):
            out.append(head + sub if sub != "self" else head.rstrip(":"))
    return out


def paths_in(text: str) -> list:
    found = []
    for m in re.finditer(r"\buse\s+((?:crate|super)(?:::[^;]*));", text, flags=re.S):
        found += expand_use(m.group(1))
    found += re.findall(r"\b((?:crate|super)(?:::[A-Za-z_][A-Za-z0-9_]*)+)", text)
    return found


def resolve(path: str, here: tuple, modules: set):
    parts = path.split("::")
    if parts[0] == "crate":
        base, rest = (), parts[1:]
    else:
        base = here
        while parts and parts[0] == "super":
            base = base[:-1]
            parts = parts[1:]
        rest = parts
    best = None
    for i in range(len(rest) + 1):
        candidate = base + tuple(rest[:i])
        if candidate in modules:
            best = candidate
    return best


def cycles(crate: Path) -> list:
    src = crate / "src"
    files = [f for f in src.rglob("*.rs") if "bin" not in f.relative_to(src).parts]
    modules = {module_of(src, f): f for f in files}
    graph = {m: set() for m in modules}
    for module, file in modules.items():
        text = strip_comments(file.read_text())
        for path in paths_in(text):
            target = resolve(path, module, set(modules))
            # A module naming itself, its ancestors' root, or its own children is no import.
            if target is None or target == module or target == ():
                continue
            if target[: len(module)] == module:
                continue
            graph[module].add(target)
    found, state, stack = [], {}, []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def main() -> int:
    crates = [Path(a) for a in sys.argv[1:]] or [
        ROOT / "shared", *sorted((ROOT / "services").iterdir()), ROOT / "tools" / "bench"
    ]
    bad = 0
    checked = 0
    for crate in crates:
        if not (crate / "Cargo.toml").exists():
            continue
        checked += 1
        for cycle in cycles(crate):
            bad += 1
            name = lambda m: "::".join(m) or "crate"
            print(f"{crate.name}: import cycle: " + " -> ".join(name(m) for m in cycle))
    print(f"module cycles: {bad} in {checked} crates")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
