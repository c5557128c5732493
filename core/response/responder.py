"""Stage 4: the answer, written by the controller from the structured results and streamed.

Results are passed as data inside <results> tags, and the prompt says never to follow text
found there. Evidence is graded first (core.response.evidence): a low-scored output reaches the controller
as a guess with its percentage, a task whose model is missing as "not run, needs X". If the
controller still states a guess as fact, its text is replaced by a plain one written from the
results. A note names every missing model, and a list of every task (number, model, timing, output,
file names; never temp paths) is appended, so each result is cited even if the LLM leaves it out."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.errors import Cancelled
from core.llm import prompts
from core.llm.controllers import Controller, Message
from core.plan import Plan
from core.response.evidence import (
    FOOTER_RULE,
    NeededModel,
    guess_text,
    guesses,
    missing_for,
    missing_text,
    short_error,
    states_guess_as_fact,
)
from core.results import TaskResult

MAX_RESULT_CHARS = 1500  # keeps the response prompt short on a 2-core CPU


def _clip(text: str, n: int = MAX_RESULT_CHARS) -> str:
    text = text.strip()
    return text if len(text) <= n else text[:n] + " …"


def missing_model(r: TaskResult) -> NeededModel | None:
    """The model a failed task needed and did not have (None for other failures)."""
    return missing_for(r.task, r.status, r.model, r.error)


def results_block(plan: Plan, results: dict[int, TaskResult]) -> str:
    lines = []
    for t in plan.tasks:
        r = results.get(t.id)
        if r is None:
            continue
        head = f"task {t.id} {t.task}"
        if r.model:
            head += f" [model {r.model}]"
        need = missing_model(r)
        if need is not None:
            lines.append(f"{head}: NOT RUN — the model it needs ({need.model}) is not installed; nothing is "
                         "known about what this task would have found")
        elif r.status == "done" and r.output:
            unsure = guesses(r.output.data)
            if unsure:
                lines.append(f"{head}: UNSURE (low confidence) — {guess_text(unsure)}. Report it only as a "
                             "guess, with its percentage")
            else:
                lines.append(f"{head}: {_clip(r.output.text)}")
            for f in r.output.files:
                lines.append(f"  file ({f.modality}): {Path(f.path).name}")
        else:
            lines.append(f"{head}: {r.status.upper()} — {r.error or 'no reason given'}")
    return "\n".join(lines)


def _short_model(model: str | None) -> str:
    return (model or "").split("/")[-1]


def sources_footer(plan: Plan, results: dict[int, TaskResult]) -> str:
    """The deterministic citation list appended to every answer that ran tasks."""
    lines = [FOOTER_RULE]
    for t in plan.tasks:
        r = results.get(t.id)
        if r is None:
            continue
        facts = ", ".join(x for x in (_short_model(r.model),
                                      f"{r.duration_s:.1f} s" if r.duration_s is not None else "") if x)
        head = f"- #{t.id} {t.task}" + (f" ({facts})" if facts else "")
        need = missing_model(r)
        if need is not None:
            lines.append(f"{head}: not run — needs {need.model} ({need.size_text()}), not installed")
        elif r.status == "done" and r.output:
            unsure = guesses(r.output.data)
            shown = f"unsure — {guess_text(unsure)}" if unsure else _clip(r.output.text, 200)
            names = ", ".join(Path(f.path).name for f in r.output.files)
            lines.append(f"{head}: " + " · ".join(x for x in (shown, names) if x))
        else:
            lines.append(f"{head}: {r.status} — {r.error or ''}".rstrip(" —"))
    return "\n".join(lines)


def plain_answer(plan: Plan, results: dict[int, TaskResult]) -> str:
    """The answer written from the results alone (no LLM): used when the controller's text states a
    guess as fact, or when there is no controller."""
    sentences = []
    for t in plan.tasks:
        r = results.get(t.id)
        if r is None or missing_model(r) is not None:
            continue  # said in the notes
        if r.status == "done" and r.output:
            unsure = guesses(r.output.data)
            if unsure:
                sentences.append(f"Task #{t.id} ({t.task}) is not sure: {guess_text(unsure)}.")
            elif r.output.text.strip():
                sentences.append(f"Task #{t.id} ({t.task}): {_clip(r.output.text, 300)}")
        else:
            why = short_error(r.status, r.error)
            sentences.append(f"Task #{t.id} ({t.task}) {r.status}: {why.removeprefix(r.status + ' ')}.")
    return "\n".join(sentences)


def missing_notes(plan: Plan, results: dict[int, TaskResult]) -> str:
    notes = []
    for t in plan.tasks:
        r = results.get(t.id)
        need = missing_model(r) if r is not None else None
        if need is not None:
            text = missing_text(t.id, need)
            notes.append(f"Note: {text[0].upper()}{text[1:]}")
    return "\n\n".join(notes)


class Responder:
    def __init__(self, controller: Controller | None, max_tokens: int = 256):
        self.controller = controller
        self.max_tokens = max_tokens

    def messages(self, request: str, plan: Plan, results: dict[int, TaskResult],
                 history: list[dict[str, Any]]) -> list[Message]:
        if not plan.tasks:
            msgs: list[Message] = [{"role": "system", "content": prompts.load("chat_system.txt").strip()}]
            for turn in history[-3:]:
                msgs.append({"role": "user", "content": str(turn.get("request", ""))})
                msgs.append({"role": "assistant", "content": str(turn.get("answer", ""))[:800]})
            msgs.append({"role": "user", "content": request})
            return msgs
        content = (f"User request: {request}\n\n<results>\n{results_block(plan, results)}\n</results>")
        return [{"role": "system", "content": prompts.load("respond_system.txt").strip()},
                {"role": "user", "content": content}]

    def respond(self, request: str, plan: Plan, results: dict[int, TaskResult],
                history: list[dict[str, Any]] | tuple = (), on_token: Callable[[str], None] | None = None,
                cancel: threading.Event | None = None) -> tuple[str, float]:
        """(answer, llm seconds). Streams tokens through `on_token`."""
        emit = on_token or (lambda _t: None)
        body = ""
        seconds = 0.0
        unsure = [g for r in results.values() if r.status == "done" and r.output
                  for g in [guesses(r.output.data)] if g]
        # With a guess among the results the draft is checked before anyone sees it: a 1.5B controller
        # told "UNSURE ... 16 %" still wrote "The picture shows a football helmet." (tests/test_responder_evidence.py).
        held: list[str] = []
        if self.controller is not None:
            if unsure:
                emit("")  # an empty token: the window shows the answer being written while it is held back
            try:
                c = self.controller.chat(self.messages(request, plan, results, list(history)),
                                         max_tokens=self.max_tokens, temperature=0.2,
                                         cancel=cancel, on_token=held.append if unsure else emit)
                body, seconds = c.text.strip(), c.seconds
            except Cancelled:
                raise
            except Exception as e:  # noqa: BLE001 - the results still reach the user
                body = f"(The controller could not write the answer: {e})"
                emit(body)
        elif not plan.tasks:
            body = "No controller model is loaded, so I cannot chat; attach files and ask for a task."
            emit(body)
        if not plan.tasks:
            return body, seconds
        if any(states_guess_as_fact(body, g) for g in unsure) or (not body and self.controller is None):
            # The controller turned a guess into a fact: say plainly what the results say instead.
            body = plain_answer(plan, results)
            emit(body)
        elif held:
            emit(body)
        # A blank line before the rule: "text\n---" would make the text a Markdown heading.
        extra = "\n\n".join(x for x in (missing_notes(plan, results), sources_footer(plan, results).lstrip("\n")) if x)
        emit("\n\n" + extra if body else extra)
        body = f"{body}\n\n{extra}" if body else extra
        return body, seconds
