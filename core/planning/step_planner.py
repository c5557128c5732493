"""Planner v3: the controller decomposes, a trained retriever grounds, every task type is planned.

1. Decompose: the controller writes short plain-language steps with references to earlier steps
   (core/planning/steps.py, under a GBNF grammar) after a fixed prefix: the instructions, a few
   hand-written demos and a few train demos picked to cover the train requests (its KV state is
   computed once and reused, so a plan evaluates only the request's own tokens). Demos retrieved
   per request (`retrieve`) are an option for A/B runs: on the train hold-out they scored lower and
   cost ~130 prompt tokens each.
2. Ground: each step gets a task type from core/planning/grounder.py (a linear head on MiniLM
   vectors, trained on TaskBench's labelled train steps), under the modality constraints.
3. Dependencies are the step references; arguments come from the references, the files and the
   request (quoted text, questions, target languages).
A step nothing in Maestro can do (make a video) is left out and named in `PlanOutcome.notes`.
Whether a task's model is installed is not the planner's question: the selector answers it.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from pathlib import Path
from typing import Any

from core.config.paths import DATA_DIR, PROMPTS_DIR
from core.errors import PlanError
from core.llm import prompts
from core.llm.controllers import Controller, Message
from core.plan import Plan, Task, validate_plan
from core.planning import steps as planner_steps
from core.planning.demo_bank import DemoRetriever, load_demos
from core.planning.grounder import Grounded, Step, StepGrounder, label_inputs, label_task
from core.planning.request import (
    PlanOutcome,
    gbnf_capable,
    history_context,
    kv_cache_dir,
    media_files,
    modality_of_file,
    user_message,
    without_file_names,
)
from core.tasks import TASKS

STEP_BANK = PROMPTS_DIR / "demos_steps.jsonl"
CORE_DEMOS = PROMPTS_DIR / "demos_steps_core.jsonl"
# Train demos with short steps that best cover the train requests (benchmarks/build_step_planner.py
# picks them): a fixed prefix the KV cache keeps, and short steps the controller imitates.
FIXED_DEMOS = PROMPTS_DIR / "demos_steps_fixed.jsonl"
BANK_VECTORS = DATA_DIR / "demo_vectors.npz"  # built with the bank
# Hand-written plain requests (not TaskBench's wording), shown to every request so that a short
# request a person types has demos like it; those with a `context` are the follow-up demos.
PLAIN_DEMOS = PROMPTS_DIR / "demos_steps_plain.jsonl"
RETRIEVED = 0  # demos retrieved per first request (dev 40: 3 retrieved 73.6/41.2 n-/e-F1, 6.8 s a plan;
# the fixed prefix alone 75.0/49.1, 2.5 s)
FOLLOW_UPS = 2  # follow-up demos shown to a request with earlier turns (TaskBench's bank has none)
MIN_DEMO_SIMILARITY = 0.5  # below it a TaskBench demo misleads a plain request ("Draw a lighthouse")
TRANSCRIBE_FIRST = True  # a text step on a recording gets a transcription first (_transcribe_first)
DROP_REPEATS = True  # leave out a step grounded to the same task as the step it works on

# a quote opens after a non-word character and closes before one ("I'd like 'Hello'" quotes Hello)
_QUOTED = re.compile(r"(?<!\w)'([^\n]{2,}?)'(?!\w)|\"([^\"\n]{2,})\"|“([^”\n]{2,})”")
_QUESTION = re.compile(r"[^.!?:'\"]*\?")
_LANG = re.compile(r"\b(?:in|into|to)\s+(english|french|spanish|german|italian|portuguese|dutch|russian|"
                   r"chinese|japanese|korean|arabic|hindi|turkish|polish|swedish|greek|catalan)\b", re.IGNORECASE)
LANG_CODES = {"english": "en", "french": "fr", "spanish": "es", "german": "de", "italian": "it",
              "portuguese": "pt", "dutch": "nl", "russian": "ru", "chinese": "zh", "japanese": "ja",
              "korean": "ko", "arabic": "ar", "hindi": "hi", "turkish": "tr", "polish": "pl",
              "swedish": "sv", "greek": "el", "catalan": "ca"}


def quoted_texts(text: str) -> list[str]:
    """Quoted spans of a request that are not file names, in order."""
    out = []
    for m in _QUOTED.finditer(text):
        value = next(g for g in m.groups() if g)
        if modality_of_file(value.strip()) is None and not re.fullmatch(r"[\w\-]+\.\w{2,4}", value.strip()):
            out.append(value.strip())
    return out


def last_result_text(history: list[dict[str, Any]]) -> str:
    for turn in reversed(history):
        for r in reversed(turn.get("results") or []):
            text = str((r.get("output") or {}).get("text") or "")
            if r.get("status") == "done" and text:
                return text
        if turn.get("answer"):
            return str(turn["answer"])
    return ""


class ArgFiller:
    """Literal arguments for one request: each quote is used once, in order of need."""

    def __init__(self, request: str, files: dict[str, list[str]], history: list[dict[str, Any]]):
        self.request = request
        self.files = files
        self.quotes = quoted_texts(request)
        self.used_quotes: set[str] = set()
        self.used_files: dict[str, int] = {}
        self.follow_up = last_result_text(history) if history else ""

    def _quote(self, step: str, question: bool = False) -> str | None:
        for q in [*quoted_texts(step), *self.quotes]:
            if q in self.used_quotes or question != q.rstrip().endswith("?"):
                continue
            self.used_quotes.add(q)
            return q
        return None

    def named(self, modality: str, step: str) -> list[str]:
        """The files of this modality the step names, in order of mention."""
        have = self.files.get(modality) or []
        return sorted((f for f in have if f in step), key=step.index)

    def file(self, modality: str, step: str) -> str | None:
        have = self.files.get(modality) or []
        named = self.named(modality, step)
        if named:
            return named[0]
        if not have:
            return None
        k = self.used_files.get(modality, 0)
        self.used_files[modality] = k + 1
        return have[min(k, len(have) - 1)]

    def text(self, name: str, step: str) -> str:
        if name == "question":
            q = self._quote(step, question=True)
            if q:
                return q
            asked = _QUESTION.findall(self.request)
            return asked[0].strip() if asked else step
        if name in ("src_lang", "tgt_lang"):
            m = _LANG.search(step) or _LANG.search(self.request)
            return LANG_CODES[m.group(1).lower()] if m and name == "tgt_lang" else ""
        q = self._quote(step)
        if q:
            return q
        if self.follow_up:
            return self.follow_up
        return self.request


def retrieval_bank(bank_file: Path | None = None, plain_file: Path | None = None) -> list[dict[str, Any]]:
    """The demos retrieved for a first request: TaskBench's train bank and the plain ones."""
    plain = [d for d in load_demos(plain_file or PLAIN_DEMOS) if not d.get("context")]
    return [*load_demos(bank_file or STEP_BANK), *plain]


