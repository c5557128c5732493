"""The request as the planner sees it: the user turn, earlier turns as context, the files it names
by modality; and what planning gives back (PlanOutcome)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.llm.controllers import Controller
from core.plan import Plan


@dataclass
class PlanOutcome:
    plan: Plan
    seconds: float = 0.0
    repaired: bool = False
    error: str | None = None  # set when no valid plan could be made; plan is then empty
    raw: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    prompt_evaluated: int = 0  # prompt tokens the controller had to read (not reused from the KV cache)
    llm_s: float = 0.0
    demos: list[str] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)  # the decomposition (step planner)
    notes: list[str] = field(default_factory=list)  # e.g. a step no Maestro task can do, left out

    @property
    def ok(self) -> bool:
        return self.error is None


def user_message(request: str, files: list[str], context: str = "") -> str:
    parts = []
    if context:
        parts.append(f"Context from earlier turns:\n{context}")
    if files:
        parts.append("Files: " + ", ".join(files))
    parts.append(f"Request: {request}")
    return "\n".join(parts)


def history_context(history: list[dict[str, Any]], limit: int = 3, chars: int = 300) -> str:
    """Earlier turns as short data lines, so "translate that" can be resolved."""
    lines = []
    for turn in history[-limit:]:
        lines.append(f"- user asked: {str(turn.get('request', ''))[:chars]}")
        for r in turn.get("results") or []:
            out = r.get("output") or {}
            text = str(out.get("text") or "")[:chars]
            files = ", ".join(Path(f["path"]).name for f in out.get("files") or [])
            if r.get("status") == "done":
                lines.append(f"  task {r.get('id')} {r.get('task')}: {text}" + (f" [files: {files}]" if files else ""))
        answer = str(turn.get("answer") or "")[:chars]
        if answer and not turn.get("results"):
            lines.append(f"  answer: {answer}")
    return "\n".join(lines)


_MEDIA_EXT = {
    "image": (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tiff", ".webp"),
    "audio": (".wav", ".mp3", ".flac", ".ogg", ".m4a", ".aac"),
    "video": (".mp4", ".mov", ".avi", ".mkv", ".webm"),
}


_FILE_MENTION = re.compile(r"[\w\-./]+\.(?:" + "|".join(
    e[1:] for exts in _MEDIA_EXT.values() for e in exts) + r")\b", re.IGNORECASE)


_QUOTED_MENTION = re.compile(r"""['"‘“]?""" + _FILE_MENTION.pattern + r"""['"’”]?""", re.IGNORECASE)


def without_file_names(text: str) -> str:
    """The text without its media file names: a name says nothing of the task, but its words sway
    a sentence encoder ('party.png' toward classification, 'example.jpg' toward TaskBench's edits)."""
    return " ".join(_QUOTED_MENTION.sub(" ", text).split())


def modality_of_file(name: str) -> str | None:
    low = name.lower()
    return next((m for m, exts in _MEDIA_EXT.items() if low.endswith(exts)), None)


def media_files(files: list[str], *texts: str) -> dict[str, list[str]]:
    """Attached files plus file names the request or the context mention, by modality."""
    out: dict[str, list[str]] = {}
    names = [*files, *(m.group(0) for t in texts for m in _FILE_MENTION.finditer(t))]
    for name in dict.fromkeys(names):
        mod = modality_of_file(name)
        if mod and '"' not in name:
            out.setdefault(mod, []).append(name)
    return out


def gbnf_capable(controller: Controller) -> bool:
    return bool(getattr(controller, "supports_gbnf", False))


def kv_cache_dir() -> Path | None:
    try:
        from core.config.paths import models_cache

        return models_cache() / "kv"
    except Exception:  # noqa: BLE001
        return None
