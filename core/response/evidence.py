"""How much a result can be trusted, told the same way to the controller, the answer and the window.

- A *guess*: a scored output whose best score is low (an ImageNet classifier at 0.16 on a photo it
  has no class for). It is reported as "possibly a football helmet (16 %)", never as a fact.
- A *missing model*: a task that could not run because the model it needs is not installed; the
  answer names the model, its size and licence, and how to get it, instead of an answer made up
  from what other (weaker) tasks found.

Light on purpose (catalog facts only, no ML imports): the desktop uses it to draw result cards."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

GUESS_BELOW = 0.5  # a best score under this is a guess: the model itself is not sure
FOOTER_RULE = "\n---\nResults:"  # starts the deterministic task list appended to every answer
_OLD_FOOTER = "\n---\nTasks:"  # answers stored before the list was renamed
_HEDGES = re.compile(r"possibl|maybe|might|perhaps|guess|unsure|uncertain|not sure|low confidence|"
                     r"could be|%|likely|seems|appears to", re.I)


@dataclass(frozen=True)
class Scored:
    label: str
    score: float
    noun: bool = True  # a class name ("a football helmet"), not a free answer ("yes")


@dataclass(frozen=True)
class NeededModel:
    """The model a task needs and does not have."""

    task: str
    model: str
    size_bytes: int = 0
    license: str = ""

    def size_text(self) -> str:
        return human_size(self.size_bytes) if self.size_bytes else "size unknown"

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "model": self.model, "size_bytes": self.size_bytes, "license": self.license}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> NeededModel | None:
        if not d or not d.get("model"):
            return None
        return cls(str(d.get("task", "")), str(d["model"]), int(d.get("size_bytes") or 0), str(d.get("license") or ""))


def human_size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit in ("B", "KB", "MB") else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def scored_outputs(data: dict[str, Any] | None) -> list[Scored]:
    """The scored alternatives of an output, best first ([] when it has no scores)."""
    data = data or {}
    for key, field, noun in (("labels", "label", True), ("answers", "answer", False)):
        items = data.get(key)
        if isinstance(items, list) and items and all(isinstance(i, dict) for i in items):
            out = [Scored(str(i.get(field, "")), float(i["score"]), noun) for i in items
                   if isinstance(i.get("score"), (int, float)) and i.get(field)]
            return sorted(out, key=lambda s: -s.score)
    if isinstance(data.get("score"), (int, float)) and isinstance(data.get("answer"), str):
        return [Scored(data["answer"], float(data["score"]), False)]
    return []


def guesses(data: dict[str, Any] | None) -> list[Scored]:
    """The top alternatives when the best one is below GUESS_BELOW, else []."""
    scored = scored_outputs(data)
    if not scored or scored[0].score >= GUESS_BELOW:
        return []
    return scored[:3]


def _article(label: str) -> str:
    return "an" if label[:1].lower() in "aeiou" else "a"


def percent(score: float) -> str:
    return f"{score * 100:.0f} %"


def guess_text(items: list[Scored]) -> str:
    """'possibly a football helmet (16 %); other guesses: bobsled (11 %), go-kart (7 %)'."""
    if not items:
        return ""
    best = items[0]
    name = f"{_article(best.label)} {best.label}" if best.noun else f"“{best.label}”"
    text = f"possibly {name} ({percent(best.score)})"
    rest = ", ".join(f"{s.label} ({percent(s.score)})" for s in items[1:])
    return text + (f"; other guesses: {rest}" if rest else "")


def needed_model(task: str, chosen: str | None = None) -> NeededModel | None:
    """The model to download for a task: the chosen one when it is not installed, else the task's
    default (or its first catalog model) when nothing installed can run it. None when there is no
    downloadable model for the task."""
    try:
        from core.models import catalog
    except Exception:  # noqa: BLE001 - a broken catalog must not break an answer
        return None
    entries = catalog.models_for_task(task)
    if chosen:
        entries = [e for e in entries if e.id == chosen] or entries
    hub_entries = [e for e in entries if catalog.source(e) == "hub" and e.runtime != "llm"
                   and not str(e.id).startswith(("local:", "remote:"))]
    try:
        missing = [e for e in hub_entries if not catalog.is_installed(e)]
    except Exception:  # noqa: BLE001 - the cache may be unreadable; then nothing is offered
        return None
    if not missing:
        return None
    pick = next((e for e in missing if e.default), missing[0])
    return NeededModel(task, pick.id, int(pick.size_bytes or 0), str(pick.license or ""))


_MISSING_WORDS = ("not installed", "could not download", "to be downloaded", "needs ", "no model")


def _named_model(task: str, error: str) -> str | None:
    """The catalog model a selector message names ("needs org/name, 990 MB, not installed")."""
    try:
        from core.models import catalog

        return next((e.id for e in catalog.models_for_task(task) if e.id in error), None)
    except Exception:  # noqa: BLE001 - the catalog is optional here
        return None


def missing_for(task: str, status: str, model: str | None, error: str | None) -> NeededModel | None:
    """The model a failed task needed and did not have (None for other failures)."""
    if status != "failed":
        return None
    err = (error or "").lower()
    if not any(k in err for k in _MISSING_WORDS):
        return None  # failed for another reason (a bad input, a crash): a download would not help
    return needed_model(task, model or _named_model(task, error or ""))


def missing_text(tid: int, need: NeededModel) -> str:
    licence = f", licence {need.license}" if need.license else ""
    return (f"task #{tid} ({need.task}) did not run: it needs {need.model} ({need.size_text()}{licence}), which "
            f"is not installed. Download it with the button on the task's node or in Tools → Models "
            f"(`python main.py models get {need.model}`), then run the task again.")


def states_guess_as_fact(text: str, items: list[Scored]) -> bool:
    """True when a sentence of `text` names the best guess without any hedge or percentage."""
    if not items:
        return False
    label = items[0].label.lower()
    for sentence in re.split(r"(?<=[.!?])\s+|\n", text):
        if label in sentence.lower() and not _HEDGES.search(sentence):
            return True
    return False


def split_footer(answer: str) -> tuple[str, str]:
    """(the written answer, the deterministic task list) of an answer text."""
    for marker in (FOOTER_RULE, _OLD_FOOTER):
        i = answer.rfind(marker)
        if i >= 0:
            return answer[:i].rstrip(), answer[i:].lstrip("\n")
    if answer.startswith(FOOTER_RULE.lstrip("\n")) or answer.startswith(_OLD_FOOTER.lstrip("\n")):
        return "", answer
    return answer, ""


def short_error(status: str, error: str | None) -> str:
    """A task's failure in one short clause: 'skipped because task 2 (x) failed' drops the dependency's
    own (long) reason, which its own card and note already give."""
    text = (error or "").strip() or "no reason given"
    if status == "skipped" and " failed:" in text:
        text = text.split(" failed:", 1)[0] + " failed"
    return text
