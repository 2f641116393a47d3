"""The package's imports go one way: cli -> tools -> ros -> core, and inside core from the
pipeline down to the foundations; no module imports one above it and no import circle
exists. Every import counts, also the ones inside functions (only ``TYPE_CHECKING`` blocks,
which never run, are left out)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "trg_ros"

# Lowest first. A module may import modules of a lower rank, and of its own group (one tuple
# of prefixes); peers of one rank in different groups (the estimators) never import each other.
LAYERS: tuple[tuple[tuple[str, ...], ...], ...] = (
    (
        (
            "trg_ros.core.errors",
            "trg_ros.core.types",
            "trg_ros.core.boxes",
            "trg_ros.core.camera",
            "trg_ros.core.device",
            "trg_ros.core.smoothing",
            "trg_ros.core.metrics",
            "trg_ros.core.frames",
            "trg_ros.core.primary",
            "trg_ros.core.detect.base",
        ),
    ),
    (("trg_ros.core.assets",),),
    (("trg_ros.core.tflite",),),
    (("trg_ros.core.estimate", "trg_ros.core.track"),),
    (
        ("trg_ros.core.detect",),
        ("trg_ros.core.model",),
        ("trg_ros.core.facemesh",),
        ("trg_ros.core.signals",),
    ),
    (("trg_ros.core.catalogue", "trg_ros.core.estimators", "trg_ros.core.pipeline"),),
    (("trg_ros.ros",),),
    (("trg_ros.tools",),),
    (("trg_ros.cli",),),
)


# Package roots that hold nothing but their docstring (and the message path for trg_ros).
ROOTS = ("trg_ros", "trg_ros.core")


def group_of(module: str) -> tuple[int, int]:
    """(rank, group) of the longest matching prefix."""
    if module in ROOTS:
        return (0, 0)
    best: tuple[int, tuple[int, int]] | None = None
    for rank, groups in enumerate(LAYERS):
        for g, prefixes in enumerate(groups):
            for prefix in prefixes:
                matches = module == prefix or module.startswith(prefix + ".")
                if matches and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), (rank, g))
    assert best is not None, f"{module} is in no layer: add it to LAYERS"
    return best[1]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(path: Path) -> set[str]:
    """The trg_ros modules ``path`` imports (``from a import b`` counts ``a.b`` when that is
    a module of ours, else ``a``)."""
    tree = ast.parse(path.read_text())
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and _type_checking(node)
            for n in ast.walk(node)}  # fmt: skip
    out = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("trg_ros")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("trg_ros"):
            assert node.level == 0, f"{path}: relative import"
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                out.add(full if full in ALL else str(node.module))
    return {m for m in out if not m.startswith("trg_ros.msg")}  # generated messages


FILES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
ALL = set(FILES)


def graph() -> dict[str, set[str]]:
    return {m: {i for i in imports(p) if i != m and i in ALL} for m, p in FILES.items()}


def test_every_module_is_placed_in_a_layer() -> None:
    for module in FILES:
        group_of(module)


def test_no_import_goes_up_or_sideways() -> None:
    bad = []
    for module, targets in graph().items():
        rank, group = group_of(module)
        for target in targets:
            t_rank, t_group = group_of(target)
            if t_rank > rank or (t_rank == rank and t_group != group):
                bad.append(f"{module} -> {target}")
    assert not bad, "imports against the layers:\n" + "\n".join(sorted(bad))


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
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
        for w in edges.get(v, ()):
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

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle() -> None:
    assert cycles(graph()) == []


def test_the_checks_catch_what_they_guard() -> None:
    """The guards themselves: a circle is found, and an upward import is out of order."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert group_of("trg_ros.core.assets.store")[0] < group_of("trg_ros.core.model.files")[0]
    assert group_of("trg_ros.core.model.trg")[1] != group_of("trg_ros.core.facemesh.metric")[1]
