"""`python main.py bench taskbench|latency`: planning quality and speed benchmarks.

Progress goes to stderr; with --json the last stdout line is one JSON object."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("bench", help="planning benchmarks (TaskBench quality, latency)")
    sub = p.add_subparsers(dest="bench", required=True)

    tb = sub.add_parser("taskbench", help="plan TaskBench requests and score them (n-F1, e-F1, ...)")
    tb.add_argument("--limit", type=int, default=0, help="first N records of the split (fixed order)")
    tb.add_argument("--offset", type=int, default=0, help="skip the first N records")
    tb.add_argument("--split", choices=["eval", "train", "dev", "fit", "gnn4plan"], default="eval",
                    help="split v2 (official text): eval (791), train, its hold-out dev (~690, for A/B "
                         "runs), fit (train less dev), gnn4plan (the GNN4TaskPlan chain ids in eval); "
                         "with --text rephrased: split v1's eval (323) or train (152)")
    tb.add_argument("--text", choices=["official", "rephrased"], default="official",
                    help="TaskBench's official request text (full_hf.jsonl, split v2; default) or the "
                         "rephrased 475 of labeled_hf.jsonl (split v1)")
    tb.add_argument("--mix", choices=["eval", "none"], default="none",
                    help="eval: order the records so that any --limit has eval's single/chain/dag mix")
    tb.add_argument("--controller", default="",
                    help="controller: pack name, .gguf path, http(s):// endpoint, 'gold' (the labels "
                         "rewritten as Maestro plans: the ceiling), 'gold-steps' (the labelled steps, "
                         "grounded by the step planner) or 'replay:FILE' (the texts of an earlier --out "
                         "run, re-grounded); default from settings")
    tb.add_argument("--planner", choices=["settings", "steps"], default="settings",
                    help="the planner: steps (v3: decompose, then ground; the only one, as the desktop's)")
    tb.add_argument("--tasks", choices=["all", "taskbench"], default="all",
                    help="task types the planner may use: all of Maestro's (the desktop's menu; default) "
                         "or only those TaskBench has a tool for")
    tb.add_argument("--attach-files", action=argparse.BooleanOptionalAction, default=True,
                    help="pass file names the request mentions as attached files (default on)")
    tb.add_argument("--demos", type=int, default=None,
                    help="demos retrieved per request (default: the planner's own)")
    tb.add_argument("--out", type=Path, help="write one JSON line per sample (plan, gold, scores)")
    tb.add_argument("--json", action="store_true", help="print the result as one JSON line")
    tb.set_defaults(func=run_taskbench)

    lat = sub.add_parser("latency", help="planning p50, per-turn overhead, controller tokens/s")
    lat.add_argument("--controller", default="", help="as for taskbench (not 'gold')")
    lat.add_argument("--n", type=int, default=10, help="planning requests to time")
    lat.add_argument("--turns", type=int, default=3, help="Engine turns to time for the overhead")
    lat.add_argument("--json", action="store_true")
    lat.set_defaults(func=run_latency)


def _err(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def make_planner(controller: str, known_tasks: set[str] | None = None) -> Any:
    """The planner the desktop builds (core.planning.planner.make_planner), on the given controller."""
    from core.config.settings import settings_for_controller
    from core.llm.controllers import load_controller
    from core.planning.planner import make_planner as build

    return build(load_controller(settings_for_controller(controller)), known_tasks=known_tasks)


def run_taskbench(args: argparse.Namespace) -> int:
    from benchmarks import taskbench_run as tr
    from benchmarks.taskbench import data_dir, gnn4plan_ids, load_split, load_v2

    try:
        if args.text == "rephrased":
            if args.split not in ("eval", "train"):
                raise ValueError("--text rephrased has only split v1's eval and train")
            records = tr.eval_order(load_split(args.split))
        else:
            records = tr.eval_order(load_v2(args.split))
        if args.mix == "eval":
            records = tr.mix_like(records, tr.EVAL_MIX)
        gnn_ids = gnn4plan_ids() if args.text == "official" else set()
    except (FileNotFoundError, ValueError) as e:
        _err(f"bench: {e}")
        return 2
    records = records[args.offset:]
    if args.limit > 0:
        records = records[:args.limit]
    name = args.controller or "settings"
    if args.controller == "gold":
        plan_fn = tr.gold_plan_fn
    else:
        try:
            from benchmarks.taskbench import taskbench_tasks

            known = taskbench_tasks() if args.tasks == "taskbench" else None
            if args.controller == "gold-steps" or args.controller.startswith("replay:"):
                from benchmarks import taskbench_replay as rp
                from core.planning.planner import make_planner as build

                table = (rp.gold_steps_controller(records) if args.controller == "gold-steps"
                         else rp.replay_controller(Path(args.controller.split(":", 1)[1])))
                planner = build(table, known_tasks=known)
            else:
                planner = make_planner(args.controller, known)
        except Exception as e:  # noqa: BLE001 - a missing model or module is a message, not a trace
            _err(f"bench: cannot load the planner: {e}")
            return 2
        name = getattr(getattr(planner, "controller", None), "name", name)
        if args.demos is not None:
            planner.retrieve = max(0, args.demos)
        measured = {r.id for r in records}
        retriever = getattr(planner, "retriever", None)
        if retriever is not None:  # no demo of a record being measured (split v1's bank has 2 of eval)
            retriever.demos = [d for d in retriever.demos if str(d.get("id", "")) not in measured]
        if isinstance(getattr(planner, "demos", None), list):  # nor in the fixed prefix (fit, v1's records)
            planner.demos = [d for d in planner.demos if str(d.get("id", "")) not in measured]
        if args.split in ("train", "fit"):
            # the demo pool itself: a record must not retrieve its own demo
            planner.retriever.exclude_same_request = True
        plan_fn = tr.planner_plan_fn(planner, attach_files=args.attach_files)
    _err(f"bench taskbench: {len(records)} {args.split} records from {data_dir()}, controller {name}")
    results = tr.run(records, plan_fn, progress=_err, dump=args.out)
    rep = tr.report(results, gnn_ids=gnn_ids, benchmark="taskbench", split=args.split, controller=name,
                    attach_files=args.attach_files, tasks=args.tasks, offset=args.offset, text=args.text,
                    planner=getattr(planner, "fmt", None) if args.controller != "gold" else "gold",
                    demos=getattr(planner, "retrieve", None) if args.controller != "gold" else None)
    _print(rep, args.json)
    return 0


def run_latency(args: argparse.Namespace) -> int:
    from benchmarks import latency

    try:
        rep = latency.measure(args.controller, n_plans=args.n, n_turns=args.turns, progress=_err)
    except Exception as e:  # noqa: BLE001
        _err(f"bench latency: {type(e).__name__}: {e}")
        return 2
    _print(rep, args.json)
    return 0


def _print(rep: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(rep, ensure_ascii=False))
        return
    for key, value in rep.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k}: {json.dumps(v) if isinstance(v, dict) else v}")
        else:
            print(f"{key}: {value}")
