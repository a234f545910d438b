"""The package's shape: no import cycles (lazy imports inside functions count too), and one
explicit backend interface that both homes of an index implement."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "mhqa"


def imports_between_modules() -> dict[str, set[str]]:
    """mhqa module -> the mhqa modules it imports anywhere in its source (top level or in a function)."""
    modules = {path.stem for path in PACKAGE.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.glob("*.py"):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level == 1 and node.module:  # from .x import y
                    found.add(node.module.split(".")[0])
                elif node.level == 1:  # from . import x
                    found.update(alias.name for alias in node.names)
                elif node.level == 0 and node.module and node.module.split(".")[0] == "mhqa":
                    parts = node.module.split(".")
                    found.update([parts[1]] if len(parts) > 1 else [alias.name for alias in node.names])
            elif isinstance(node, ast.Import):
                found.update(alias.name.split(".")[1] for alias in node.names if alias.name.startswith("mhqa."))
        graph[path.stem] = (found & modules) - {path.stem}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_in_mhqa():
    graph = imports_between_modules()
    assert {"store", "server", "faq", "render", "cli"} <= set(graph)
    assert "store" in graph["server"] or "chroma" in graph["server"]  # the graph is really read
    assert graph["cli"]  # lazy imports inside functions are counted
    assert cycles(graph) == []


def test_store_and_server_share_helpers_not_private_names():
    graph = imports_between_modules()
    assert "store" not in graph["server"] and "chroma" in graph["server"] and "chroma" in graph["store"]
    assert "faq" not in graph["render"]
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                private = [alias.name for alias in node.names if alias.name.startswith("_")]
                assert not private, f"{path.name} imports private names {private} from .{node.module}"


def test_both_backends_implement_the_whole_protocol(tmp_path):
    from mhqa.backend import Backend
    from mhqa.server import ServerBackend
    from mhqa.settings import load_settings
    from mhqa.store import EmbeddedBackend, Index

    members = [name for name, value in vars(Backend).items() if inspect.isfunction(value) and not name.startswith("_")]
    assert len(members) >= 10
    for backend in (EmbeddedBackend, ServerBackend):
        assert issubclass(backend, Backend)
        missing = [name for name in members if name not in vars(backend)]  # each method its own, not the protocol's stub
        assert not missing, f"{backend.__name__} lacks {missing}"
        for name in members:
            assert list(inspect.signature(getattr(backend, name)).parameters) == list(inspect.signature(getattr(Backend, name)).parameters), name
    embedded = Index(load_settings({"index": tmp_path / "index"}, env={})).backend
    served = Index(load_settings({"chroma_url": "http://127.0.0.1:1"}, env={})).backend  # nothing is contacted yet
    assert isinstance(embedded, EmbeddedBackend) and isinstance(served, ServerBackend)
    assert isinstance(embedded, Backend) and isinstance(served, Backend)
    # Nothing outside the backends asks which one it has.
    store_source = (PACKAGE / "store.py").read_text(encoding="utf-8")
    index_class = store_source[store_source.index("class Index"):]
    assert index_class.count("uses_server") == 1  # only to choose the backend


def test_question_files_are_read_outside_the_faq_module():
    graph = imports_between_modules()
    assert "questions" in graph["faq"]
    cli = (PACKAGE / "cli.py").read_text(encoding="utf-8")
    assert "from .questions import read_questions" in cli and "from .faq import read_questions" not in cli
    faq = (PACKAGE / "faq.py").read_text(encoding="utf-8")
    assert "def read_questions" not in faq and "def _from_csv" not in faq
