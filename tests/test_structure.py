"""The package's shape: no import circles, layers one way, no function over 120 lines, thin CLI."""

from __future__ import annotations

import ast

from lifecircle.scripts import check_structure as cs


def test_no_import_circles_and_no_upward_imports():
    graph = cs.import_graph()
    assert "lifecircle.workflow.study" in graph["lifecircle.workflow.pipeline"]
    assert cs.import_cycles(graph) == []
    assert cs.layer_violations(graph) == []


def test_no_function_over_120_lines():
    """Every function and method, docstring included, fits 120 lines (issue 10)."""
    assert [str(f) for f in cs.long_functions()] == []


def test_long_functions_count_docstrings(tmp_path):
    """121 lines of which 100 are docstring: too long (a reader scrolls the docstring too)."""
    doc = "\n".join(["    x"] * 98)
    body = "\n".join(["    y = 1"] * 20)
    (tmp_path / "mod.py").write_text(f'def f():\n    """\n{doc}\n    """\n{body}\n')
    found = cs.long_functions(tmp_path)
    assert [(f.name, f.lines) for f in found] == [("f", 120 + 1)]
    assert cs.long_functions(tmp_path, limit=121) == []


def test_cli_commands_are_thin():
    """Every scripts/cmd_*.py parses, calls lifecircle.workflow and prints: no analysis, geo or
    maps import, no function (but the argparse ``register``) over 40 lines."""
    assert cs.thin_cli_problems() == []
    cmds = sorted((cs.ROOT / "scripts").glob("cmd_*.py"))
    assert len(cmds) >= 9
    calls = 0
    for path in cmds:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        run = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "run")
        calls += any(
            isinstance(n, ast.ImportFrom) and (n.module or "").startswith("workflow")
            for n in ast.walk(tree)
        )
        assert run.end_lineno - run.lineno + 1 <= cs.CLI_MAX_LINES
    assert calls >= 8  # coverage, site, map, info, run, schema, studio, batch
