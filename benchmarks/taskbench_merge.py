"""One report from several `bench taskbench --out FILE` sample files (a run split over processes
with --offset / --limit, or stopped early): each sample is re-scored against its record and the
report is the one `bench taskbench --json` prints, over the samples the files hold.

    python -m benchmarks.taskbench_merge a.jsonl b.jsonl [--split eval] [--text official]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks import taskbench_run as tr
from benchmarks.taskbench import gnn4plan_ids, load_split, load_v2
from benchmarks.taskbench_metrics import Counts, gold_graph, plan_graph, score_sample


def merge(files: list[Path], split: str = "eval", text: str = "official") -> list[tr.SampleResult]:
    records = {r.id: r for r in (load_v2(split) if text == "official" else load_split(split))}
    results: list[tr.SampleResult] = []
    seen: set[str] = set()
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if row["id"] in seen:
                continue
            seen.add(row["id"])
            rec = records[row["id"]]
            attempt = tr.Attempt(row.get("plan"), float(row.get("seconds") or 0.0), row.get("error"),
                                 bool(row.get("repaired")), int(row.get("prompt_tokens") or 0),
                                 int(row.get("completion_tokens") or 0), row.get("steps"), row.get("raw") or "",
                                 int(row.get("prompt_evaluated") or 0))
            pred = attempt.plan if attempt.error is None and attempt.plan is not None else {"tasks": []}
            score = score_sample(gold_graph(rec), plan_graph(pred))
            if not rec.has_args:
                score.arg_names, score.arg_values = Counts(), Counts()
            results.append(tr.SampleResult(rec, attempt, score))
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--split", default="eval")
    ap.add_argument("--text", choices=["official", "rephrased"], default="official")
    args = ap.parse_args(argv)
    results = merge(args.files, args.split, args.text)
    gnn = gnn4plan_ids() if args.text == "official" else set()
    print(json.dumps(tr.report(results, gnn_ids=gnn, benchmark="taskbench", split=args.split, text=args.text,
                               files=[str(f) for f in args.files])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
