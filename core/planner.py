"""Stage 1: turn a request (+ files, + earlier turns) into a validated Plan.

A local llama.cpp controller writes the compact line format of core/planner_lines.py under a
GBNF grammar (known tasks only, each with exactly its args, refs only to earlier tasks): about a
third of the tokens of JSON. Other controllers (OpenAI-compatible endpoints) get the JSON
format under a JSON-schema constraint. The fixed part of the prompt (instructions, task list,
core demos) comes first and its KV state is restored by `controller.prime`; then come the few
demos most similar to the request (retrieved from prompts/demos_taskbench.jsonl, built from
TaskBench's train split), then the request.
"""

from __future__ import annotations

import json
import re
import string
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import planner_lines
from core.demo_bank import DemoRetriever
from core.demo_bank import load_demos as load_demos  # re-exported: older callers import it here
from core.llm import Controller, Message
from core.paths import PROMPTS_DIR
from core.plan import Plan, PlanError, Task, parse_plan, validate_plan
from core.tasks import TASKS

DEMO_BANK = PROMPTS_DIR / "demos_taskbench.jsonl"
RETRIEVED_DEMOS = 2  # per request; each costs ~70 prompt tokens
# Below this MiniLM cosine a demo is about something else and misleads more than it helps
# ("read receipt.png aloud" got audio demos at 0.36-0.40 and lost its TTS step); 90 % of
# TaskBench eval requests have two train demos above it.
MIN_DEMO_SIMILARITY = 0.45


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


def render_prompt(name: str, **values: str) -> str:
    """A prompt file from prompts/ with $placeholders filled; a missing value is an error."""
    text = (PROMPTS_DIR / name).read_text(encoding="utf-8")
    return string.Template(text).substitute(values)


def task_signature(name: str) -> str:
    spec = TASKS[name]
    args = ", ".join(f"{a.name}: {a.modality}" + ("" if a.required else "?") for a in spec.inputs)
    return f"{name}({args}) -> {spec.output}: {spec.description}"


def plan_schema(task_names: list[str]) -> dict[str, Any]:
    """Schema whose grammar only admits known tasks with exactly their arg names."""
    variants = []
    for name in sorted(task_names):
        spec = TASKS[name]
        variants.append({
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "task": {"const": name},
                "dep": {"type": "array", "items": {"type": "integer"}},
                "args": {
                    "type": "object",
                    "properties": {a.name: {"type": "string"} for a in spec.inputs},
                    "required": [a.name for a in spec.inputs if a.required],
                    "additionalProperties": False,
                },
            },
            "required": ["id", "task", "dep", "args"],
            "additionalProperties": False,
        })
    return {
        "type": "object",
        "properties": {"tasks": {"type": "array", "items": {"anyOf": variants}, "maxItems": 8}},
        "required": ["tasks"],
        "additionalProperties": False,
    }


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


def link_dependencies(plan: Plan) -> Plan:
    """Add every task referenced by `<resource>-N` to `dep` (a purely mechanical fix)."""
    for t in plan.tasks:
        t.dep = sorted(set(t.dep) | {r for r in t.references() if r != t.id})
    return plan


