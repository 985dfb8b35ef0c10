"""Check the package's shape: no function over 120 lines, no import circles, layers one way,
command modules thin.

Run ``python -m lifecircle.scripts.check_structure`` (exit 1 and a list when something is
wrong); ``tests/test_structure.py`` runs the same checks.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "lifecircle"
MAX_LINES = 120
#: Layers, lowest first: a module may import only its own layer or lower ones.
LAYERS = {
    "settings": 0,
    "errors": 0,
    "geo": 1,
    "analysis": 2,
    "vocabulary": 3,
    "maps": 4,
    "reports": 4,
    "workflow": 5,
    "scripts": 6,
    "tests": 7,
}
SKIP_DIRS = {".venv", "build", "out", "docs", "examples", ".git", "tests"}


@dataclass(frozen=True)
class LongFunction:
    """A function longer than :data:`MAX_LINES`."""

    path: str
    name: str
    lines: int

    def __str__(self) -> str:
        return f"{self.path}: {self.name} has {self.lines} lines (> {MAX_LINES})"


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the package: dotted name → file."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if rel.parts[0] in SKIP_DIRS or any(p.startswith(".") for p in rel.parts):
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join([PACKAGE, *parts])] = path
    return out


def long_functions(root: Path = ROOT, limit: int = MAX_LINES) -> list[LongFunction]:
    """Functions (and methods) longer than ``limit`` lines, counted from the first decorator
    (or ``def``) to the last line, docstring and comments included: what a reader scrolls."""
    found = []
    for path in modules(root).values():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                n = node.end_lineno - start + 1
                if n > limit:
                    found.append(LongFunction(str(path.relative_to(root)), node.name, n))
    return found


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    if node.level == 0:
        base = node.module or ""
    else:
        parts = module.split(".")
        keep = len(parts) - node.level + (1 if is_package else 0)
        base = ".".join(parts[:keep] + ([node.module] if node.module else []))
    return [base] + [f"{base}.{a.name}" for a in node.names]


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module → package modules it imports (at any depth in the file, lazy imports included)."""
    mods = modules(root)
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                targets = _resolve(name, path.name == "__init__.py", node)
            for t in targets:
                if t in mods and t != name:
                    graph[name].add(t)
    return graph


def _is_reexport(a: str, b: str) -> bool:
    """A package importing its own submodule (``__init__`` re-exports) is not a circle."""
    return b.startswith(a + ".")


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), ignoring re-exports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if _is_reexport(v, w) or _is_reexport(w, v):
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.get(parts[1]) if len(parts) > 1 else None


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    """Imports that run upward (a lower layer importing a higher one)."""
    bad = []
    for a, targets in sorted(graph.items()):
        la = _layer(a)
        for b in sorted(targets):
            lb = _layer(b)
            if la is not None and lb is not None and lb > la:
                bad.append(f"{a} imports {b} (layer {lb} > {la})")
    return bad


#: What a command module (``scripts/cmd_*.py``) may import: the workflow, the CLI's own helpers
#: and the constants of the lowest layer (defaults shown in ``--help``).
CLI_IMPORTS = {"workflow", "scripts", "settings", "errors"}
#: Longest function of a command module other than ``register`` (the argparse declarations).
CLI_MAX_LINES = 40


def thin_cli_problems(root: Path = ROOT) -> list[str]:
    """Command modules holding logic: importing below the workflow, or a function (other than
    ``register``) longer than :data:`CLI_MAX_LINES` — a command parses, calls one workflow
    function and prints."""
    graph = import_graph(root)
    problems = []
    for name, path in modules(root).items():
        if not name.startswith(f"{PACKAGE}.scripts.cmd_"):
            continue
        for target in sorted(graph[name]):
            if target.split(".")[1] not in CLI_IMPORTS:
                problems.append(f"{name} imports {target} (a command calls lifecircle.workflow)")
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and node.name != "register":
                n = node.end_lineno - node.lineno + 1
                if n > CLI_MAX_LINES:
                    problems.append(f"{name}.{node.name} has {n} lines (> {CLI_MAX_LINES})")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Print what is wrong; exit code 1 when anything is."""
    graph = import_graph()
    problems = [str(f) for f in long_functions()]
    problems += ["import circle: " + " ⇄ ".join(c) for c in import_cycles(graph)]
    problems += layer_violations(graph)
    problems += thin_cli_problems()
    for p in problems:
        print(p)
    print(f"{len(graph)} modules checked: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
