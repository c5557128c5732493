"""Run a planner over TaskBench records and score it (see taskbench_metrics for the metrics)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.taskbench import Record
from benchmarks.taskbench_metrics import Counts, SampleScore, gold_graph, plan_graph, score_sample, summarize


@dataclass
class Attempt:
    """What a planner produced for one request."""
    plan: dict[str, Any] | None  # Maestro plan dict; None when planning failed
    seconds: float
    error: str | None = None  # set when the plan is missing or failed validation
    repaired: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    steps: list[dict[str, Any]] | None = None  # the step planner's decomposition (for error analysis)
    raw: str = ""
    prompt_evaluated: int = 0  # prompt tokens not reused from the KV cache


PlanFn = Callable[[Record], Attempt]


@dataclass
class SampleResult:
    record: Record
    attempt: Attempt
    score: SampleScore = field(repr=False)

    @property
    def valid(self) -> bool:
        return self.attempt.error is None and self.attempt.plan is not None

    def to_json(self) -> dict[str, Any]:
        s = self.score
        return {"id": self.record.id, "type": self.record.type, "clean": self.record.clean,
                "request": self.record.request, "valid": self.valid, "error": self.attempt.error,
                "repaired": self.attempt.repaired, "seconds": round(self.attempt.seconds, 3),
                "prompt_tokens": self.attempt.prompt_tokens,
                "completion_tokens": self.attempt.completion_tokens,
                "prompt_evaluated": self.attempt.prompt_evaluated, "raw": self.attempt.raw,
                "steps": self.attempt.steps, "plan": self.attempt.plan, "gold": [n.task for n in self.record.nodes],
                "gold_links": self.record.links, "n_f1": s.nodes.f1, "e_f1": s.edges.f1,
                "ned": round(s.ned, 4)}


def eval_order(records: list[Record]) -> list[Record]:
    """A fixed shuffled order, so `--limit N` takes a fair mix of single/chain/dag."""
    return sorted(records, key=lambda r: hashlib.sha256(("order:" + r.id).encode()).hexdigest())


# split v2 eval's mix of types (627 chain, 130 single, 34 dag of 791)
EVAL_MIX = {"chain": 627 / 791, "single": 130 / 791, "dag": 34 / 791}


def mix_like(records: list[Record], mix: dict[str, float]) -> list[Record]:
    """The records reordered so that every prefix has about `mix`'s share of each type (the dev
    hold-out has 45 % singles, eval 16 %): a limited A/B run then weighs types as eval does."""
    pools = {t: [r for r in records if r.type == t] for t in mix}
    taken = dict.fromkeys(mix, 0)
    out: list[Record] = []
    while any(taken[t] < len(pools[t]) for t in mix):
        n = len(out) + 1
        open_types = [t for t in mix if taken[t] < len(pools[t])]
        t = max(open_types, key=lambda t: mix[t] * n - taken[t])
        out.append(pools[t][taken[t]])
        taken[t] += 1
    return out


def run(records: list[Record], plan_fn: PlanFn, progress: Callable[[str], None] | None = None,
        dump: Path | None = None) -> list[SampleResult]:
    results: list[SampleResult] = []
    out = dump.open("w", encoding="utf-8") if dump else None
    try:
        for k, rec in enumerate(records, 1):
            try:
                attempt = plan_fn(rec)
            except Exception as e:  # noqa: BLE001 - one failed sample must not end the run
                attempt = Attempt(None, 0.0, f"{type(e).__name__}: {e}")
            # Maestro never runs an invalid plan, so an invalid plan scores as an empty one.
            pred = attempt.plan if attempt.error is None and attempt.plan is not None else {"tasks": []}
            score = score_sample(gold_graph(rec), plan_graph(pred))
            if not rec.has_args:  # no labelled arguments: t-F1 / v-F1 are scored elsewhere only
                score.arg_names, score.arg_values = Counts(), Counts()
            res = SampleResult(rec, attempt, score)
            results.append(res)
            if out:
                out.write(json.dumps(res.to_json(), ensure_ascii=False) + "\n")
                out.flush()
            if progress:
                so_far = summarize([r.score for r in results], [], [])
                progress(f"[{k}/{len(records)}] {rec.id} {rec.type:6s} {attempt.seconds:5.2f}s "
                         f"{'ok ' if res.valid else 'BAD'} n-F1 {so_far['n_f1']} e-F1 {so_far['e_f1']}"
                         + (f"  ({attempt.error[:80]})" if attempt.error else ""))
    finally:
        if out:
            out.close()
    return results


def _group(results: list[SampleResult]) -> dict[str, Any]:
    return summarize([r.score for r in results], [r.valid for r in results],
                     [r.attempt.seconds for r in results])


def report(results: list[SampleResult], gnn_ids: set[str] | None = None, **meta: Any) -> dict[str, Any]:
    """Overall numbers, then by type, the clean subset (no known label anomalies), the
    reachable subset (every gold tool exists in Maestro) and GNN4TaskPlan's chain test ids."""
    rep: dict[str, Any] = dict(meta)
    rep.update(_group(results))
    rep["repaired"] = sum(r.attempt.repaired for r in results)
    tokens = [r.attempt.prompt_tokens for r in results if r.attempt.prompt_tokens]
    rep["prompt_tokens_mean"] = round(sum(tokens) / len(tokens), 1) if tokens else None
    gen = [r.attempt.completion_tokens for r in results if r.attempt.completion_tokens]
    rep["completion_tokens_mean"] = round(sum(gen) / len(gen), 1) if gen else None
    new = [r.attempt.prompt_evaluated for r in results if r.attempt.prompt_evaluated]
    rep["prompt_evaluated_mean"] = round(sum(new) / len(new), 1) if new else None
    rep["args_labelled"] = sum(r.record.has_args for r in results)
    rep["by_type"] = {t: _group([r for r in results if r.record.type == t])
                      for t in ("single", "chain", "dag")}
    rep["clean"] = _group([r for r in results if r.record.clean])
    rep["clean"]["by_type"] = {t: _group([r for r in results if r.record.clean and r.record.type == t])
                               for t in ("single", "chain", "dag")}
    rep["reachable"] = _group([r for r in results if r.record.reachable])
    if gnn_ids:
        rep["gnn4plan"] = _group([r for r in results if r.record.id in gnn_ids])
    return rep


