"""Stage 1's entry: the planner the desktop, the CLI and the benchmarks use.

Planner v3 (core/planning/step_planner.py) is the only planner: the v2 line-format planner scored
50.4 / 15.3 n-F1 / e-F1 on the train hold-out against v3's 73.6 / 41.2 and was deleted with its
grammar, logits processor, prompts and demo bank."""

from __future__ import annotations

from core.llm.controllers import Controller
from core.planning.step_planner import StepPlanner


def make_planner(controller: Controller, *, known_tasks: set[str] | None = None) -> StepPlanner:
    return StepPlanner(controller, known_tasks=known_tasks)
