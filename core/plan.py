"""Plans: a DAG of tasks `{id, task, dep, args}`; parsing, validation and ordering.

Validation errors are written so they can be fed back to the controller LLM verbatim
for one repair round (see planner.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from core.errors import PlanError, PlanProblem
from core.tasks import TASKS, canonical_task

# `<resource>-3`, and HuggingGPT's `<GENERATED>-3`, both mean "the output of task 3".
RESOURCE_RE = re.compile(r"<(?:resource|generated|node)>-(\d+)", re.IGNORECASE)


@dataclass
class Task:
    id: int
    task: str
    dep: list[int] = field(default_factory=list)
    args: dict[str, Any] = field(default_factory=dict)

    def references(self) -> list[int]:
        """Task ids named by `<resource>-N` in this task's args."""
        refs: list[int] = []
        for value in self.args.values():
            for text in _strings(value):
                refs.extend(int(m) for m in RESOURCE_RE.findall(text))
        return refs

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Plan:
    tasks: list[Task] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"tasks": [t.to_dict() for t in self.tasks]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    def by_id(self) -> dict[int, Task]:
        return {t.id: t for t in self.tasks}

    def generations(self) -> list[list[Task]]:
        """Tasks grouped by topological generation (all deps in earlier groups).

        Raises PlanError on a cycle."""
        remaining = {t.id: t for t in self.tasks}
        done: set[int] = set()
        groups: list[list[Task]] = []
        while remaining:
            ready = [t for t in remaining.values() if all(d in done for d in t.dep)]
            if not ready:
                ids = ", ".join(str(i) for i in sorted(remaining))
                raise PlanError([PlanProblem("cycle", f"tasks {ids} depend on each other in a cycle")])
            ready.sort(key=lambda t: t.id)
            groups.append(ready)
            for t in ready:
                done.add(t.id)
                del remaining[t.id]
        return groups

    def topological(self) -> list[Task]:
        return [t for group in self.generations() for t in group]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _normalise_refs(value: Any) -> Any:
    if isinstance(value, str):
        return RESOURCE_RE.sub(lambda m: f"<resource>-{m.group(1)}", value)
    if isinstance(value, list):
        return [_normalise_refs(v) for v in value]
    return value


