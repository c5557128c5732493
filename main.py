"""Maestro entry point: no arguments opens the desktop window; subcommands run headless."""

from __future__ import annotations

import argparse
import importlib
import sys


def build_parser() -> argparse.ArgumentParser:
    from cli import COMMAND_MODULES

    parser = argparse.ArgumentParser(prog="maestro", description="Local HuggingGPT: plan, run, answer.")
    sub = parser.add_subparsers(dest="command")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:  # command not written yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--selftest"]:  # headless install check (packaging/README.md); before any parser work
        from core.engine.selftest import run

        return run(argv[1:])
    parser = build_parser()
    parser.epilog = "maestro --selftest [--controller C] [--json]: check this install and plan one request"
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        try:
            from desktop.app import run_app
        except ModuleNotFoundError as e:
            if not e.name or not e.name.startswith("desktop"):
                raise
            print("The desktop is not available; starting the terminal chat.", file=sys.stderr)
            return main(["chat"])
        return run_app()
    # Every headless command: an unexpected error is logged and shown as one line with the log path.
    from core.config.logs import install_crash_handler

    install_crash_handler()
    return int(args.func(args) or 0)


if __name__ == "__main__":
    import multiprocessing

    multiprocessing.freeze_support()  # the bundle starts its engine process through this executable
    sys.exit(main())
