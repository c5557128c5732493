"""`plan`, `ask` and `chat`: the engine from the terminal (stable contracts; scripts use --json)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

MAX_REQUEST_CHARS = 20_000  # longer requests are refused with a message (longer text belongs in a file)


def _controller_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--controller", help="controller model: pack name, .gguf path or hub:<repo>/<file>")


def register(sub: argparse._SubParsersAction) -> None:
    for name, func, help_text, json_help in (
        ("plan", cmd_plan, "plan a request into tasks (nothing runs)", "print the plan as JSON"),
        ("ask", cmd_ask, "plan, run and answer one request",
         "print plan, selections, results, answer, timings"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("request")
        p.add_argument("--file", action="append", default=[], help="a file for the request (repeatable)")
        p.add_argument("--json", action="store_true", help=json_help)
        _controller_arg(p)
        p.set_defaults(func=func)

    c = sub.add_parser("chat", help="interactive multi-turn chat in the terminal")
    _controller_arg(c)
    c.set_defaults(func=cmd_chat)


def _settings(args: argparse.Namespace):
    from core.config.settings import load_settings

    settings = load_settings()
    if getattr(args, "controller", None):
        settings.controller = args.controller
        settings.endpoint_url = ""
    return settings


def _fail(message: str, as_json: bool, code: int = 2) -> int:
    if as_json:
        print(json.dumps({"error": message}))
    print(f"error: {message}", file=sys.stderr)
    return code


def _check_request(request: str) -> str | None:
    if not request.strip():
        return "the request is empty"
    if len(request) > MAX_REQUEST_CHARS:
        return (f"the request is {len(request):,} characters; the limit is {MAX_REQUEST_CHARS:,}. "
                "Put long text in a file and attach it with --file.")
    return None


def _engine(args: argparse.Namespace, bus=None):
    from core.engine.pipeline import Engine
    from core.errors import ControllerError

    engine = Engine(_settings(args), bus)
    try:
        engine.warm_up()
    except ControllerError as e:
        return None, str(e)
    return engine, None


def cmd_plan(args: argparse.Namespace) -> int:
    problem = _check_request(args.request)
    if problem:
        return _fail(problem, args.json)
    engine, error = _engine(args)
    if engine is None:
        return _fail(error or "no controller", args.json)
    outcome = engine.planner.plan(args.request, [Path(f).name for f in args.file])
    out: dict[str, Any] = {**outcome.plan.to_dict(), "valid": outcome.ok, "error": outcome.error,
                           "repaired": outcome.repaired, "seconds": round(outcome.seconds, 3),
                           "prompt_tokens": outcome.prompt_tokens,
                           "completion_tokens": outcome.completion_tokens,
                           "steps": getattr(outcome, "steps", []), "notes": getattr(outcome, "notes", [])}
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        if outcome.error:
            print(f"no valid plan: {outcome.error}")
        elif not outcome.plan.tasks:
            print("(no tasks: the request is answered by chat)")
        for t in outcome.plan.tasks:
            dep = f" after {', '.join(map(str, t.dep))}" if t.dep else ""
            print(f"{t.id}. {t.task}{dep} {json.dumps(t.args, ensure_ascii=False)}")
        for note in getattr(outcome, "notes", []):
            print(f"note: {note}")
        print(f"({outcome.seconds:.1f} s)")
    return 0 if outcome.ok else 1


class LivePrinter:
    """Prints core events as a readable log; the streamed answer goes to stdout as it comes."""

    def __init__(self, stream=sys.stdout):
        self.stream = stream
        self.answering = False

    def __call__(self, event) -> None:
        kind = event.kind
        w = self.stream.write
        if kind == "plan_ready":
            tasks = event.plan.get("tasks", [])
            w(f"plan ({event.seconds:.1f} s{', repaired' if event.repaired else ''}): "
              + (", ".join(f"{t['id']}:{t['task']}" for t in tasks) or "no tasks") + "\n")
        elif kind == "task_selected":
            w(f"  task {event.task_id} {event.task} -> {event.model or 'no model'}"
              f" ({event.reason})\n")
        elif kind == "task_started":
            w(f"  task {event.task_id} started\n")
        elif kind == "task_finished":
            r = event.result
            detail = (r.get("output") or {}).get("text", "") if event.status == "done" else r.get("error")
            secs = r.get("duration_s") or 0.0
            w(f"  task {event.task_id} {event.status} in {secs:.1f} s: {str(detail)[:200]}\n")
            for f in (r.get("output") or {}).get("files") or []:  # the answer names files; the terminal shows where
                w(f"    file: {f.get('path')}\n")
        elif kind == "download_progress" and event.total_bytes:
            w(f"  downloading {event.filename}: {100 * event.done_bytes / event.total_bytes:.0f}%\n")
        elif kind == "response_token":
            if not self.answering:
                w("\n")
                self.answering = True
            w(event.text)
        elif kind == "turn_finished":
            w(f"\n[{event.status}, {event.timings.get('total_s', 0):.1f} s]\n")
            self.answering = False
        self.stream.flush()


def cmd_ask(args: argparse.Namespace) -> int:
    problem = _check_request(args.request)
    if problem:
        return _fail(problem, args.json)
    from core.events import EventBus

    bus = EventBus()
    if not args.json:
        bus.subscribe(LivePrinter())
    engine, error = _engine(args, bus)
    if engine is None:
        return _fail(error or "no controller", args.json)
    turn = engine.run_turn(args.request, args.file)
    for w in turn.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if args.json:
        print(json.dumps(turn.to_dict(), ensure_ascii=False))
    return 0 if turn.status == "done" else 1


def cmd_chat(args: argparse.Namespace) -> int:
    import shlex

    from core.events import EventBus

    bus = EventBus()
    bus.subscribe(LivePrinter())
    print("Maestro chat. Attach files with '/file PATH', quit with '/quit'. Loading the controller…")
    engine, error = _engine(args, bus)
    if engine is None:
        return _fail(error or "no controller", False)
    history: list[dict] = []
    files: list[str] = []
    while True:
        try:
            line = input("\nyou> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not line:
            continue
        if line in ("/quit", "/exit"):
            return 0
        if line.startswith("/file "):
            for f in shlex.split(line[6:]):
                if Path(f).expanduser().is_file():
                    files.append(f)
                    print(f"attached {f}")
                else:
                    print(f"no such file: {f}")
            continue
        problem = _check_request(line)
        if problem:
            print(problem)
            continue
        turn = engine.run_turn(line, files, history)
        for w in turn.warnings:
            print(f"warning: {w}")
        history.append(turn.to_dict())
        files = []
