"""`python main.py shot --out FILE.png --request "<text>" [--file F ...]`: open the real window, run
the request through the real engine, wait for the turn to finish, save a screenshot of the whole
window, exit. The README's screenshots come from here (under xvfb-run on a headless machine).

core/ never imports Qt, so the desktop code is reached by module name at run time."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("shot", help="screenshot the desktop window after running one request")
    p.add_argument("--out", type=Path, required=True, help="PNG file to write")
    p.add_argument("--request", default="", help="what to ask (required unless --welcome)")
    p.add_argument("--welcome", action="store_true", help="screenshot the first-run welcome instead of a turn")
    p.add_argument("--theme", choices=("os", "light", "dark"), default="os", help="colour theme of the shot")
    p.add_argument("--file", action="append", default=[], dest="files", type=Path, help="attach a file")
    p.add_argument("--size", default="1400x880", help="window size WIDTHxHEIGHT (default 1400x880)")
    p.add_argument("--node", type=int, default=None,
                   help="task id whose details to show in the shot (default: the first task)")
    p.add_argument("--live", type=Path, default=None,
                   help="also save a PNG while the plan runs (first task running, or the answer streaming)")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for the turn")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        shot = importlib.import_module("desktop.shot")
    except ModuleNotFoundError as e:
        print(f"The desktop is not available ({e.name} is missing); install PySide6.")
        return 2
    return int(shot.take(args))