def _as_int(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise PlanError([f"{what} must be an integer, got {value!r}"])
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise PlanError([f"{what} must be an integer, got {value!r}"])


def extract_json(text: str) -> Any:
    """The first JSON value in `text` (LLMs sometimes wrap it in prose or fences)."""
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    decoder = json.JSONDecoder()
    for i, ch in enumerate(text):
        if ch in "[{":
            try:
                value, _ = decoder.raw_decode(text[i:])
                return value
            except json.JSONDecodeError:
                continue
    raise PlanError(["the plan is not valid JSON"])


def parse_plan(raw: str | dict | list) -> Plan:
    """Parse a plan from JSON text or a decoded value; shape errors raise PlanError.

    Accepts `{"tasks": [...]}` or a bare list, HuggingGPT's `dep: [-1]` and `<GENERATED>-N`,
    and task-name spellings such as "Image Classification"."""
    data = extract_json(raw) if isinstance(raw, str) else raw
    if isinstance(data, dict):
        if "tasks" not in data:
            raise PlanError(['the plan must be an object with a "tasks" list'])
        data = data["tasks"]
    if not isinstance(data, list):
        raise PlanError(['"tasks" must be a list'])
    tasks: list[Task] = []
    problems: list[str] = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            problems.append(f"task #{i + 1} is not an object")
            continue
        try:
            tid = _as_int(item.get("id"), f"task #{i + 1} id")
            name = item.get("task")
            if not isinstance(name, str) or not name.strip():
                raise PlanError([f"task {tid} has no task name"])
            dep_raw = item.get("dep", [])
            if dep_raw is None:
                dep_raw = []
            if not isinstance(dep_raw, list):
                dep_raw = [dep_raw]
            dep = sorted({_as_int(d, f"task {tid} dep") for d in dep_raw} - {-1})
            args = item.get("args", {}) or {}
            if not isinstance(args, dict):
                raise PlanError([f"task {tid} args must be an object"])
            args = {str(k): _normalise_refs(v) for k, v in args.items()}
            tasks.append(Task(id=tid, task=canonical_task(name), dep=dep, args=args))
        except PlanError as e:
            problems.extend(e.problems)
    if problems:
        raise PlanError(problems)
    return Plan(tasks)


def producer_modalities(task_name: str) -> tuple[str, ...]:
    spec = TASKS.get(task_name)
    return spec.outputs if spec else ()


def plan_problems(plan: Plan, known_tasks: set[str] | None = None) -> list[PlanProblem]:
    """Every rule the plan breaks, each with its code and task; [] when it can run.

    The one set of plan rules: the planner refuses a plan with any problem (validate_plan); the
    executor fails just the tasks that have one (plans also come from re-runs and stored turns)
    and skips their dependents. `known_tasks` defaults to every task in TASKS."""
    known = set(TASKS) if known_tasks is None else known_tasks
    problems: list[PlanProblem] = []
    ids = [t.id for t in plan.tasks]
    by_id = plan.by_id()
    bad: set[int] = set()

    def add(code: str, tid: int, message: str) -> None:
        problems.append(PlanProblem(code, message, tid))
        bad.add(tid)

    for t in plan.tasks:
        if ids.count(t.id) > 1:
            add("duplicate_id", t.id, f"task id {t.id} is used by more than one task")
            continue
        if t.task not in known:
            add("unknown_task", t.id, f"unknown task '{t.task}'")
            continue
        spec = TASKS[t.task]
        for d in t.dep:
            if d == t.id:
                add("self_dep", t.id, "depends on itself")
            elif d not in by_id:
                add("missing_dep", t.id, f"depends on {d}, which is not another task in the plan")
        for a in spec.inputs:
            if a.required and a.name not in t.args:
                add("missing_arg", t.id, f"({t.task}) missing arg '{a.name}'")
        for name, value in t.args.items():
            arg = spec.arg(name)
            if arg is None:
                allowed = ", ".join(a.name for a in spec.inputs)
                add("unknown_arg", t.id, f"({t.task}) unknown arg '{name}' (allowed: {allowed})")
                continue
            if not isinstance(value, (str, int, float, list)) or isinstance(value, bool):
                add("arg_type", t.id, f"arg '{name}' must be text, got {type(value).__name__}")
                continue
            for ref in Task(t.id, t.task, t.dep, {name: value}).references():
                if ref not in by_id:
                    add("dangling_ref", t.id, f"arg '{name}' uses <resource>-{ref}, which is not a task in the plan")
                elif ref not in t.dep:
                    add("ref_not_in_dep", t.id, f"arg '{name}' uses <resource>-{ref}, which is not among "
                                                f"its dependencies {t.dep}")
                else:
                    made = producer_modalities(by_id[ref].task)
                    if made and arg.modality not in made:
                        add("modality", t.id, f"arg '{name}' needs {arg.modality}, but task {ref} "
                                              f"({by_id[ref].task}) outputs {'/'.join(made)}")
    # What cannot be ordered once the tasks with a problem count as settled is in (or behind) a cycle.
    done: set[int] = set()
    remaining = {t.id: t for t in plan.tasks if t.id not in bad}
    while True:
        ready = [i for i, t in remaining.items() if all(d in done or d in bad for d in t.dep)]
        if not ready:
            break
        for i in ready:
            done.add(i)
            del remaining[i]
    cycle = ", ".join(map(str, sorted(remaining)))
    for i in sorted(remaining):
        problems.append(PlanProblem("cycle", f"tasks {cycle} depend on each other in a cycle", i))
    return problems


def validate_plan(plan: Plan, known_tasks: set[str] | None = None) -> None:
    """Raise PlanError listing every rule the plan breaks (plan_problems); None if it can run."""
    problems = plan_problems(plan, known_tasks)
    if problems:
        raise PlanError(problems)