_MEDIA_EXT = {
    "image": (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tiff", ".webp"),
    "audio": (".wav", ".mp3", ".flac", ".ogg", ".m4a", ".aac"),
    "video": (".mp4", ".mov", ".avi", ".mkv", ".webm"),
}


_FILE_MENTION = re.compile(r"[\w\-./]+\.(?:" + "|".join(
    e[1:] for exts in _MEDIA_EXT.values() for e in exts) + r")\b", re.IGNORECASE)


def _modality_of_file(name: str) -> str | None:
    low = name.lower()
    return next((m for m, exts in _MEDIA_EXT.items() if low.endswith(exts)), None)


def media_files(files: list[str], *texts: str) -> dict[str, list[str]]:
    """Attached files plus file names the request or the context mention, by modality."""
    out: dict[str, list[str]] = {}
    names = [*files, *(m.group(0) for t in texts for m in _FILE_MENTION.finditer(t))]
    for name in dict.fromkeys(names):
        mod = _modality_of_file(name)
        if mod and '"' not in name:
            out.setdefault(mod, []).append(name)
    return out


def alias_files(files: list[str], request: str) -> dict[str, str]:
    """Real name -> a neutral alias ("image1.png") for each image/audio/video file of a request.

    A small controller reads file names as content: with "cat.png" attached it planned
    `text-to-speech text="cat"` instead of looking at the picture. It plans on aliases; the plan
    gets the real names back (`swap_names`)."""
    mapping: dict[str, str] = {}
    counts: dict[str, int] = {}
    for name in media_files(files, request).values():
        for real in name:
            mod = _modality_of_file(real)
            if mod is None or real in mapping:
                continue
            counts[mod] = counts.get(mod, 0) + 1
            mapping[real] = f"{mod}{counts[mod]}{Path(real).suffix.lower()}"
    return mapping


def swap_names(text: str, mapping: dict[str, str]) -> str:
    """Every whole-name occurrence of a key replaced by its value, in one pass (no chains)."""
    if not mapping or not text:
        return text
    pattern = "|".join(re.escape(k) for k in sorted(mapping, key=len, reverse=True))
    return re.sub(rf"(?<![\w\-./])(?:{pattern})(?![\w\-])", lambda m: mapping[m.group(0)], text)


def _swap_args(args: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    return {k: swap_names(v, mapping) if isinstance(v, str) else v for k, v in args.items()}


def _swap_plan(tasks: list[dict[str, Any]], mapping: dict[str, str]) -> list[dict[str, Any]]:
    return [{**t, "args": _swap_args(t["args"], mapping)} for t in tasks]


def fix_modalities(plan: Plan, files: list[str]) -> Plan:
    """Mechanical repair of a ref whose task outputs the wrong kind of data: use the latest
    earlier task that does output that kind, else the attached file of that kind. Small
    models often chain "image-classification -> image-to-image" meaning "the same image"."""
    by_id = plan.by_id()
    for t in plan.tasks:
        spec = TASKS.get(t.task)
        if spec is None:
            continue
        for name, value in list(t.args.items()):
            arg = spec.arg(name)
            refs = Task(t.id, t.task, [], {name: value}).references()
            if arg is None or len(refs) != 1 or refs[0] not in by_id:
                continue
            src = by_id[refs[0]]
            if src.task not in TASKS or arg.modality in TASKS[src.task].outputs:
                continue
            producers = [u for u in plan.tasks if u.id < t.id and u.task in TASKS
                         and arg.modality in TASKS[u.task].outputs]
            media = [f for f in files if _modality_of_file(f) == arg.modality]
            if producers:
                t.args[name] = f"<resource>-{producers[-1].id}"
            elif media:
                t.args[name] = media[0]
            else:
                continue
            t.dep = sorted({r for v in t.args.values() for r in Task(0, "", [], {"v": v}).references()})
    return plan


def drop_repeats(plan: Plan) -> Plan:
    """Remove a task that only repeats its source: same task type, its one ref is that source,
    and its other args equal the source's (e.g. translating a translation into the same
    language). Refs to it point to the source; ids are renumbered 1..n."""
    by_id = plan.by_id()
    alias: dict[int, int] = {}
    for t in plan.tasks:
        refs = t.references()
        if len(refs) != 1 or refs[0] not in by_id or by_id[refs[0]].task != t.task:
            continue
        src = by_id[refs[0]]
        ref_args = [k for k, v in t.args.items() if Task(0, "", [], {k: v}).references()]
        if len(ref_args) == 1 and all(src.args.get(k) == v for k, v in t.args.items() if k != ref_args[0]):
            alias[t.id] = alias.get(src.id, src.id)
    if not alias:
        return plan
    kept = [t for t in plan.tasks if t.id not in alias]
    new_id = {t.id: i + 1 for i, t in enumerate(kept)}
    for old, src in alias.items():
        new_id[old] = new_id[src]

    def remap(value: Any) -> Any:
        if isinstance(value, str):
            return re.sub(r"<resource>-(\d+)", lambda m: f"<resource>-{new_id.get(int(m.group(1)), int(m.group(1)))}",
                          value)
        return [remap(v) for v in value] if isinstance(value, list) else value

    tasks = []
    for t in kept:
        args = {k: remap(v) for k, v in t.args.items()}
        dep = sorted({new_id.get(d, d) for d in t.dep})
        tasks.append(Task(new_id[t.id], t.task, dep, args))
    return Plan(tasks)


_WORD = re.compile(r"[^\W_]+")
MIN_GROUNDED_SHARE = 0.5


def ungrounded_texts(plan: Plan, source: str) -> list[str]:
    """Problems for literal `text`/`text2` args whose words are mostly not in the request or the
    context: a small controller copies a demo's text, or invents a result ("cat"), instead of
    planning the task that would produce it."""
    have = set(_WORD.findall(source.lower()))
    problems = []
    for t in plan.tasks:
        for name in ("text", "text2"):
            value = t.args.get(name)
            if not isinstance(value, str) or "<resource>-" in value:
                continue
            words = _WORD.findall(value.lower())
            if words and sum(w in have for w in words) / len(words) < MIN_GROUNDED_SHARE:
                problems.append(f'task {t.id}: the {name} "{value[:60]}" is not in the request; take it from '
                                f"the request, or plan the task that produces it and use <N>")
    return problems


def is_chit_chat(plan: Plan) -> bool:
    """A lone `conversational` task on literal text is just talk: the responder answers it."""
    return (len(plan.tasks) == 1 and plan.tasks[0].task == "conversational"
            and not plan.tasks[0].references())


def _gbnf_capable(controller: Controller) -> bool:
    return bool(getattr(controller, "supports_gbnf", False))


class Planner:
    def __init__(self, controller: Controller, *, known_tasks: set[str] | None = None,
                 demos_file: Path | None = None, max_tokens: int = 384,
                 bank_file: Path | None = None, retrieve: int = RETRIEVED_DEMOS,
                 fmt: str | None = None):
        self.controller = controller
        self.known_tasks = set(known_tasks) if known_tasks is not None else set(TASKS)
        self.max_tokens = max_tokens
        self.retrieve = retrieve
        # Ban, while decoding, refs to outputs of the wrong kind (core/plan_constraint.py).
        self.constrain_modalities = True
        # "lines" (GBNF, local llama.cpp) or "json" (JSON schema, any controller)
        self.fmt = fmt or ("lines" if _gbnf_capable(controller) else "json")
        names = [n for n in TASKS if n in self.known_tasks]
        self._names = names
        if self.fmt == "lines":
            self.system = render_prompt("plan_system_lines.txt",
                                        task_list="\n".join(planner_lines.signature(n) for n in names))
        else:
            self.schema = plan_schema(sorted(self.known_tasks))
            self.system = render_prompt("plan_system.txt",
                                        task_list="\n".join(task_signature(n) for n in names))

        def runnable(demo: dict[str, Any]) -> bool:
            return all(t["task"] in self.known_tasks for t in demo["tasks"])

        self.demos = [d for d in load_demos(demos_file or PROMPTS_DIR / "demos_core.jsonl") if runnable(d)]
        bank = [d for d in load_demos(bank_file or DEMO_BANK) if runnable(d)] if retrieve > 0 else []
        self.retriever = DemoRetriever(bank, cache_dir=_cache_dir())

    def _render(self, tasks: list[dict[str, Any]]) -> str:
        if self.fmt == "lines":
            return planner_lines.render(tasks)
        return json.dumps({"tasks": tasks})

    def _demo_turns(self, demos: list[dict[str, Any]]) -> list[Message]:
        msgs: list[Message] = []
        for d in demos:  # demos show aliased file names too, as the request will have them
            names = alias_files(d.get("files", []), d["request"])
            msgs.append({"role": "user", "content": user_message(
                swap_names(d["request"], names), [names.get(f, f) for f in d.get("files", [])],
                d.get("context", ""))})
            msgs.append({"role": "assistant", "content": self._render(_swap_plan(d["tasks"], names))})
        return msgs

    def core_demos(self, follow_ups: bool = True) -> list[dict[str, Any]]:
        """The core demos; without the follow-ups (which copy text from earlier turns) for the
        second try of a first request that copied a text it should not have."""
        return [d for d in self.demos if follow_ups or not d.get("context")]

    def prefix(self, follow_ups: bool = True) -> list[Message]:
        """The fixed part of every planning prompt (instructions, task list, core demos)."""
        return [{"role": "system", "content": self.system}, *self._demo_turns(self.core_demos(follow_ups))]

    def messages(self, request: str, files: list[str], context: str,
                 retrieved: list[dict[str, Any]] | None = None, follow_ups: bool = True) -> list[Message]:
        return [*self.prefix(follow_ups), *self._demo_turns(retrieved or []),
                {"role": "user", "content": user_message(request, files, context)}]

    def warm(self) -> None:
        """Load what the first plan would otherwise wait for (demo retrieval's encoder)."""
        if self.retrieve > 0:
            self.retriever.warm()

    def offered(self, request: str, context: str = "") -> list[str]:
        """The task types this request may use: every known one (the task cues that gated
        speech, detection and drawing were built with eval records and went with planner v3)."""
        return list(self._names)

    def _decode(self, msgs: list[Message], outcome: PlanOutcome, cancel: threading.Event | None,
                media: dict[str, list[str]], names: list[str]) -> str:
        if self.fmt == "lines":
            completion = self._chat_gbnf(msgs, cancel, media, names)
        else:
            schema = self.schema if names == self._names else plan_schema(sorted(names))
            completion = self.controller.chat(msgs, max_tokens=self.max_tokens, schema=schema,
                                              cancel=cancel)
        outcome.prompt_tokens += completion.prompt_tokens
        outcome.completion_tokens += completion.completion_tokens
        outcome.llm_s += completion.seconds
        outcome.raw = completion.text
        return completion.text

    def grammar_for(self, media: dict[str, list[str]], names: list[str] | None = None) -> str:
        """The GBNF text for these usable files and offered tasks (the controller caches its
        compiled form)."""
        return planner_lines.grammar(self._names if names is None else names, files=media)

    def _chat_gbnf(self, msgs: list[Message], cancel: threading.Event | None,
                   media: dict[str, list[str]], names: list[str]) -> Any:
        extra: dict[str, Any] = {}
        pieces = getattr(self.controller, "token_pieces", None)
        if self.constrain_modalities and pieces is not None:
            from core.plan_constraint import PlanConstraint

            extra["logits_processor"] = PlanConstraint(names, media, pieces())
        return self.controller.chat(msgs, max_tokens=self.max_tokens, temperature=0.0,
                                    grammar=self.grammar_for(media, names), cancel=cancel, **extra)

    def _check(self, raw: str, files: list[str], source: str | None = None) -> Plan:
        if self.fmt == "lines":
            plan = planner_lines.parse(raw)
        else:
            plan = link_dependencies(parse_plan(raw))
        plan = drop_repeats(fix_modalities(plan, files))
        if is_chit_chat(plan):
            plan = Plan([])
        validate_plan(plan, self.known_tasks)
        problems = ungrounded_texts(plan, source) if source is not None else []
        if problems:
            raise PlanError(problems)
        return plan

    @staticmethod
    def _real_names(plan: Plan, real_of: dict[str, str]) -> Plan:
        for t in plan.tasks:
            t.args = _swap_args(t.args, real_of)
        return plan

    def plan(self, request: str, files: list[str] | tuple[str, ...] = (),
             history: list[dict[str, Any]] | tuple = (), cancel: threading.Event | None = None) -> PlanOutcome:
        t0 = time.monotonic()
        names = [Path(f).name for f in files]
        context = history_context(list(history))
        aliases = alias_files(names, request)
        real_of = {v: k for k, v in aliases.items()}
        # demos are found by the aliased request too: a file's name must not steer the plan
        retrieved = (self.retriever.top(swap_names(request, aliases), self.retrieve, MIN_DEMO_SIMILARITY)
                     if self.retrieve > 0 and not context else [])
        names = [aliases.get(n, n) for n in names]
        msgs = self.messages(swap_names(request, aliases), names, context, retrieved)
        outcome = PlanOutcome(Plan(), demos=[d["request"] for d in [*self.demos, *retrieved]])
        media = media_files(names, swap_names(request, aliases), context)
        offered = self.offered(request, context)
        self.controller.prime(self.prefix())
        raw = self._decode(msgs, outcome, cancel, media, offered)
        source = f"{swap_names(request, aliases)}\n{context}"
        try:
            outcome.plan = self._real_names(self._check(raw, names, source), real_of)
        except PlanError as first:
            outcome.repaired = True
            if not context and all(" is not in the request" in p for p in first.problems):
                # A first request that copied a text: the follow-up demos (texts copied from
                # earlier turns) are what a 1.5B model imitates; try once more without them.
                msgs = self.messages(swap_names(request, aliases), names, context, retrieved, follow_ups=False)
                self.controller.prime(self.prefix(follow_ups=False))
            else:  # one repair round: the controller sees its plan and exactly what is wrong with it
                msgs = [*msgs, {"role": "assistant", "content": raw},
                        {"role": "user", "content": "That plan cannot run: " + "; ".join(first.problems)
                         + ". Write the corrected plan."}]
            raw = self._decode(msgs, outcome, cancel, media, offered)
            try:
                outcome.plan = self._real_names(self._check(raw, names), real_of)
            except PlanError as second:
                outcome.error = "the planner could not make a valid plan: " + "; ".join(second.problems)
        outcome.seconds = time.monotonic() - t0
        return outcome


def make_planner(controller: Controller, kind: str = "steps", *, known_tasks: set[str] | None = None) -> Any:
    """The planner the settings name: "steps" (core/step_planner.py, the default) or "lines"."""
    if kind == "lines":
        return Planner(controller, known_tasks=known_tasks)
    from core.step_planner import StepPlanner

    return StepPlanner(controller, known_tasks=known_tasks)


def _cache_dir() -> Path | None:
    try:
        from core.paths import models_cache

        return models_cache() / "kv"
    except Exception:  # noqa: BLE001
        return None
