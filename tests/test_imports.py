"""The compiler's modules import one way: no import cycles, and the stages in the order
model -> platform loading -> resolution -> checks -> plan -> render (../shared/DESIGN.md).

The graph is read from the source with `ast`: every `import` at module level and inside
functions, so a deferred import cannot hide a cycle. Imports under `if TYPE_CHECKING:` only run
for the type checker; they count for the stage order, not for the runtime cycle test.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "compiler"

# Registries that load their entries inside a function, on first use, so that `specops validate`
# never pays for kfp or the verifiers; each entry module imports the registry's decorator.
LAZY_REGISTRATIONS = {
    ("compiler.post", "compiler.kfp_steps"),
    ("compiler.verify", "compiler.verify.basic"),
    ("compiler.verify", "compiler.verify.ci"),
    ("compiler.verify", "compiler.verify.kfp"),
    ("compiler.verify", "compiler.verify.kubernetes"),
}

# The stages of one spec's resolution, in the order data flows; a module imports only modules of
# its own stage or of earlier ones. Longest prefix wins.
STAGES: dict[str, int] = {
    "compiler.model": 0,
    "compiler.plan": 0,  # the plan's types, Defaults among them: what platform.yaml may set
    "compiler.platform.merge": 0,
    "compiler.platform.defaults": 0,
    "compiler.platform.model": 0,
    "compiler.check.secrets": 1,  # run on the loaded data, before the model
    "compiler.platform.load": 1,
    "compiler.platform.storage": 2,
    "compiler.platform.delivery": 2,
    "compiler.platform.settings": 2,
    "compiler.platform.resolve": 2,
    "compiler.check": 3,
    "compiler.registry": 3,
    "compiler.platform.policies": 3,
    "compiler.platform.checks": 3,
    "compiler.planner": 4,
    "compiler.render": 5,
}


def module_files() -> dict[str, Path]:
    files = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        files[name] = path
    return files


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(node: ast.AST, module: str, is_package: bool, known: set[str]) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names if alias.name in known)
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:  # relative: from the module's package upwards
            package = module.split(".") if is_package else module.split(".")[:-1]
            base = ".".join([*package[: len(package) - node.level + 1], *filter(None, [base])])
        for alias in node.names:
            child = f"{base}.{alias.name}"
            if child in known:
                yield child
            elif base in known:
                yield base


def _imports_in(
    node: ast.AST, module: str, is_package: bool, known: set[str], type_checking: bool
) -> Iterator[str]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child) and not type_checking:
            for other in child.orelse:
                yield from _imports_in(other, module, is_package, known, type_checking)
            continue
        yield from _imported(child, module, is_package, known)
        yield from _imports_in(child, module, is_package, known, type_checking)


def import_graph(*, type_checking: bool) -> dict[str, set[str]]:
    """module -> the compiler modules it imports, anywhere in its source."""
    files = module_files()
    known = set(files)
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_package = path.name == "__init__.py"
        graph[module] = set(_imports_in(tree, module, is_package, known, type_checking)) - {module}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (its modules in order, the first repeated at the end), or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return [*stack[stack.index(target) :], target]
            if target not in state and (found := walk(target)) is not None:
                return found
        stack.pop()
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (found := walk(start)) is not None:
            return found
    return None


def stage_of(module: str) -> int | None:
    matches = [p for p in STAGES if module == p or module.startswith(p + ".")]
    return STAGES[max(matches, key=len)] if matches else None


def test_no_module_of_the_compiler_is_in_an_import_cycle() -> None:
    graph = import_graph(type_checking=False)
    for source, target in LAZY_REGISTRATIONS:
        assert target in graph[source], f"{source} no longer loads {target}: drop the entry"
        graph[source] = graph[source] - {target}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_stages_import_only_earlier_stages() -> None:
    graph = import_graph(type_checking=True)
    backwards = [
        f"{source} (stage {stage_of(source)}) imports {target} (stage {stage_of(target)})"
        for source, targets in graph.items()
        for target in targets
        if (stage_of(source) or 0) < (stage_of(target) or 0) and stage_of(source) is not None
    ]
    assert backwards == []
    staged = {m: {t for t in ts if stage_of(t) is not None} for m, ts in graph.items()}
    assert find_cycle({m: ts for m, ts in staged.items() if stage_of(m) is not None}) is None


def test_a_cycle_is_found_through_a_deferred_import() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    source = "def late():\n    from compiler.plan import Plan\n"
    tree = ast.parse(source)
    found = {t for node in ast.walk(tree) for t in _imported(node, "x", False, {"compiler.plan"})}
    assert found == {"compiler.plan"}


def test_every_public_name_of_the_package_loads() -> None:
    """`compiler` loads its public names on first use: each must resolve, and nothing else."""
    import compiler

    assert all(getattr(compiler, name) is not None for name in compiler.__all__)
    with pytest.raises(AttributeError):
        compiler.no_such_name  # noqa: B018
