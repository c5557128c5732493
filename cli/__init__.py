"""Headless subcommands of main.py. Each module has `register(subparsers)` that adds its parser
and sets `func` (called with the parsed args, returns the exit code)."""

COMMAND_MODULES = [
    "cli.engine",  # plan, ask, chat
    "cli.models",  # models list|get|verify|remove|install-packs
    "cli.tasks",  # tasks
    "cli.bench",  # bench taskbench|latency
    "cli.shot",  # shot (opens the desktop window)
]