def build_plan(steps: list[Step], grounded: list[Grounded], filler: ArgFiller,
               drop_repeats: bool = False) -> tuple[Plan, list[str]]:
    """Steps + their labels -> a Plan (ids 1..n, steps no task can do left out) and notes."""
    notes: list[str] = []
    stands_for: dict[int, list[int]] = {}  # step number -> the task ids its output comes from
    tasks: list[Task] = []
    outputs: dict[int, tuple[str, ...]] = {}
    for k, (step, g) in enumerate(zip(steps, grounded, strict=True), 1):
        refs = list(dict.fromkeys(t for r in step.refs for t in stands_for.get(r, [])))
        name = label_task(g.label)
        if drop_repeats and name is not None and any(
                1 <= r < k and grounded[r - 1].label == g.label for r in step.refs):
            notes.append(f"step {k} ({step.text}) redoes step {step.refs[0]}; merged into it")
            stands_for[k] = refs
            continue
        if name is None:  # a left-out step: later references go to what it worked on
            notes.append(f"step {k} ({step.text}) needs {g.label}, which Maestro cannot do; left out")
            stands_for[k] = refs
            continue
        spec = TASKS[name]
        args: dict[str, Any] = {}
        free = list(dict.fromkeys(refs))
        each: tuple[str, list[str]] | None = None  # a step that names several files: one task per file
        for a in spec.inputs:
            src = next((r for r in free if a.modality in outputs[r]), None)
            if src is not None:
                args[a.name] = f"<resource>-{src}"
                free.remove(src)
            elif a.modality != "text":
                f = filler.file(a.modality, step.text)
                earlier = [t for t in reversed(tasks) if a.modality in outputs[t.id]]
                if f is not None:
                    args[a.name] = f
                    named = filler.named(a.modality, step.text)
                    if each is None and len(named) > 1:
                        each = (a.name, named)
                elif earlier:  # no reference written and no file: the latest output of that kind
                    args[a.name] = f"<resource>-{earlier[0].id}"
            elif a.name == "text" and name == "image-to-image":
                if g.label == "image-editing":
                    args["text"] = step.text
            elif a.required or a.name == "tgt_lang":
                value = filler.text(a.name, step.text)
                if value:
                    args[a.name] = value
        missing = [a.name for a in spec.inputs if a.required and a.name not in args]
        if missing:  # nothing can feed it: leaving it out beats a plan that cannot run
            notes.append(f"step {k} ({step.text}) has no {', '.join(missing)} to work on; left out")
            stands_for[k] = refs
            continue
        dep = sorted({int(v.rsplit("-", 1)[1]) for v in args.values()
                      if isinstance(v, str) and v.startswith("<resource>-")} | set(refs))
        stands_for[k] = []
        for f in each[1] if each else [None]:
            tid = len(tasks) + 1
            tasks.append(Task(tid, name, dep, {**args, each[0]: f} if each else args))
            stands_for[k].append(tid)
            outputs[tid] = spec.outputs
    return Plan(tasks), notes


