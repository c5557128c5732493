"""Where a resident step-planner plan's time goes, with its quality on the same records.

    python -m benchmarks.step_planner_profile [--split dev] [--limit 30] [--set retrieve=2] [--out F]

Runs the planner as shipped (settings' controller, planner v3) over the first N records of a split
in the eval type mix, after one warm-up plan, and times each part of every plan: demo retrieval
(one MiniLM query), the prompt tokens the KV cache lacks, the generated tokens, grounding (one
batched MiniLM pass + the head + the beam) and the rest. Prints one JSON object: n-F1 / e-F1 /
valid, and per part p50 / p95 seconds and tokens per plan. `--set name=value` changes a planner
attribute for an A/B (retrieve, max_tokens, ...). Timings are of this machine under its load."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import taskbench_run as tr
from benchmarks.taskbench import load_v2
from benchmarks.taskbench_metrics import percentile


def _timed(obj: Any, name: str, sink: dict[str, float]) -> None:
    """Wrap obj.name so that each call adds its seconds to sink[name]."""
    fn = getattr(obj, name)

    def wrapper(*a: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*a, **kw)
        finally:
            sink[name] = sink.get(name, 0.0) + time.perf_counter() - t0

    setattr(obj, name, wrapper)


def _parse_value(v: str) -> Any:
    try:
        return json.loads(v)
    except json.JSONDecodeError:
        return v


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="dev", choices=["dev", "fit", "eval", "gnn4plan"])
    ap.add_argument("--limit", type=int, default=30)
    ap.add_argument("--controller", default="")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--out", type=Path, help="one JSON line per record (plan, scores, raw text); "
                    "the timings go next to it as <name>.timing.jsonl")
    args = ap.parse_args(argv)

    from core.config.settings import settings_for_controller
    from core.llm import decode as llama_decode
    from core.llm.controllers import load_controller
    from core.planning.planner import make_planner

    planner = make_planner(load_controller(settings_for_controller(args.controller)))
    for kv in args.set:
        name, value = kv.split("=", 1)
        if not hasattr(planner, name):
            raise SystemExit(f"the planner has no attribute {name}")
        setattr(planner, name, _parse_value(value))
    parts: dict[str, float] = {}
    _timed(planner.retriever, "top", parts)
    _timed(planner.grounder, "ground", parts)
    _timed(planner.controller, "prime", parts)
    _timed(planner.controller, "chat", parts)
    decode_eval = llama_decode.GreedyDecoder._eval_prompt

    def eval_prompt(self: Any, tokens: list[int]) -> int:
        t0 = time.perf_counter()
        try:
            return decode_eval(self, tokens)
        finally:
            parts["prompt_eval"] = parts.get("prompt_eval", 0.0) + time.perf_counter() - t0

    llama_decode.GreedyDecoder._eval_prompt = eval_prompt  # type: ignore[method-assign]
    planner.warm()
    planner.plan("Caption this photo and read the caption aloud", ["photo.jpg"])  # warm-up: KV prefix

    records = tr.mix_like(tr.eval_order(load_v2(args.split)), tr.EVAL_MIX)[:args.limit]
    plan = tr.planner_plan_fn(planner, attach_files=True)
    rows: list[dict[str, float]] = []
    timing_file = (args.out.with_name(args.out.stem + ".timing.jsonl").open("w", encoding="utf-8")
                   if args.out else None)

    def timed_plan(rec: Any) -> tr.Attempt:
        parts.clear()
        t0 = time.perf_counter()
        attempt = plan(rec)
        total = time.perf_counter() - t0
        row = {"total": total, "retrieval": parts.get("top", 0.0), "prime": parts.get("prime", 0.0),
               "prompt_eval": parts.get("prompt_eval", 0.0),
               "generation": parts.get("chat", 0.0) - parts.get("prompt_eval", 0.0),
               "grounding": parts.get("ground", 0.0),
               "prompt_tokens": attempt.prompt_tokens, "prompt_evaluated": attempt.prompt_evaluated,
               "generated": attempt.completion_tokens}
        row["other"] = total - sum(row[k] for k in ("retrieval", "prime", "prompt_eval", "generation",
                                                     "grounding"))
        rows.append(row)
        if timing_file:
            timing_file.write(json.dumps({"id": rec.id, **row}) + "\n")
            timing_file.flush()
        return attempt

    results = tr.run(records, timed_plan, progress=lambda m: print(m, file=sys.stderr, flush=True),
                     dump=args.out)  # the samples (with the controller's text: a replay: file)
    if timing_file:
        timing_file.close()
    rep = tr.report(results, split=args.split, limit=args.limit, settings=args.set)
    keep = ("n", "n_f1", "e_f1", "valid_rate", "plan_p50_s", "plan_p95_s")
    out: dict[str, Any] = {k: rep.get(k) for k in keep if k in rep}
    out.update({k: rep[k] for k in rep if k in ("split", "limit", "settings")})
    out["by_type"] = {t: {k: v.get(k) for k in ("n", "n_f1", "e_f1")} for t, v in rep["by_type"].items()}
    out["parts"] = {}
    for k in rows[0] if rows else []:
        vals = [r[k] for r in rows]
        out["parts"][k] = {"p50": round(percentile(vals, 50), 3), "p95": round(percentile(vals, 95), 3),
                           "mean": round(sum(vals) / len(vals), 3)}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
