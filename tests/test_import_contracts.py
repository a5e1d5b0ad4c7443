"""The import contracts of pyproject.toml (``[tool.importlinter]``) hold: each package imports
only the packages below it, benchmarks and training never import the HTTP layer or the command
line, no module of a package imports another that imports it back, and the API's schemas never
import its routers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_imports_keep_the_contracts() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
