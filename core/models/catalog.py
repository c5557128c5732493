"""What models exist per task: facts only (ids, tasks, runtime, sizes, licences, popularity).

`ModelEntry` (core/models/entry.py) is the contract between catalog, hub (getting files), selector and runners.

Three sources, merged (first wins for the same id + task):
1. `core.models.known_models.RUNNABLE`: models Maestro's runners are known to run (packaged experts,
   per-task defaults);
2. the controller LLM as the fallback expert for text tasks (the tasks of the "llm" runtime's row in
   core.models.runtimes);
3. `core/data/hub_facts.jsonl`: HuggingGPT's model list (673 Hub models, 24 tasks) as facts,
   with the runtime each needs; refreshed from the Hub on request (`refresh`), the answers cached
   in the models cache so offline use sees them too."""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

from core.config.paths import DATA_DIR
from core.models.entry import ModelEntry
from core.models.known_models import RUNNABLE
from core.models.runtimes import RUNTIMES

FACTS_FILE = DATA_DIR / "hub_facts.jsonl"
CONTROLLER_REPO = "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF"
CONTROLLER_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
CONTROLLER_PACK = "qwen2.5-coder-1.5b"
CONTROLLER_BYTES = 1_117_320_768


# -- sources -----------------------------------------------------------------------------------------

def llm_tasks() -> tuple[str, ...]:
    """The text tasks the controller LLM does itself: the tasks of the "llm" runtime's row."""
    return RUNTIMES["llm"].tasks


def _llm_entries() -> list[ModelEntry]:
    return [ModelEntry(CONTROLLER_REPO, task, "llm", files=[CONTROLLER_FILE], size_bytes=CONTROLLER_BYTES,
                       license="apache-2.0", pack=CONTROLLER_PACK, options={"source": "controller"})
            for task in llm_tasks()]


@cache
def _hub_facts() -> tuple[ModelEntry, ...]:
    from core.tasks import canonical_task

    out = []
    for line in FACTS_FILE.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        out.append(ModelEntry(row["id"], canonical_task(row["task"]), row["runtime"], downloads=row["downloads"],
                              likes=row["likes"], license=row.get("license"),
                              options={"languages": row.get("languages") or [], "source": "hub"}))
    return tuple(out)


def _overlay_path() -> Path:
    from core.config.paths import models_cache

    return models_cache() / ".maestro" / "catalog_refresh.json"


