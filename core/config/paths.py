"""Where things live: the models cache, the user's data folder, per-turn session folders."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PROMPTS_DIR = REPO_ROOT / "prompts"
DATA_DIR = REPO_ROOT / "core" / "data"  # catalog facts, the planner's step head, palettes


def models_cache() -> Path:
    """HF cache root (`hub/` lives under it). MAESTRO_MODELS overrides; default: repo's models_cache/."""
    return Path(os.environ.get("MAESTRO_MODELS", REPO_ROOT / "models_cache")).resolve()


def hub_cache() -> Path:
    return models_cache() / "hub"


def data_dir() -> Path:
    """User data (database, sessions, logs). MAESTRO_DATA overrides; default: platformdirs."""
    env = os.environ.get("MAESTRO_DATA")
    if env:
        path = Path(env)
    else:
        from platformdirs import user_data_dir

        path = Path(user_data_dir("maestro", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def new_session_dir(turn_id: str | None = None) -> Path:
    """A fresh folder for one turn's inputs and artifacts."""
    turn_id = turn_id or uuid.uuid4().hex[:12]
    path = data_dir() / "sessions" / safe_name(turn_id)
    (path / "inputs").mkdir(parents=True, exist_ok=True)
    (path / "artifacts").mkdir(parents=True, exist_ok=True)
    return path


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str, default: str = "file") -> str:
    """A file name with no directory parts or odd characters (no traversal from user/model text)."""
    base = _UNSAFE.sub("_", Path(str(name)).name).strip("._")
    return base[:120] or default


def inside(folder: Path, name: str) -> Path:
    """`folder/name` made safe, guaranteed to stay inside `folder`."""
    folder = folder.resolve()
    target = (folder / safe_name(name)).resolve()
    if folder not in target.parents:
        raise ValueError(f"refusing to write outside {folder}: {name!r}")
    return target
