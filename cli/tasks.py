"""`python main.py tasks [--json]`: every task type, whether it can run here, its default model, why not."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tasks", help="task types and whether an installed model can run each")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tasks)


def cmd_tasks(args: argparse.Namespace) -> int:
    from core.selection import selector
    from core.tasks import TASKS

    rows = [selector.task_status(name) for name in TASKS]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        mark = "yes" if r["runnable"] else "no "
        detail = r["would_select"] if r["runnable"] else r["why_not"]
        print(f"{mark} {r['task']:32} {detail}")
    ready = sum(r["runnable"] for r in rows)
    print(f"{ready} of {len(rows)} task types can run now")
    return 0
