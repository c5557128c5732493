"""The runners: one module per expert family, each a `Runner` (base.py) named by its runtime.

Which class runs a runtime is the runtime's row in core.models.runtimes (its `loader`); modules are
imported only when a task needs them, so heavy libraries load lazily."""

from __future__ import annotations

import importlib
from functools import cache

from core.execution.runners.base import Runner
from core.models import runtimes


@cache
def get_runner(runtime: str) -> Runner:
    """The (one, shared) runner of `runtime`, from its row's loader."""
    row = runtimes.row(runtime)
    if row is None:
        raise KeyError(f"no runner for runtime '{runtime}'")
    module_name, cls_name = row.loader.split(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    if not (isinstance(cls, type) and issubclass(cls, Runner)) or cls.runtime != runtime:
        raise TypeError(f"{row.loader} is not a Runner of the '{runtime}' runtime")
    return cls()