def _overlay() -> dict[str, dict[str, Any]]:
    try:
        return json.loads(_overlay_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def all_models() -> list[ModelEntry]:
    """Every model the catalog knows, one entry per (id, task); runnable ones first."""
    facts = {m.id: m for m in _hub_facts()}
    seen: set[tuple[str, str]] = set()
    out: list[ModelEntry] = []
    for m in [*RUNNABLE, *_llm_entries(), *_hub_facts()]:
        key = (m.id, m.task)
        if key in seen:
            continue
        seen.add(key)
        fact = facts.get(m.id)
        if fact is not None and not m.downloads and not m.likes:  # popularity from the Hub's facts
            m = replace(m, downloads=fact.downloads, likes=fact.likes, license=m.license or fact.license)
        out.append(m)
    overlay = _overlay()
    if overlay:
        out = [_apply(m, overlay[m.id]) if m.id in overlay else m for m in out]
    return out


def _apply(m: ModelEntry, fresh: dict[str, Any]) -> ModelEntry:
    changes: dict[str, Any] = {k: fresh[k] for k in ("downloads", "likes") if fresh.get(k) is not None}
    if fresh.get("license") and not m.license:
        changes["license"] = fresh["license"]
    if fresh.get("size_bytes") and not m.size_bytes:
        changes["size_bytes"] = fresh["size_bytes"]
    return replace(m, **changes)


# -- queries ---------------------------------------------------------------------------------------

def get(model_id: str, task: str | None = None) -> ModelEntry | None:
    from core.tasks import canonical_task

    task = canonical_task(task) if task else None
    return next((m for m in all_models() if m.id == model_id and (task is None or m.task == task)), None)


def models_for_task(task: str) -> list[ModelEntry]:
    """The task's models, the default first, then by Hub downloads."""
    from core.tasks import canonical_task

    task = canonical_task(task)
    found = [m for m in all_models() if m.task == task]
    return sorted(found, key=lambda m: (not m.default, -m.downloads))


def default_model(task: str) -> ModelEntry | None:
    """The entry marked default for the task, else the controller LLM for text tasks, else None."""
    models = models_for_task(task)
    return next((m for m in models if m.default), None) or next((m for m in models if m.runtime == "llm"), None)


def known_tasks() -> set[str]:
    from core.tasks import TASKS

    return set(TASKS) | {m.task for m in all_models()}


def source(m: ModelEntry) -> str:
    """Where the files come from: pack:<name>, pip:<package>, system:<command>, or hub."""
    opts = m.options or {}
    if m.pack:
        return f"pack:{m.pack}"
    if opts.get("python_package"):
        return f"pip:{opts.get('pip') or opts['python_package']}"
    if opts.get("command"):
        return f"system:{opts['command']}"
    return "hub"


def is_installed(m: ModelEntry) -> bool:
    """Its files are on this machine (in the models cache, an installed package, or an OS command)."""
    opts = m.options or {}
    if opts.get("python_package"):
        import importlib.util

        try:
            return importlib.util.find_spec(str(opts["python_package"])) is not None
        except (ImportError, ValueError):
            return False
    if opts.get("command"):
        import shutil

        return shutil.which(str(opts["command"])) is not None
    from core.models import hub

    return hub.is_cached(m.id, [f for f in m.files if "*" not in f], m.revision)


def installed_size(m: ModelEntry) -> int:
    """Bytes on disk when installed in the models cache, else the catalog's size."""
    if source(m) in ("hub",) or m.pack:
        from core.models.downloads import size_on_disk

        on_disk = size_on_disk(m.id)
        if on_disk:
            return on_disk
    return m.size_bytes


def listing(task: str | None = None, installed_only: bool = False, runnable_only: bool = False,
            settings=None) -> list[dict[str, Any]]:
    """Rows for `models list --json`: id, task, runtime, size_bytes, installed, source, ..."""
    from core.models import runtimes

    models = models_for_task(task) if task else all_models()
    rows = []
    for m in models:
        installed = is_installed(m)
        if installed_only and not installed:
            continue
        why_runtime = runtimes.unavailable(m.runtime, settings, m.task)
        if runnable_only and why_runtime:
            continue
        rows.append({"id": m.id, "task": m.task, "runtime": m.runtime,
                     "size_bytes": installed_size(m) if installed else m.size_bytes, "installed": installed,
                     "source": source(m), "default": m.default, "license": m.license, "downloads": m.downloads,
                     "likes": m.likes, "pack": m.pack, "runtime_ok": why_runtime is None,
                     "runtime_missing": why_runtime})
    if not task and not runnable_only:  # models in the cache the catalog does not know (e.g. fetched by id)
        from core.models.downloads import cached_repos

        known = {m.id for m in models}
        for r in cached_repos():
            if r.repo_id not in known:
                rows.append({"id": r.repo_id, "task": "?", "runtime": "?", "size_bytes": r.size_on_disk,
                             "installed": True, "source": "cache", "default": False, "license": None,
                             "downloads": 0, "likes": 0, "pack": None, "runtime_ok": False,
                             "runtime_missing": "not in the catalog: its task and runtime are unknown"})
    return rows


# -- refresh from the Hub (online), cached for offline use -----------------------------------------

def refresh(model_ids: list[str] | None = None, *, token: str | bool | None = None, settings=None,
            on_error=None) -> int:
    """Update downloads/likes/licence/size of the given models (default: the runnable ones) from
    the Hub; the answers are stored so offline runs use them. Returns how many were refreshed.
    Raises OfflineError in offline mode, before any network access."""
    from core.models import downloads

    if downloads.is_offline(settings):
        raise downloads.OfflineError("offline mode is on: the catalog cannot be refreshed from the Hub")
    ids = model_ids or sorted({m.id for m in RUNNABLE if not m.id.startswith("local:")})
    overlay = _overlay()
    done = 0
    for model_id in ids:
        try:
            remote = downloads.fetch_info(model_id, token=token, settings=settings)
        except downloads.DownloadError as e:
            if on_error:
                on_error(model_id, str(e))
            continue
        overlay[model_id] = {"downloads": remote.downloads, "likes": remote.likes, "license": remote.license,
                             "size_bytes": sum(f.size for f in remote.files), "pipeline_tag": remote.pipeline_tag,
                             "commit": remote.commit, "fetched_at": time.time()}
        done += 1
    if not done:
        return 0
    path = _overlay_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(overlay, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)
    return done
