"""Imports point down the layers of shared/ARCHITECTURE.md, and no module imports itself back.

The graph is read from the source with `ast`, so an import inside a function (the usual way to
hide a cycle) counts the same as one at the top of a module, and so does one under
``if TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import rewardsmith

SRC = Path(rewardsmith.__file__).parent
PACKAGE = "rewardsmith"

# ARCHITECTURE.md: core <- rewards/shaping <- engine <- serve, cli, audit, integrations.
# A module may import its own layer and any layer of a lower rank; layers of equal rank are
# siblings that never import each other. Where the map is silent, the rank follows what the
# layer is for: the sandbox and io need only core; models (learned rewards) sit below rewards
# because the math verifier may fall back to an LLM judge; envs and the HTTP client are faces
# over the engine; the package root re-exports everything.
LAYERS: dict[str, int] = {
    "core": 0,
    "sandbox": 1,
    "io": 1,
    "shaping": 2,
    "models": 3,
    "rewards": 4,
    "engine": 5,
    "serve": 6,
    "audit": 6,
    "integrations": 7,
    "envs": 7,
    "client": 7,
    "cli": 8,
    "": 9,  # rewardsmith/__init__.py
}
# Imports that point up on purpose, each with its reason. Every entry is debt with a date.
ALLOWED_UPWARD: dict[tuple[str, str], str] = {
    ("rewardsmith.shaping.gym_wrappers", "rewardsmith.envs.wrappers"): (
        "deprecated re-export of the wrappers' old home (they moved to envs); it goes when the "
        "shim goes, and hiding the edge behind importlib would only blind this test"
    ),
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        parts = [PACKAGE, *path.relative_to(SRC).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _owner(name: str) -> str | None:
    """The module that an imported dotted name lives in (a name may be a module's attribute)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path) -> set[str]:
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    targets: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level:
                parts = package.split(".")
                source = ".".join(
                    parts[: len(parts) - node.level + 1] + ([source] if source else [])
                )
            # `from pkg import mod` imports the module `pkg.mod`; `from mod import name`, `mod`.
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                targets.append(submodule if submodule in MODULES else source)
    owners = {_owner(t) for t in targets if t == PACKAGE or t.startswith(PACKAGE + ".")}
    return {owner for owner in owners if owner is not None and owner != module}


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def layer(module: str) -> str:
    """The layer of a module is its top-level package under rewardsmith: the command line is
    ``rewardsmith.cli`` and nothing else, so a CLI module elsewhere ranks as its package."""
    parts = module.split(".")[1:]
    return parts[0] if parts else ""


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.get(target, ())))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_the_graph_sees_function_level_imports() -> None:
    # `pool_heads` imports shaping inside the function: the graph must still hold that edge.
    assert "rewardsmith.shaping.ensembles" in GRAPH["rewardsmith.models.bt.evaluate"]
    assert "rewardsmith.core.registry" in GRAPH["rewardsmith.core.spec"]


def test_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    assert _cycles(GRAPH) == []


def test_every_layer_has_a_rank() -> None:
    unknown = sorted({layer(module) for module in MODULES} - set(LAYERS))
    assert unknown == [], f"add {unknown} to LAYERS in {__file__} (and to ARCHITECTURE's map)"


def test_imports_point_down_the_layers() -> None:
    wrong = []
    for module, targets in sorted(GRAPH.items()):
        mine = layer(module)
        for target in sorted(targets):
            theirs = layer(target)
            if (module, target) in ALLOWED_UPWARD:
                continue
            if theirs != mine and LAYERS[theirs] >= LAYERS[mine]:
                wrong.append(f"{module} ({mine}) imports {target} ({theirs})")
    assert wrong == []


def test_every_allowed_upward_import_still_exists() -> None:
    stale = [edge for edge in ALLOWED_UPWARD if edge[1] not in GRAPH.get(edge[0], set())]
    assert stale == [], f"remove {stale} from ALLOWED_UPWARD"
