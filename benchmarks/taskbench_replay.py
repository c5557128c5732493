"""Controllers that answer from a table instead of a model, to A/B the grounding without an LLM.

- `gold-steps`: the record's labelled decomposition in the step format (the LLM a perfect
  decomposer would be): what grounding + arguments score when the steps are right.
- `replay:FILE`: the raw text a previous `bench taskbench --out FILE` run's controller wrote for the
  same request (greedy decoding is deterministic, so a grounding change is measured exactly).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.taskbench import Record
from core.llm.controllers import Completion


def _request_of(messages: list[dict[str, Any]]) -> str:
    text = str(messages[-1]["content"])
    return text.rsplit("Request: ", 1)[-1].strip()


class TableController:
    """Answers the last user message's request from `table` (request -> text); "none" if absent."""

    supports_gbnf = False

    def __init__(self, table: dict[str, str], name: str):
        self.table = {k.strip(): v for k, v in table.items()}
        self.name = name

    def prime(self, prefix: list[dict[str, Any]]) -> None:
        pass

    def chat(self, messages: list[dict[str, Any]], **_: Any) -> Completion:
        return Completion(self.table.get(_request_of(messages), "none"), 0, 0, 0.0, "stop")


def gold_steps_controller(records: list[Record]) -> TableController:
    from benchmarks.build_step_planner import step_refs
    from core.planning.steps import render_steps

    table = {}
    for r in records:
        refs = step_refs(r) if len(r.steps) == len(r.nodes) else None
        if refs is not None:
            table[r.request] = render_steps([{"text": s, "refs": f} for s, f in zip(r.steps, refs, strict=True)])
    return TableController(table, "gold-steps")


def replay_controller(path: Path) -> TableController:
    table = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if row.get("raw"):
                table[row["request"]] = row["raw"]
    return TableController(table, f"replay:{path.name}")
