"""Typed user settings, stored as JSON under platformdirs' config dir (MAESTRO_CONFIG overrides)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any


@dataclass
class Settings:
    # Controller: a wheel-pack name ("qwen2.5-coder-1.5b"), a path to a .gguf file,
    # or "hub:<repo>/<file>"; ignored when endpoint_url is set.
    controller: str = "qwen2.5-coder-1.5b"
    endpoint_url: str = ""  # OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1
    endpoint_model: str = ""
    endpoint_key_in_keyring: bool = False  # the key itself lives in the OS keyring, never here
    device: str = "auto"  # auto | cpu | cuda | mps
    threads: int = 0  # 0 = automatic: the physical cores (core/config/hardware.py)
    context_tokens: int = 8192  # the planner's fixed prefix is ~2.4k tokens; a follow-up adds its context
    memory_budget_gb: float = 0.0  # 0 = 70 % of RAM
    offline: bool = False
    allow_remote_experts: bool = False
    allow_pickle_models: list[str] = field(default_factory=list)
    pinned_models: dict[str, str] = field(default_factory=dict)  # task -> model id
    licences_allowed: list[str] = field(default_factory=list)  # [] = any
    task_timeout_s: float = 600.0
    data_dir: str = ""  # "" = platformdirs default

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def settings_path() -> Path:
    env = os.environ.get("MAESTRO_CONFIG")
    if env:
        return Path(env)
    data = os.environ.get("MAESTRO_DATA")
    if data:  # tests and portable installs keep everything in one folder
        return Path(data) / "settings.json"
    from platformdirs import user_config_dir

    return Path(user_config_dir("maestro", appauthor=False)) / "settings.json"


def load_settings() -> Settings:
    path = settings_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError):
        # A corrupt settings file must not stop the app; keep it aside for the user.
        path.replace(path.with_suffix(".corrupt.json"))
        return Settings()
    return Settings.from_dict(data)


def save_settings(settings: Settings) -> None:
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(settings.to_dict(), indent=2), encoding="utf-8")
    tmp.replace(path)


def settings_for_controller(controller: str) -> Settings:
    """The user's settings with the controller a command names (--controller): a pack name, a .gguf
    path or "hub:<repo>/<file>", or an http(s):// OpenAI-compatible endpoint; "" keeps the setting."""
    settings = load_settings()
    if controller.startswith(("http://", "https://")):
        settings.endpoint_url = controller
    elif controller:
        settings.controller = controller
        settings.endpoint_url = ""
    return settings
