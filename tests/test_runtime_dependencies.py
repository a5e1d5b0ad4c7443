"""What the service imports is installed by ``pip install .`` (what ``make run`` does).

The test environment has more packages (the test extra), so a runtime module importing a
test-only package would pass every other test and still fail on a fresh machine. Every
third-party import of the runtime packages must come from a distribution reachable from the
runtime dependencies in ``pyproject.toml``.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_PACKAGES = (
    "streams",
    "detector",
    "store",
    "service",
    "alerts",
    "api",
    "cli",
    "benchmarks",
    "models",
)
# Not part of the service: the training recipe (the "train" extra), the RTSP test server run by
# the system Python (Debian's GObject bindings), the demo-model generator (the "test" extra).
# The scale-out package, loaded only with --bus: runtime dependencies plus the "cluster" extra.
CLUSTER = "cluster"
NOT_RUNTIME = ("models/training/", "benchmarks/rtsp_serve.py", "benchmarks/synth_model.py")


def _runtime_distributions(extra: str | None = None) -> set[str]:
    """Names of the runtime requirements (and of ``extra``'s) and of everything they require,
    recursively."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"].get(extra, [])]
    todo = [Requirement(r) for r in wanted]
    seen: set[str] = set()
    while todo:
        req = todo.pop()
        name = _norm(req.name)
        if name in seen or (req.marker is not None and not req.marker.evaluate({"extra": ""})):
            continue
        seen.add(name)
        todo += [Requirement(r) for r in metadata.requires(req.name) or ()]
    return seen


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _third_party_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    first_party = (*RUNTIME_PACKAGES, CLUSTER)
    return {n for n in names if n not in sys.stdlib_module_names and n not in first_party}


def test_runtime_modules_import_only_runtime_dependencies() -> None:
    _check((*RUNTIME_PACKAGES,), _runtime_distributions())


def test_the_cluster_package_imports_only_its_extra_beyond_the_runtime() -> None:
    _check((CLUSTER,), _runtime_distributions(CLUSTER))


def _check(packages: tuple[str, ...], allowed: set[str]) -> None:
    providers = metadata.packages_distributions()
    missing: dict[str, set[str]] = {}
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith(NOT_RUNTIME):
                continue
            for module in _third_party_imports(path):
                dists = {_norm(d) for d in providers.get(module, [module])}
                if not dists & allowed:
                    missing.setdefault(module, set()).add(rel)
    assert not missing, f"imported at run time but not a runtime dependency: {missing}"
