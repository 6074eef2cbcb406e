"""The import rules of the layout (docs/architecture.md, "Layout"), read from the code's own imports.

Every ``import`` and ``from ... import`` of the production packages counts, at module level or inside a function (a
function-level import hides a circle, it does not remove it); only imports under ``if TYPE_CHECKING:`` are left out,
since they never run. ``from package import name`` is an import of ``package/name.py`` when that module exists, else of
the package's ``__init__.py``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("consortium", "node_adapter", "consortium_portal", "oracle")

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "node_adapter": ("consortium", "consortium_portal", "oracle"),
    "consortium": ("consortium_portal", "oracle"),
    "consortium_portal": ("oracle",),
    "oracle": ("consortium_portal",),
}
"""Packages each package must not import: the bridge stands alone; the command host reaches the portal and the oracle
through entry points only; the portal and the oracle never import each other."""

WHY = {
    "node_adapter": "node_adapter is the chain bridge: it imports nothing above it",
    "consortium": "consortium reaches the portal and the oracle only through entry points (pyproject.toml)",
    "consortium_portal": "the portal and the oracle never import each other",
    "oracle": "the portal and the oracle never import each other",
}


@dataclass(frozen=True)
class Import:
    module: str
    """The importing module (``consortium_portal.http.deps``)."""
    path: Path
    line: int
    target: str
    """The imported module, resolved to a module of the repository where it is one."""

    def where(self) -> str:
        return f"{self.path}:{self.line}: imports {self.target}"


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(root: Path, dotted: str) -> bool:
    base = root.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _type_checking_only(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def imports_of(root: Path, path: Path) -> list[Import]:
    module = module_name(root, path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    nodes = sorted(
        _import_nodes(ast.parse(path.read_text(), filename=str(path))), key=lambda n: (n.lineno, n.col_offset)
    )
    for node in nodes:
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                candidate = f"{base}.{alias.name}" if base else alias.name
                targets.append(candidate if _is_module(root, candidate) else base)
        for target in targets:
            found.append(Import(module, path.relative_to(root), node.lineno, target))
    return found


def production_files(root: Path) -> list[Path]:
    return sorted(p for package in PACKAGES if (root / package).is_dir() for p in (root / package).rglob("*.py"))


def may_import_simulators(module: str) -> bool:
    """The simulators themselves and the tools (demo, benchmarks, dev set-up, the CLI that starts them)."""
    parts = module.split(".")
    return "simulators" in parts or "tools" in parts


def _top(dotted: str) -> str:
    return dotted.split(".", maxsplit=1)[0]


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The import circles among ``edges`` (strongly connected components of more than one module, or a module that
    imports itself), each sorted; iterative Tarjan, so a deep package cannot hit the recursion limit."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges.get(node, ()):
                    found.append(sorted(component))
    return found


def violations(root: Path) -> list[str]:
    """Every broken rule, one line each naming the file, the line and the import."""
    problems = []
    edges: dict[str, set[str]] = {}
    where: dict[tuple[str, str], Import] = {}
    for path in production_files(root):
        for imp in imports_of(root, path):
            source, target = _top(imp.module), _top(imp.target)
            if target in FORBIDDEN.get(source, ()):
                problems.append(f"{imp.where()}: {WHY[source]}")
            if "simulators" in imp.target.split(".") and not may_import_simulators(imp.module):
                problems.append(f"{imp.where()}: production code never imports the simulators")
            if source == target and imp.target != imp.module and _is_module(root, imp.target):
                edges.setdefault(imp.module, set()).add(imp.target)
                where.setdefault((imp.module, imp.target), imp)
    for circle in circles(edges):
        members = set(circle)
        ties = [where[(a, b)].where() for a in circle for b in sorted(edges.get(a, ())) if b in members]
        problems.append(f"import circle {' <-> '.join(circle)}: " + "; ".join(ties))
    return problems
