"""The code's shape, checked on its source: who may import whom, where settings are read,
how long a module may grow. These are the rules of docs/architecture.md; a change that
breaks one fails here with the module and line to look at."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("deid", "governance", "audit")
MAX_LINES = 800

#: Where the process environment may be read: the settings modules (config/ for the
#: service, deid/settings.py for the engine, which imports no Django) and entry points.
ENVIRON_ALLOWED = (
    "config/",
    "manage.py",
    "deid/settings.py",
    "deid/cli.py",
    "deid/_cli_",
    "deid/text/cli.py",
    "governance/client.py",
    "governance/management/commands/",
)


def _sources(*top: str) -> Iterator[Path]:
    for name in top:
        base = ROOT / name
        paths = [base] if base.is_file() else sorted(base.rglob("*.py"))
        for path in paths:
            if "migrations" not in path.parts and ".venv" not in path.parts:
                yield path


def _module(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import that runs (module level or in a function), not ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _runtime_imports(node)


def _import_graph() -> dict[str, set[str]]:
    modules = {_module(p): p for p in _sources(*PACKAGES)}

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    parts = name.split(".")[: None if is_package else -1]
                    parts = parts[: len(parts) - (node.level - 1)]
                    base = ".".join([*parts, base] if base else parts)
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                    for a in node.names
                ]
            for target in filter(None, map(owner, targets)):
                # A package's own submodules and its parents are not circles.
                if target != name and not name.startswith(target + "."):
                    graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle_among_the_packages() -> None:
    graph = _import_graph()
    assert len(graph) > 100, "the graph should hold every module of deid/, governance/, audit/"
    cycles = _cycles(graph)
    detail = [
        f"{' <-> '.join(c)}: " + "; ".join(f"{m} imports {sorted(graph[m] & set(c))}" for m in c)
        for c in cycles
    ]
    assert not cycles, "import circles:\n" + "\n".join(detail)


def test_the_cycle_finder_finds_a_circle() -> None:
    """The check above can fail: a made-up graph with a circle is reported."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_engine_imports_no_django() -> None:
    graph = _import_graph()
    offenders = []
    for path in _sources("deid"):
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            for name in names:
                if name and name.split(".")[0] in {"django", "governance", "audit", "config"}:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
    assert "deid.pipeline" in graph
    assert not offenders, "\n".join(offenders)


def test_the_environment_is_read_only_in_settings_and_entry_points() -> None:
    offenders = []
    for path in _sources(*PACKAGES):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(ENVIRON_ALLOWED):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            text = ast.unparse(node) if isinstance(node, ast.Attribute) else ""
            if text in {"os.environ", "os.getenv", "os.putenv"}:
                offenders.append(f"{rel}:{node.lineno} reads {text}")
    assert not offenders, "read settings in config/settings.py or deid/settings.py:\n" + (
        "\n".join(offenders)
    )


@pytest.mark.parametrize("top", ["deid", "governance", "audit", "config", "fixtures", "tests"])
def test_no_source_file_outgrows_a_module(top: str) -> None:
    too_long = {
        str(p.relative_to(ROOT)): n
        for p in _sources(top)
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not too_long, f"over {MAX_LINES} lines (make it a package): {too_long}"


#: Views, the admin and management commands call services; they never append audit rows.
THIN_LAYERS = (
    "governance/api/",
    "governance/portal/",
    "governance/admin.py",
    "governance/admin_report.py",
    "governance/management/commands/",
    "audit/management/commands/",
    "audit/admin.py",
)


def test_views_and_commands_write_no_audit_row() -> None:
    offenders = []
    for path in _sources("governance", "audit"):
        rel = path.relative_to(ROOT).as_posix()
        if not rel.startswith(THIN_LAYERS):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = ast.unparse(node.func)
                if name.endswith(("record_event", "AuditEvent.objects.create")):
                    offenders.append(f"{rel}:{node.lineno} calls {name}")
    assert not offenders, "move the audit event into a service:\n" + "\n".join(offenders)
