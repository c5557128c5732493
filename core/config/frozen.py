"""What changes when Maestro runs from the PyInstaller bundle (packaging/).

The bundle's code lives in `<bundle>/_internal`, so the source-tree defaults of core.config.paths would put
models inside the bundle. `prepare()` (called by the bundle's runtime hook before main.py) points the
models folder at the user's data folder instead and puts "extras" folders in front of the bundled
code, so heavy optional parts (CUDA torch, transformers, diffusers) and model-carrying pip packages
installed there with `pip install --target` are picked up without rebuilding the bundle."""

from __future__ import annotations

import os
import sys
from pathlib import Path

EXTRAS_ENV = "MAESTRO_EXTRAS"


def is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def bundle_dir() -> Path:
    """The folder that holds the `maestro` executable (the source tree when not frozen)."""
    if is_frozen():
        return Path(sys.executable).resolve().parent
    return Path(__file__).resolve().parents[2]


def user_dir() -> Path:
    """The platform's per-user data folder for Maestro (~/.local/share/maestro on Linux)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("maestro", appauthor=False))


def default_models_dir() -> Path:
    return user_dir() / "models"


def extras_dirs() -> list[Path]:
    """Existing extras folders, highest priority first: $MAESTRO_EXTRAS (os.pathsep-separated),
    `<bundle>/extras`, then `<user data>/extras`."""
    candidates = [Path(p).expanduser() for p in os.environ.get(EXTRAS_ENV, "").split(os.pathsep) if p.strip()]
    candidates += [bundle_dir() / "extras", user_dir() / "extras"]
    out: list[Path] = []
    for path in candidates:
        path = path.resolve()
        if path.is_dir() and path not in out:
            out.append(path)
    return out


def prepare() -> list[Path]:
    """Set the bundle's defaults; returns the extras folders put on sys.path.

    An explicit MAESTRO_MODELS always wins. Extras go *before* the bundled modules (PyInstaller 6
    resolves frozen modules through a sys.path entry, so order decides), which is what lets a CUDA
    build of torch installed there replace nothing-or-CPU torch in the bundle."""
    os.environ.setdefault("MAESTRO_MODELS", str(default_models_dir()))
    extras = extras_dirs()
    for path in reversed(extras):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    os.environ["MAESTRO_EXTRAS_ACTIVE"] = os.pathsep.join(str(p) for p in extras)
    return extras
