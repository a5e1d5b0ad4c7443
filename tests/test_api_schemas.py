"""The HTTP layer's request and response models live in ``api/schemas/``, one module per
resource: a router defines none of its own."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

from pydantic import BaseModel

import api.routers
import api.schemas


def _modules(package: ModuleType) -> list[str]:
    prefix = package.__name__ + "."
    return sorted(info.name for info in pkgutil.iter_modules(package.__path__, prefix))


def _models_defined_in(name: str) -> list[str]:
    module = importlib.import_module(name)
    return [
        cls.__name__
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, BaseModel) and cls.__module__ == name
    ]


def test_no_router_defines_a_model() -> None:
    found = {name: _models_defined_in(name) for name in _modules(api.routers)}
    assert {name: models for name, models in found.items() if models} == {}


def test_every_schema_module_holds_models() -> None:
    # Guards the test above against a refactor that empties the package.
    empty = [name for name in _modules(api.schemas) if not _models_defined_in(name)]
    assert empty == []
