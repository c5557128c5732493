"""`ModelEntry`: one fact about one model for one task — the contract between the catalog, the hub
(getting files), the selector and the runners. A module of its own so that the catalog and the list
of runnable models (known_models) both import it and not each other."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ModelEntry:
    id: str  # Hub repo id, e.g. "Systran/faster-whisper-tiny.en"
    task: str  # Maestro task name (core.tasks)
    runtime: str  # a row of core.models.runtimes: "llm", "faster-whisper", "transformers", ...
    revision: str = "main"
    files: list[str] = field(default_factory=list)  # files the runner needs ([] = whole snapshot)
    size_bytes: int = 0
    license: str | None = None
    downloads: int = 0
    likes: int = 0
    pack: str | None = None  # wheel-pack name in core.models.hub when the files come from PyPI
    default: bool = False  # the task's default choice
    options: dict[str, Any] = field(default_factory=dict)  # runner-specific (e.g. pipeline kwargs)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
