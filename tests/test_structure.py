"""The house's shape: imports inside formguard flow one way, and no module is too big to read.

The import graph is read from the source with the standard library's ``ast``, not from
``sys.modules``: an import deferred into a function or written under ``TYPE_CHECKING`` still
means the two modules cannot be read one without the other, so it counts as an edge.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "formguard"
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for path in sorted(PACKAGE.rglob("*.py"))
        if "migrations" not in path.relative_to(PACKAGE).parts
    }


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute name a relative ``from`` import means inside ``module``."""
    if level == 0:
        return target or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def import_graph() -> dict[str, set[str]]:
    """Every formguard module -> the formguard modules it imports, anywhere in its body."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}

    def known(name: str) -> str | None:
        # ``import formguard.a.b`` also imports formguard.a; the edge that matters is
        # the deepest module that exists.
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, is_package, node.level, node.module)
                targets = [base]
                # ``from formguard.captcha import altcha`` imports the submodule too.
                targets += [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules]
            for target in targets:
                if not target.startswith("formguard"):
                    continue
                found = known(target)
                if found and found != name:
                    graph[name].add(found)
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the groups of modules that import each other, directly or not."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_the_graph_sees_deferred_and_type_checking_imports():
    """The reader is not fooled by where an import is written."""
    graph = import_graph()
    # formguard.apps imports its checks and receivers inside ready().
    assert "formguard.checks" in graph["formguard.apps"]
    assert "formguard.receivers" in graph["formguard.apps"]


def test_strongly_connected_finds_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert strongly_connected(graph) == [["a", "b", "c"]]


def test_no_import_circle_inside_formguard():
    circles = strongly_connected(import_graph())
    assert circles == [], "import circles: " + "; ".join(" <-> ".join(group) for group in circles)


def test_no_module_over_400_lines():
    too_big = {
        name: count
        for name, path in _modules().items()
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert too_big == {}, f"modules over {MAX_LINES} lines: {too_big}"


def _readme_steps() -> list[str]:
    """The step column of the docs' table of what a request goes through, top to bottom."""
    readme = (PACKAGE.parent / "docs" / "pipeline.md").read_text(encoding="utf-8")
    table = readme[readme.index("| order | check | step") :].split("\n\n", 1)[0]
    return [row.split("|")[3].strip().strip("`") for row in table.splitlines()[2:]]


def test_the_docs_table_lists_the_steps_in_the_pipelines_order():
    from formguard.pipeline import CHECKS

    in_code = [check.__module__.rpartition(".")[2] for check in CHECKS]
    # A module with two checks of one shape (rate limit and burst) has a row for each.
    assert _readme_steps() == in_code
    assert {check.__module__.rpartition(".")[0] for check in CHECKS} == {"formguard.steps"}


def test_the_readme_is_short_and_links_every_doc_page():
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) < 250
    pages = sorted(p.name for p in (PACKAGE.parent / "docs").glob("*.md") if p.name != "index.md")
    assert pages and [p for p in pages if f"(docs/{p})" not in readme] == []


def _reached_from(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every formguard module that ``start`` imports, directly or through others."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in graph[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


def test_the_attempt_is_the_lowest_module_of_the_pipeline():
    """``Attempt`` and ``Verdict`` import nothing of formguard's above the settings and the
    client address (and the request's fields): what is learnt of an attempt from the state lives above it (``facts``)."""
    # ``submitted`` reads the request's fields (form or JSON body) and imports nothing of formguard's.
    low = {"formguard.conf", "formguard.ip", "formguard.addresses", "formguard.policy_values", "formguard.submitted"}
    graph = import_graph()
    assert _reached_from(graph, "formguard.attempt") - low == set()
    assert _reached_from(graph, "formguard.policy_values") == set()
