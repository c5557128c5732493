"""The `shot` command's Qt side: one real turn in the real window, then a PNG of the window."""

from __future__ import annotations

import argparse
import os
import sys
import time


def take(args: argparse.Namespace) -> int:
    os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.symbolsresolver=false")
    from PySide6.QtWidgets import QApplication

    from desktop.app import _apply_data_dir_setting, create_window, no_display_reason
    from desktop.state import FINAL_STATES

    reason = no_display_reason()
    if reason:
        print(reason, file=sys.stderr)
        return 2

    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"--size must look like 1400x880, not {args.size!r}", file=sys.stderr)
        return 2
    out = args.out.expanduser().resolve()
    if out.suffix.lower() != ".png":
        print("--out must name a .png file", file=sys.stderr)
        return 2
    if args.theme != "os":
        os.environ["MAESTRO_THEME"] = args.theme
    if not args.welcome and not args.request:
        print("--request is required (or --welcome)", file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication(sys.argv[:1])
    _apply_data_dir_setting()
    window, store, host = create_window()
    window.resize(width, height)
    window.show()
    if args.welcome:
        return _welcome_shot(app, window, store, out)
    host.start()
    refused = window.composer.add_files(list(args.files))
    if refused:
        print("\n".join(refused), file=sys.stderr)
        return 2
    window.composer.input.setPlainText(args.request)
    window.composer.send()
    turn_id = window.running_turn
    outcome: dict[str, str] = {}
    host.turn_done.connect(lambda _conv, result: outcome.setdefault("status", result["status"]))
    host.turn_failed.connect(lambda _conv, _turn, message: outcome.setdefault("status", f"failed: {message}"))
    deadline = time.monotonic() + args.timeout
    live = args.live.expanduser().resolve() if getattr(args, "live", None) else None
    while "status" not in outcome and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)
        state = window.turns.get(turn_id)
        if live is not None and state is not None and (
                any(t.status == "running" for t in state.tasks.values()) or state.response == "running"):
            app.processEvents()
            live.parent.mkdir(parents=True, exist_ok=True)
            window.grab().save(str(live), "PNG")
            print(f"saved {live} while running: {({t.id: t.status for t in state.tasks.values()})}")
            live = None
    if "status" not in outcome:
        host.cancel()
        print(f"the turn did not finish in {args.timeout:.0f} s; the shot shows where it was", file=sys.stderr)
    settle = time.monotonic() + 0.6  # let the last token batch, layout and images land
    while time.monotonic() < settle:
        app.processEvents()
        time.sleep(0.02)
    bubble = window.chat.bubble_for(turn_id) if turn_id else None
    if bubble is not None:  # show the answer from its first line (the chat follows the last card)
        window.chat._follow = False
        window.chat.verticalScrollBar().setValue(max(0, bubble.y() - 8))
        app.processEvents()
    state = window.turns.get(turn_id)
    if state is not None and state.tasks:
        node = args.node if args.node in state.tasks else min(state.tasks)
        window.graph.select(node)
        window._on_node_clicked(node)
        app.processEvents()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(out), "PNG"):
        print(f"could not write {out}", file=sys.stderr)
        return 1
    status = outcome.get("status", "timeout")
    tasks = {t.id: t.status for t in state.tasks.values()} if state else {}
    print(f"saved {out} ({width}x{height}); turn {status}; tasks {tasks}; "
          f"all final: {all(s in FINAL_STATES for s in tasks.values())}")
    host.close(10)
    store.close()
    window.close()
    return 0 if status == "done" else 1


def _welcome_shot(app, window, store, out) -> int:  # noqa: ANN001 - Qt objects
    """The first-run welcome over the window, as the user sees it (a grab of the whole screen)."""
    from desktop.welcome import WelcomeDialog

    dialog = WelcomeDialog(window.settings, window)
    dialog.show()
    settle = time.monotonic() + 1.0
    while time.monotonic() < settle:
        app.processEvents()
        time.sleep(0.02)
    screen = app.primaryScreen().grabWindow(0)
    shot = screen if not screen.isNull() else dialog.grab()
    out.parent.mkdir(parents=True, exist_ok=True)
    ok = shot.save(str(out), "PNG")
    print(f"saved {out}: welcome; recommended {dialog.recommendation.best.key}; {dialog.recommendation.why}")
    dialog.close()
    store.close()
    window.close()
    return 0 if ok else 1
