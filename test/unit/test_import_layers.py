"""The package's imports go one way: cli -> tools -> ros -> core, and inside each from the top
down to the foundations; no module imports one above it or a peer, and no import circle
exists. Every import counts, also relative ones and those inside functions (only
``TYPE_CHECKING`` blocks, which never run, are left out)."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "trg_ros"

# Lowest first. A module may import modules of a lower rank and of its own group (one tuple
# of prefixes); peers of one rank in different groups never import each other (the
# estimators; the bench's runs).
LAYERS: tuple[tuple[tuple[str, ...], ...], ...] = (
    # the core: foundations, file handling, runtimes, the estimators, what composes them
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
            "trg_ros.core.hri",
        ),
    ),
    (("trg_ros.core.assets",),),
    (("trg_ros.core.tflite",),),
    (("trg_ros.core.estimate", "trg_ros.core.track"),),
    (("trg_ros.core.detect",), ("trg_ros.core.model",), ("trg_ros.core.facemesh",)),
    # driver-monitoring signals: FaceMesh points and the blendshape network, any estimator
    (("trg_ros.core.signals",),),
    # the pipeline never learns which estimator runs: it is a peer of the catalogue
    (("trg_ros.core.catalogue",), ("trg_ros.core.pipeline",)),
    (("trg_ros.core.estimators",),),
    # the ROS layer: conversions and the schema, what builds on them, the node, the process
    (
        (
            "trg_ros.ros.params",
            "trg_ros.ros.convert",
            "trg_ros.ros.cdr",
            "trg_ros.ros.logs",
            "trg_ros.ros.status",
            "trg_ros.ros.worker",
            "trg_ros.ros.external",
            "trg_ros.ros.rviz",
            "trg_ros.ros.attention",
        ),
    ),
    (
        (
            "trg_ros.ros.intrinsics",
            "trg_ros.ros.messages",
            "trg_ros.ros.factory",
            "trg_ros.ros.hri",
        ),
    ),
    (("trg_ros.ros.signals",),),
    (("trg_ros.ros.inputs", "trg_ros.ros.outputs"),),
    (("trg_ros.ros.node",), ("trg_ros.ros.hri_merge",)),
    (("trg_ros.ros.main",),),
    # the tools: helpers, the commands, the bench from its measuring library up
    (
        (
            "trg_ros.tools.options",
            "trg_ros.tools.progress",
            "trg_ros.tools.sources",
            "trg_ros.tools.signal_rows",
            "trg_ros.tools.annotate",
            "trg_ros.tools.accuracy",
            "trg_ros.tools.fixture",
            "trg_ros.tools.bag",
            "trg_ros.tools.tool_node",
            "trg_ros.tools.record",
            "trg_ros.tools.view",
        ),
    ),
    (
        (
            "trg_ros.tools.parity",
            "trg_ros.tools.demo",
            "trg_ros.tools.check",
            "trg_ros.tools.evaluate",
            "trg_ros.tools.export",
            "trg_ros.tools.bench.measure",
        ),
    ),
    (("trg_ros.tools.bench.inputs",),),
    (
        ("trg_ros.tools.bench.model",),
        ("trg_ros.tools.bench.pipeline",),
        ("trg_ros.tools.bench.tflite",),
        ("trg_ros.tools.bench.node",),
        ("trg_ros.tools.bench.messages",),
        ("trg_ros.tools.bench.hri",),
        ("trg_ros.tools.bench.plot",),
        ("trg_ros.tools.bench.demo",),
        ("trg_ros.tools.bench.signals",),
        ("trg_ros.tools.bench.view",),
    ),
    (("trg_ros.tools.bench.startup",),),
    (("trg_ros.tools.bench.goals",),),
    (("trg_ros.tools.bench.command", "trg_ros.tools.gpu.steps"),),
    (("trg_ros.tools.gpu.check",),),
    (("trg_ros.cli",),),
)
# Packages that hold nothing but their docstring (trg_ros also extends its path to the
# generated messages); they import nothing of ours.
ROOTS = (
    "trg_ros",
    "trg_ros.core",
    "trg_ros.core.detect",
    "trg_ros.core.model",
    "trg_ros.core.facemesh",
    "trg_ros.core.tflite",
    "trg_ros.core.signals",
    "trg_ros.ros",
    "trg_ros.tools",
    "trg_ros.tools.demo",
    "trg_ros.tools.view",
    "trg_ros.tools.bench",
    "trg_ros.tools.gpu",
)


def group_of(module: str, layers=LAYERS) -> tuple[int, int]:
    """(rank, group) of the longest matching prefix."""
    best: tuple[int, tuple[int, int]] | None = None
    for rank, groups in enumerate(layers):
        for g, prefixes in enumerate(groups):
            for prefix in prefixes:
                matches = module == prefix or module.startswith(prefix + ".")
                if matches and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), (rank, g))
    assert best is not None, f"{module} is in no layer: add it to LAYERS"
    return best[1]


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(path: Path, package: Path, modules: set[str]) -> set[str]:
    """The package's modules ``path`` imports; ``from a import b`` counts ``a.b`` when that is
    a module, else ``a``; relative imports are resolved against ``path``'s package."""
    root = package.name
    name = module_name(path, package)
    here = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and _type_checking(node)
            for n in ast.walk(node)}  # fmt: skip
    out = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == root}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = importlib.util.resolve_name("." * node.level + base, here)
            if base.split(".")[0] != root:
                continue
            for alias in node.names:
                full = f"{base}.{alias.name}"
                out.add(full if full in modules else base)
    return {m for m in out if not m.startswith(f"{root}.msg")}  # generated messages


def graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    files = {module_name(p, package): p for p in sorted(package.rglob("*.py"))}
    modules = set(files)
    return {m: {i for i in imports(p, package, modules) if i != m and i in modules}
            for m, p in files.items()}  # fmt: skip


def against_layers(edges: dict[str, set[str]], layers=LAYERS, roots=ROOTS) -> list[str]:
    """Imports that go up or sideways, and roots that import anything."""
    bad = [f"{m} (a docstring-only package) -> {t}" for m in roots for t in edges.get(m, ())]
    for module, targets in edges.items():
        if module in roots:
            continue
        rank, group = group_of(module, layers)
        for target in targets:
            if target in roots:
                continue
            t_rank, t_group = group_of(target, layers)
            if t_rank > rank or (t_rank == rank and t_group != group):
                bad.append(f"{module} -> {target}")
    return sorted(bad)


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


def test_every_module_has_a_place_and_every_place_a_module() -> None:
    edges = graph()
    for module in edges:
        if module not in ROOTS:
            group_of(module)
    prefixes = [p for groups in LAYERS for group in groups for p in group] + list(ROOTS)
    empty = [p for p in prefixes if not any(m == p or m.startswith(p + ".") for m in edges)]
    assert not empty, f"layer entries that match no module (misspelt?): {empty}"


def test_no_import_goes_up_or_sideways() -> None:
    assert against_layers(graph()) == []


def test_no_import_circle() -> None:
    assert cycles(graph()) == []


def test_the_checks_catch_what_they_guard(tmp_path: Path) -> None:
    """A small package with an upward import (inside a function), a sideways one written
    relative, and a circle: each is found."""
    pkg = tmp_path / "fake"
    (pkg / "low").mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""root"""\n')
    (pkg / "low" / "__init__.py").write_text('"""low"""\n')
    (pkg / "low" / "a.py").write_text("def f():\n    from fake import high\n")
    (pkg / "low" / "b.py").write_text("from . import c\nfrom ..peer import x\n")
    (pkg / "low" / "c.py").write_text("import fake.low.b\n")
    (pkg / "peer.py").write_text("x = 1\n")
    (pkg / "high.py").write_text("from fake.low import a\n")
    layers = ((("fake.low",), ("fake.peer",)), (("fake.high",),))
    edges = graph(pkg)
    assert edges["fake.low.b"] == {"fake.low.c", "fake.peer"}
    assert against_layers(edges, layers, ("fake", "fake.low")) == [
        "fake.low.a -> fake.high",
        "fake.low.b -> fake.peer",
    ]
    assert sorted(cycles(edges)) == [["fake.high", "fake.low.a"], ["fake.low.b", "fake.low.c"]]
