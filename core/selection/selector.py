"""Stage 2: pick a model per task, as HuggingGPT does, with this machine's limits in front.

Filter the catalog by task; drop models whose runtime is missing, whose licence the settings do not
allow, that do not fit the memory budget, whose language pair does not match, or — offline — that
are not cached. A model the user pinned for the task wins. The rest are ranked (installed first,
then the task's default, then Hub downloads), the top k kept, and the controller LLM chooses among
them with constrained output {"id", "reason"} — only when more than one remains and a controller is
given, so the common case costs no LLM call. Every selection says why."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from core.errors import NoModelError
from core.llm import prompts
from core.models import catalog
from core.models.entry import ModelEntry
from core.plan import Task
from core.tasks import TASKS, canonical_task

TOP_K = 3
LOAD_FACTOR = 1.3  # memory a loaded model takes, relative to its weight files
_ISO3 = {"en": "eng", "es": "spa", "fr": "fra", "de": "deu", "it": "ita", "pt": "por", "ca": "cat", "nl": "nld"}
_LANG_NAMES = {"english": "en", "spanish": "es", "french": "fr", "german": "de", "italian": "it",
               "portuguese": "pt", "catalan": "ca", "dutch": "nl", "chinese": "zh", "japanese": "ja",
               "russian": "ru"}


@dataclass
class Selection:
    model: ModelEntry
    reason: str
    candidates: list[str] = field(default_factory=list)
    needs_download: bool = False  # the model is allowed but not cached yet: hub.get_model before running
    by_llm: bool = False
    seconds: float = 0.0
    rejected: dict[str, str] = field(default_factory=dict)  # model id -> why it was left out


@dataclass
class _Candidate:
    entry: ModelEntry
    installed: bool


# -- the filters -----------------------------------------------------------------------------------

def _settings(settings):
    if settings is not None:
        return settings
    from core.config.settings import load_settings

    return load_settings()


def _offline(settings) -> bool:
    from core.models.downloads import is_offline

    return is_offline(settings)


@cache
def _budget(budget_gb: float, device: str) -> tuple[int, str]:
    from core.config import hardware

    return hardware.memory_budget(budget_gb, device)


def _controller_missing(settings) -> str | None:
    """Why the controller LLM cannot serve as an expert here (None = it can)."""
    if getattr(settings, "endpoint_url", ""):
        return None
    try:
        from core.llm.controllers import controller_model_path

        controller_model_path(getattr(settings, "controller", catalog.CONTROLLER_PACK))
    except Exception as e:  # noqa: BLE001 - any failure to find it is the reason
        return f"the controller model is not available ({e})"
    return None


def _as_configured_controller(entry: ModelEntry, settings) -> ModelEntry:
    """The catalog lists the default controller for text tasks; report the one actually configured."""
    if entry.runtime != "llm":
        return entry
    endpoint = getattr(settings, "endpoint_url", "")
    if endpoint:
        name = getattr(settings, "endpoint_model", "") or endpoint
        return replace(entry, id=name, files=[], size_bytes=0, pack=None, license=None,
                       options={**entry.options, "source": "endpoint", "endpoint": endpoint})
    wanted = getattr(settings, "controller", catalog.CONTROLLER_PACK)
    if wanted == entry.pack:
        return entry
    from core.models.packs import PACKS

    pack = PACKS.get(wanted)
    if pack is not None:
        return replace(entry, id=pack.repo_id, pack=pack.name, files=[f.filename for f in pack.files],
                       size_bytes=pack.size, license=pack.license or entry.license)
    return replace(entry, id=str(wanted), pack=None, files=[], size_bytes=0,
                   options={**entry.options, "source": "controller-file"})


def _lang_code(value: Any) -> str:
    text = str(value or "").strip().lower()
    return _LANG_NAMES.get(text, text[:2] if len(text) in (2, 3, 5) else text)


def _language_mismatch(entry: ModelEntry, task: Task) -> str | None:
    """A translation model for a fixed pair (or language list) cannot do another pair."""
    if task.task != "translation":
        return None
    src, tgt = _lang_code(task.args.get("src_lang")), _lang_code(task.args.get("tgt_lang"))
    pair = (entry.options or {}).get("pair")
    if pair:
        a, _, b = str(pair).partition("-")
        want = (_ISO3.get(src, src) if src else a, _ISO3.get(tgt, tgt) if tgt else b)
        if tgt and want != (a, b):
            return f"translates {a}->{b} only"
        return None
    langs = [str(x).lower() for x in (entry.options or {}).get("languages") or []]
    if tgt and len(langs) >= 2 and "multilingual" not in langs and tgt not in langs:
        return f"does not cover '{tgt}'"
    return None


def assess(entry: ModelEntry, task: Task, settings) -> tuple[bool, str | None]:
    """(installed, why it cannot be used) for one model and one task."""
    from core.models import runtimes

    why = runtimes.unavailable(entry.runtime, settings, task.task)
    if why:
        return False, why
    allowed = [x.lower() for x in getattr(settings, "licences_allowed", []) or []]
    parts = [p.strip().lower() for p in (entry.license or "").split(",") if p.strip()]
    if allowed and (not parts or any(p not in allowed for p in parts)):
        return False, f"licence {entry.license or 'unknown'} is not in your allowed list"
    mismatch = _language_mismatch(entry, task)
    if mismatch:
        return False, mismatch
    if entry.runtime == "llm":
        missing = _controller_missing(settings)
        return missing is None, missing
    if (entry.options or {}).get("uses_controller"):  # a local model + the controller
        missing = _controller_missing(settings)
        if missing:
            return False, missing
    budget, budget_why = _budget(float(getattr(settings, "memory_budget_gb", 0) or 0),
                                 "cuda" if getattr(settings, "device", "auto") == "cuda" else "cpu")
    if entry.size_bytes and entry.size_bytes * LOAD_FACTOR > budget:
        return False, (f"needs about {entry.size_bytes * LOAD_FACTOR / 2**30:.1f} GiB, over the memory budget "
                       f"({budget / 2**30:.1f} GiB, {budget_why})")
    installed = catalog.is_installed(entry)
    if installed:
        return True, None
    opts = entry.options or {}
    if opts.get("python_package"):
        return False, f"not installed (pip install {opts.get('pip') or opts['python_package']})"
    if opts.get("command"):
        return False, f"not installed (needs the OS package {opts.get('apt') or opts['command']})"
    if _offline(settings):
        return False, "not in the models cache (offline)"
    return False, None  # allowed, but must be downloaded first


def _pinned_entry(model_id: str, task: str) -> ModelEntry:
    entry = catalog.get(model_id, task)
    if entry is not None:
        return entry
    known = catalog.get(model_id)
    if known is not None:  # the same model listed for another task: keep its facts, use it here
        return replace(known, task=task, default=False)
    return ModelEntry(model_id, task, "transformers", options={"source": "pinned"})


def candidates(task: Task, settings=None) -> tuple[list[_Candidate], dict[str, str]]:
    """Usable models for the task, ranked, and the rejected ones with their reasons."""
    settings = _settings(settings)
    usable: list[_Candidate] = []
    rejected: dict[str, str] = {}
    for entry in catalog.models_for_task(task.task):
        entry = _as_configured_controller(entry, settings)
        installed, why = assess(entry, task, settings)
        if why:
            rejected.setdefault(entry.id, why)
        else:
            usable.append(_Candidate(entry, installed))
    usable.sort(key=lambda c: (not c.installed, not c.entry.default, -c.entry.downloads, -c.entry.likes))
    return usable, rejected


# -- the choice ------------------------------------------------------------------------------------

def _describe(c: _Candidate) -> str:
    e = c.entry
    size = f"{e.size_bytes / 1e6:.0f} MB" if e.size_bytes else "size unknown"
    bits = [e.runtime, size, f"{e.downloads:,} downloads", f"licence {e.license or '?'}"]
    langs = (e.options or {}).get("languages")
    if langs:
        bits.append("languages " + ",".join(map(str, langs[:6])))
    if e.runtime == "llm":
        bits.append("the general-purpose controller LLM")
    if e.default:
        bits.append("Maestro's default")
    return f"- {e.id}: " + "; ".join(bits)


def _ask_controller(controller, task: Task, request: str, pool: list[_Candidate]) -> tuple[str, str]:
    prompt = prompts.render(
        "select_model.txt", request=request[:1500], task=task.task, task_id=task.id,
        args=json.dumps(task.args, ensure_ascii=False)[:400], candidates="\n".join(_describe(c) for c in pool))
    ids = [c.entry.id for c in pool]
    schema = {"type": "object", "properties": {"id": {"type": "string", "enum": ids},
                                               "reason": {"type": "string", "maxLength": 200}},
              "required": ["id", "reason"], "additionalProperties": False}
    answer = controller.complete_json([{"role": "user", "content": prompt}], schema, max_tokens=80)
    chosen, why = str(answer.get("id", "")), str(answer.get("reason", "")).strip()
    if chosen not in ids:
        raise ValueError(f"the controller chose '{chosen}', not a candidate")
    return chosen, why


def _rank_reason(c: _Candidate, n: int) -> str:
    return _base_reason(c, n) + _limits(c.entry)


def _base_reason(c: _Candidate, n: int) -> str:
    size = f", {c.entry.size_bytes / 1e6:,.0f} MB" if c.entry.size_bytes else ""
    where = "installed" if c.installed else \
        f"to be downloaded{size}: `python main.py models get {c.entry.id}`"
    if n == 1:
        return f"the only usable model for this task ({where})"
    if c.entry.default:
        return f"Maestro's default for this task ({where}); ranked first of {n}"
    if c.entry.runtime == "llm":
        return f"the controller LLM does this task itself ({where}); ranked first of {n}"
    return f"most downloaded of {n} usable models ({where})"


def _limits(entry: ModelEntry) -> str:
    """What a narrow model cannot do, said with the choice (a face detector asked for cars)."""
    opts = entry.options or {}
    if opts.get("classes"):
        return f"; it knows only these classes: {', '.join(map(str, opts['classes']))}"
    return f"; {opts['limits']}" if opts.get("limits") else ""


def select(task: Task, request: str, *, controller=None, settings=None) -> Selection:
    """Choose the model for one task. Raises NoModelError when nothing can run it here."""
    start = time.monotonic()
    settings = _settings(settings)
    name = canonical_task(task.task)
    if name != task.task:
        task = replace(task, task=name)
    if name not in TASKS:
        raise NoModelError(f"'{task.task}' is not a task Maestro knows")

    pinned_note = ""
    pinned_id = (getattr(settings, "pinned_models", {}) or {}).get(name)
    if pinned_id:
        entry = _pinned_entry(pinned_id, name)
        installed, why = assess(entry, task, settings)
        if why is None:
            return Selection(entry, "pinned by you for this task" + ("" if installed else " (to be downloaded)"),
                             [entry.id], needs_download=not installed, seconds=time.monotonic() - start)
        pinned_note = f"your pinned {pinned_id} cannot run ({why}); "

    usable, rejected = candidates(task, settings)
    if not usable:
        raise NoModelError(_offline_reason(name, rejected, pinned_note) or
                           _no_model_reason(name, rejected, pinned_note))
    installed = [c for c in usable if c.installed]
    pool = (installed or usable)[:TOP_K]  # never make the user wait for a download when a model is here
    ids = [c.entry.id for c in pool]
    best = pool[0]
    reason = pinned_note + _rank_reason(best, len(pool))
    by_llm = False
    if len(pool) > 1 and controller is not None:
        try:
            chosen, why = _ask_controller(controller, task, request, pool)
            best = next(c for c in pool if c.entry.id == chosen)
            reason = pinned_note + f"chosen by the controller among {len(pool)}: {why or 'no reason given'}"
            by_llm = True
        except Exception as e:  # noqa: BLE001 - a failed choice falls back to the ranking, and says so
            reason += f"; the controller's choice failed ({type(e).__name__}: {str(e)[:120]})"
    return Selection(best.entry, reason, ids, needs_download=not best.installed, by_llm=by_llm,
                     seconds=time.monotonic() - start, rejected=rejected)


def _offline_reason(task: str, rejected: dict[str, str], prefix: str = "") -> str | None:
    """When the only thing missing is a download that offline mode forbids: name the model the
    task needs, its size and the command that fetches it (the task fails; its siblings run)."""
    offline = [mid for mid, why in rejected.items() if why.endswith("(offline)")]
    if not offline:
        return None
    default = catalog.default_model(task)
    mid = default.id if default is not None and default.id in offline else offline[0]
    entry = catalog.get(mid, task)
    size = f", {entry.size_bytes / 1e6:,.0f} MB" if entry is not None and entry.size_bytes else ""
    return (prefix + f"needs {mid}{size}, not installed (offline); "
            f"`python main.py models get {mid}` fetches it when online")


def _no_model_reason(task: str, rejected: dict[str, str], prefix: str = "") -> str:
    if not rejected:
        return prefix + f"no model in the catalog does {task}"
    counts: dict[str, int] = {}
    for why in rejected.values():
        counts[why] = counts.get(why, 0) + 1
    top = sorted(counts.items(), key=lambda kv: -kv[1])[:3]
    detail = "; ".join(f"{n} model(s): {why}" if n > 1 else why for why, n in top)
    return prefix + f"no usable model for {task}: {detail}"


# -- what can run --------------------------------------------------------------------------------

def task_status(name: str, settings=None) -> dict[str, Any]:
    """For `tasks --json`: runnable (an installed model and its runtime), the default, why not."""
    settings = _settings(settings)
    task = Task(0, name, [], {})
    usable, rejected = candidates(task, settings)
    installed = [c for c in usable if c.installed]
    default = catalog.default_model(name)
    pinned = (getattr(settings, "pinned_models", {}) or {}).get(name)
    chosen = installed[0].entry.id if installed else None
    why_not = None
    if not installed:
        if usable:
            why_not = f"no model installed; `python main.py models get {usable[0].entry.id}` would fetch one"
        else:
            why_not = _no_model_reason(name, rejected)
    return {"task": name, "description": TASKS[name].description if name in TASKS else "",
            "runnable": bool(installed), "default_model": default.id if default else None,
            "would_select": pinned or chosen, "installed_models": sorted({c.entry.id for c in installed}),
            "downloadable_models": len([c for c in usable if not c.installed]), "why_not": why_not}


def runnable_tasks(settings=None) -> set[str]:
    """Task types with an installed model whose runtime works here (what the planner may use)."""
    settings = _settings(settings)
    out = set()
    for name in TASKS:
        task = Task(0, name, [], {})
        for entry in catalog.models_for_task(name):
            installed, why = assess(_as_configured_controller(entry, settings), task, settings)
            if installed and why is None:
                out.add(name)
                break
    return out