class StepPlanner:
    """plan, warm, prefix, known_tasks, retriever: what the engine and the benchmarks use."""

    fmt = "steps"

    def __init__(self, controller: Controller, *, known_tasks: set[str] | None = None,
                 bank_file: Path | None = None, demos_file: Path | None = None,
                 retrieve: int = RETRIEVED, max_tokens: int = 200, grounder: StepGrounder | None = None):
        self.controller = controller
        self.known_tasks = set(known_tasks) if known_tasks is not None else set(TASKS)
        self.retrieve = retrieve
        self.max_tokens = max_tokens
        allowed = {lab for lab in _all_labels() if (label_task(lab) or "") in self.known_tasks}
        self.grounder = grounder or StepGrounder(allowed=allowed)
        if self.grounder.allowed is None:
            self.grounder.allowed = allowed
        abilities = "; ".join(TASKS[n].description for n in TASKS if n in self.known_tasks)
        self.system = prompts.render("plan_steps_system.txt", abilities=abilities)
        # The fixed prefix's demos: hand-written core ones, the picked train ones, the plain ones
        # (short requests as people type them; their follow-up demos are retrieved for follow-ups).
        plain = [d for d in load_demos(PLAIN_DEMOS) if not d.get("context")]
        self.demos = [*load_demos(demos_file or CORE_DEMOS), *load_demos(FIXED_DEMOS), *plain]
        self._bank_file = bank_file
        follow_ups = [d for d in load_demos(PLAIN_DEMOS) if d.get("context")]
        self.follow_ups = DemoRetriever(follow_ups, cache_dir=kv_cache_dir())
        self.grammar = planner_steps.grammar()
        self.use_grammar = gbnf_capable(controller)
        self.drop_repeats = DROP_REPEATS
        self.transcribe_first = TRANSCRIBE_FIRST

    @functools.cached_property
    def retriever(self) -> DemoRetriever:
        """The train bank for per-request demos (A/B runs: `retrieve` > 0); read on first use."""
        return DemoRetriever(retrieval_bank(self._bank_file), cache_dir=kv_cache_dir(), shipped=BANK_VECTORS)

    # -- prompt ---------------------------------------------------------------------------------
    def _demo_turns(self, demos: list[dict[str, Any]]) -> list[Message]:
        msgs: list[Message] = []
        for d in demos:
            steps = d["steps"]
            msgs.append({"role": "user", "content": user_message(d["request"], d.get("files", []),
                                                                  d.get("context", ""))})
            msgs.append({"role": "assistant", "content": planner_steps.render_steps(steps)})
        return msgs

    def prefix(self) -> list[Message]:
        return [{"role": "system", "content": self.system}, *self._demo_turns(self.demos)]

    def messages(self, request: str, files: list[str], context: str,
                 retrieved: list[dict[str, Any]]) -> list[Message]:
        return [*self.prefix(), *self._demo_turns(retrieved),
                {"role": "user", "content": user_message(request, files, context)}]

    def warm(self) -> None:
        """Load the encoder and the head, and make the prefix's KV state (read from disk in ~0.1 s,
        or computed once: 18.6 s on 2 cores) before the first request waits for it."""
        if self.retrieve > 0:
            self.retriever.warm()
        self.follow_ups.warm()
        self.grounder.warm()
        self.controller.prime(self.prefix())

    # -- planning -------------------------------------------------------------------------------
    def decompose(self, request: str, files: list[str], context: str, outcome: PlanOutcome,
                  cancel: threading.Event | None) -> list[Step]:
        if context:  # a follow-up: demos that resolve "it" / "that" to the earlier result
            retrieved = self.follow_ups.top(request, FOLLOW_UPS)
        elif self.retrieve > 0:
            retrieved = self.retriever.top(request, self.retrieve, MIN_DEMO_SIMILARITY)
        else:
            retrieved = []
        outcome.demos = [d["request"] for d in [*self.demos, *retrieved]]
        msgs = self.messages(request, files, context, retrieved)
        self.controller.prime(self.prefix())
        extra: dict[str, Any] = {"grammar": self.grammar} if self.use_grammar else {}
        completion = self.controller.chat(msgs, max_tokens=self.max_tokens, temperature=0.0,
                                          cancel=cancel, **extra)
        outcome.prompt_tokens += completion.prompt_tokens
        outcome.completion_tokens += completion.completion_tokens
        outcome.llm_s += completion.seconds
        decoded = getattr(self.controller, "last_decode", None)
        outcome.prompt_evaluated += int(getattr(decoded, "prompt_evaluated", 0) or 0)
        outcome.raw = completion.text
        return planner_steps.parse(completion.text)

    def _transcribe_first(self, steps: list[Step], probs: Any) -> tuple[list[Step], Any]:
        """A step that names a recording but asks for a text task ("Summarize the podcast 'ep.mp3'")
        works on what is said: a transcription step goes before it. `probs`: the steps' head scores
        (rows for the inserted steps are added)."""
        import numpy as np

        labels = self.grounder.labels
        recordings = {k: media_files([], s.text).get("audio") for k, s in enumerate(steps) if not s.refs}
        insert = {k: audio[0] for k, audio in recordings.items() if audio
                  and label_inputs(labels[int(probs[k].argmax())]) == ("text",)
                  and labels[int(probs[k].argmax())] != "text-to-speech"}
        if not insert:
            return steps, probs
        added = {k: Step(f"Transcribe the recording '{audio}'", []) for k, audio in insert.items()}
        added_probs = dict(zip(added, self.grounder.scores([without_file_names(s.text) for s in added.values()]),
                               strict=True))
        out: list[Step] = []
        rows: list[Any] = []
        new_no: dict[int, int] = {}
        for k, s in enumerate(steps):
            refs = [new_no[r] for r in s.refs if r in new_no]
            if k in added:
                out.append(added[k])
                rows.append(added_probs[k])
                refs = [len(out)]
            out.append(Step(s.text, refs))
            rows.append(probs[k])
            new_no[k + 1] = len(out)
        return out, np.stack(rows)

    def plan(self, request: str, files: list[str] | tuple[str, ...] = (),
             history: list[dict[str, Any]] | tuple = (), cancel: threading.Event | None = None) -> PlanOutcome:
        t0 = time.monotonic()
        names = [Path(f).name for f in files]
        history = list(history)
        context = history_context(history)
        outcome = PlanOutcome(Plan())
        steps = self.decompose(request, names, context, outcome, cancel)
        media = media_files(names, request, context)
        probs = self.grounder.scores([without_file_names(s.text) for s in steps]) if steps else None
        if self.transcribe_first and steps:
            steps, probs = self._transcribe_first(steps, probs)
        grounded = self.grounder.ground(steps, {m for m, fs in media.items() if fs}, probs)
        plan, notes = build_plan(steps, grounded, ArgFiller(request, media, history), self.drop_repeats)
        outcome.steps = [{"text": s.text, "refs": s.refs, "label": g.label, "score": round(g.score, 3)}
                         for s, g in zip(steps, grounded, strict=True)]
        outcome.notes = notes
        if not steps and not planner_steps.is_none(outcome.raw):
            # neither steps nor "none" (an endpoint without the grammar chatting): never read as chit-chat
            outcome.error = ("the planner could not make a valid plan: the controller wrote no steps: "
                             + " ".join(outcome.raw.split())[:120])
            outcome.seconds = time.monotonic() - t0
            return outcome
        try:
            validate_plan(plan, self.known_tasks)
            outcome.plan = plan
        except PlanError as e:
            outcome.error = f"the planner could not make a valid plan: {e}"
        outcome.seconds = time.monotonic() - t0
        return outcome


def _all_labels() -> list[str]:
    return [*TASKS, "image-editing"]
