"""Arrows point down: the import graph of initlab (imports inside functions included)."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "initlab"

#: experiments that others build on; every other experiment is a leaf its siblings never import
SHARED_EXPERIMENT_PARTS = {"common", "config", "shared_options", "registry", "boundary",
                           "layer_stats", "weight_draws", "propagate_results", "replicas"}


def imports(path: Path) -> set[str]:
    """Every ``initlab.*`` module that ``path`` imports, anywhere in the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("initlab"):
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("initlab"))
    return found


#: The layers, lowest first (docs/architecture.md says what each knows): a module may import
#: from its own layer and the layers below it, never from one above.
LAYERS = [
    ("runtime", {"errors", "runtime"}),
    ("core", {"", "spec", "rng", "results", "statistics", "init", "nn", "optim", "train",
              "lsuv", "theory", "verdict", "data"}),
    ("plots", {"plots"}),
    ("experiments", {"experiments"}),
    ("report", {"report"}),
    ("front ends", {"cli", "sweep", "explore", "torchbridge", "torch"}),
]


def layer(module: str) -> int:
    """The index in :data:`LAYERS` of ``initlab.X...`` (its first part after ``initlab``); a
    name imported from the package itself (``from initlab import fit``) is the package's."""
    parts = module.split(".")
    first = parts[1] if len(parts) > 1 else ""
    if len(parts) == 2 and not any(first in names for _, names in LAYERS):
        first = ""  # an attribute of initlab/__init__.py, not a module
    return next(k for k, (_, names) in enumerate(LAYERS) if first in names)


def _module(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    return ".".join(p for p in rel.parts if p != "__init__")


def test_every_module_has_a_layer():
    for path in SRC.rglob("*.py"):
        layer(_module(path))  # raises StopIteration for a module no layer names


def test_every_import_points_down():
    upward = []
    for path in SRC.rglob("*.py"):
        own = layer(_module(path))
        for found in imports(path):
            if layer(found) > own:
                upward.append(f"{_module(path)} -> {found}")
    assert not upward, upward


def test_model_files_are_written_below_the_model():
    assert "initlab.nn.model" not in imports(SRC / "nn" / "serialize.py")
    assert "initlab.nn.serialize" in imports(SRC / "nn" / "model.py")


#: experiments made of parts of their own (a driver and the pieces only it runs)
OWN_PARTS = {"propagate": {"jacobian", "trainability", "propagate_residual"},
             "activations": {"residual_activations"}, "residual": {"residual_results"}}


def test_experiments_borrow_only_from_their_shared_parts():
    for path in (SRC / "experiments").glob("*.py"):
        siblings = {m.split(".")[2] for m in imports(path)
                    if m.startswith("initlab.experiments.") and len(m.split(".")) > 2}
        allowed = SHARED_EXPERIMENT_PARTS | {path.stem} | OWN_PARTS.get(path.stem, set())
        assert siblings <= allowed, (path.name, siblings)


def test_shared_experiment_parts_import_no_experiment():
    for name in SHARED_EXPERIMENT_PARTS:  # other shared parts only (replicas: common's stats)
        found = imports(SRC / "experiments" / f"{name}.py")
        assert {m.split(".")[2] for m in found if m.startswith("initlab.experiments.")} <= \
            SHARED_EXPERIMENT_PARTS, name


def test_no_file_over_400_lines_among_the_split_ones():
    for rel in ("experiments/activations.py", "experiments/layer_stats.py",
                "experiments/weight_draws.py", "report/sections.py", "verdict.py"):
        assert len((SRC / rel).read_text().splitlines()) <= 400, rel