def gold_plan_fn(rec: Record) -> Attempt:
    """The labels rewritten into Maestro plans: what a perfect Maestro planner scores."""
    from benchmarks.taskbench_convert import to_maestro_plan

    t0 = time.perf_counter()
    plan = to_maestro_plan(rec, strict=False) if rec.has_args else _plan_from_links(rec)
    return Attempt(plan, time.perf_counter() - t0)


def _plan_from_links(rec: Record) -> dict[str, Any]:
    """Split v2 records have no node arguments: the gold plan's deps come from the links."""
    from benchmarks.taskbench import TB_TO_MAESTRO

    names = [n.task.replace("_", " ") for n in rec.nodes]
    tasks = []
    for i, name in enumerate(names):
        task = TB_TO_MAESTRO.get(name)
        if not task:
            continue
        dep = sorted({names.index(s) + 1 for s, t in rec.links if t == name and s in names and names.index(s) != i})
        args = {"text": "as asked"} if name == "Image Editing" else {}
        tasks.append({"id": i + 1, "task": task, "dep": dep, "args": args})
    return {"tasks": tasks}


def planner_plan_fn(planner: Any, attach_files: bool = False) -> PlanFn:
    """Adapter for core.planning.planner.Planner. attach_files passes the file names the request
    mentions as attached files (TaskBench only names them in the text)."""
    from benchmarks.taskbench_convert import mentioned_files

    def plan(rec: Record) -> Attempt:
        files = mentioned_files(rec.request) if attach_files else []
        out = planner.plan(rec.request, files=files)
        plan_dict = out.plan.to_dict() if getattr(out, "plan", None) is not None else None
        return Attempt(plan_dict, float(out.seconds), out.error, bool(out.repaired),
                       int(getattr(out, "prompt_tokens", 0) or 0),
                       int(getattr(out, "completion_tokens", 0) or 0),
                       getattr(out, "steps", None) or None, str(getattr(out, "raw", "") or ""),
                       int(getattr(out, "prompt_evaluated", 0) or 0))

    return plan
