"""The shipped planner on plain requests as Maestro's users type them (not TaskBench's wording).

    python -m benchmarks.plain_requests [--file benchmarks/data/plain_requests.jsonl] [--set retrieve=2]

benchmarks/data/plain_requests.jsonl: requests written by hand for this check (none from any
TaskBench split), each with its files, an optional earlier turn (`history`) and the tasks a person
expects, in order (`a|b`: either is right) with links as index pairs. Prints one JSON line per
request on stderr and a summary (node F1, edge F1, exact plans) as one JSON object on stdout.
A small set: a guard against TaskBench-shaped regressions, not a score to tune on."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.taskbench import REPO_ROOT

PLAIN_FILE = REPO_ROOT / "benchmarks" / "data" / "plain_requests.jsonl"


def match(gold: list[str], pred: list[str]) -> dict[int, int]:
    """Predicted index -> gold index, each gold node used once (in order of the prediction)."""
    used: set[int] = set()
    out: dict[int, int] = {}
    for i, task in enumerate(pred):
        for j, options in enumerate(gold):
            if j not in used and task in options.split("|"):
                used.add(j)
                out[i] = j
                break
    return out


def score(gold: dict[str, Any], plan: dict[str, Any]) -> dict[str, Any]:
    tasks = plan.get("tasks", [])
    pred = [t["task"] for t in tasks]
    ids = {t["id"]: i for i, t in enumerate(tasks)}
    pred_links = {(ids[d], ids[t["id"]]) for t in tasks for d in t.get("dep", []) if d in ids}
    m = match(gold["tasks"], pred)
    gold_links = {tuple(x) for x in gold["links"]}
    mapped = {(m[a], m[b]) for a, b in pred_links if a in m and b in m}
    return {"nodes_hit": len(m), "nodes_pred": len(pred), "nodes_gold": len(gold["tasks"]),
            "edges_hit": len(mapped & gold_links), "edges_pred": len(pred_links), "edges_gold": len(gold_links),
            "exact": len(m) == len(pred) == len(gold["tasks"]) and mapped == gold_links
            and len(pred_links) == len(gold_links)}


def f1(hit: int, pred: int, gold: int) -> float:
    if pred == gold == 0:
        return 100.0
    return round(200.0 * hit / (pred + gold), 2) if pred + gold else 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path, default=PLAIN_FILE)
    ap.add_argument("--controller", default="")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = ap.parse_args(argv)
    from core.config.settings import settings_for_controller
    from core.llm.controllers import load_controller
    from core.planning.planner import make_planner

    planner = make_planner(load_controller(settings_for_controller(args.controller)))
    for kv in args.set:
        name, value = kv.split("=", 1)
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            pass
        setattr(planner, name, value)
    cases = [json.loads(x) for x in args.file.read_text(encoding="utf-8").splitlines() if x.strip()]
    totals = dict.fromkeys(("nodes_hit", "nodes_pred", "nodes_gold", "edges_hit", "edges_pred", "edges_gold"), 0)
    exact = 0
    seconds = []
    for case in cases:
        out = planner.plan(case["request"], case.get("files", []), case.get("history", []))
        plan = out.plan.to_dict() if out.ok else {"tasks": []}
        s = score(case, plan)
        for k in totals:
            totals[k] += s[k]
        exact += s["exact"]
        seconds.append(out.seconds)
        print(json.dumps({"request": case["request"], "exact": s["exact"], "want": case["tasks"],
                          "got": [t["task"] for t in plan["tasks"]],
                          "deps": [t["dep"] for t in plan["tasks"]], "raw": out.raw,
                          "seconds": round(out.seconds, 2)}, ensure_ascii=False), file=sys.stderr, flush=True)
    print(json.dumps({"n": len(cases), "exact": exact,
                      "n_f1": f1(totals["nodes_hit"], totals["nodes_pred"], totals["nodes_gold"]),
                      "e_f1": f1(totals["edges_hit"], totals["edges_pred"], totals["edges_gold"]),
                      "settings": args.set}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
