"""`python main.py` with no arguments: open the window first, warm the engine up behind it."""

from __future__ import annotations

import json
import os
import sys
import time

_T0 = time.perf_counter()


def _apply_data_dir_setting() -> None:
    """The Settings' data folder applies unless MAESTRO_DATA already chose one (tests, portable)."""
    from core.config.settings import load_settings

    settings = load_settings()
    if settings.data_dir and not os.environ.get("MAESTRO_DATA"):
        os.environ["MAESTRO_DATA"] = settings.data_dir


def _setup_logging() -> str:
    """Rotating log in <data>/logs (core.config.logs); its path is shown to the user after a crash."""
    from core.config.logs import setup_logging

    return str(setup_logging())


def _install_crash_handler(log_path: str) -> None:
    """An unexpected exception in a Qt slot is logged and shown; the app keeps running, and the
    history is safe because every message is committed when it is shown."""
    import logging
    import threading

    def on_error(exc_type, exc, tb) -> None:  # noqa: ANN001 - excepthook signature
        logging.getLogger("maestro").error("unexpected error", exc_info=(exc_type, exc, tb))
        from PySide6.QtWidgets import QApplication, QMessageBox

        if QApplication.instance() is not None:
            QMessageBox.warning(None, "Maestro", f"Something went wrong: {exc}\n\n"
                                f"Your conversations are saved. Details are in {log_path}.")

    sys.excepthook = on_error
    threading.excepthook = lambda args: logging.getLogger("maestro").error(
        "unexpected error in thread %s", args.thread.name if args.thread else "?",
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback))


def create_window(engine_factory: str | None = None):  # noqa: ANN201 - returns (window, store, host)
    """Build the window and its collaborators without starting the engine (tests use this).

    `engine_factory` is "module:function", called in the engine process as f(bus, settings)."""
    from core.config.settings import load_settings
    from core.engine.store import Store
    from desktop.engine_host import EngineHost
    from desktop.main_window import MainWindow

    settings = load_settings()
    store = Store()
    host = EngineHost(settings, engine_factory)
    window = MainWindow(store, host, settings)
    return window, store, host


def no_display_reason() -> str | None:
    """Why no window can open here (Linux without X11/Wayland), or None. Qt itself would abort."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("No display was found (DISPLAY and WAYLAND_DISPLAY are not set). Use `python main.py chat` "
            "in a terminal, run under `xvfb-run`, or set QT_QPA_PLATFORM=offscreen.")


def run_app(argv: list[str] | None = None) -> int:
    reason = no_display_reason()
    if reason:
        print(reason, file=sys.stderr)
        return 1
    # Multimedia probes optional sound servers at import and complains when they are missing.
    os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.symbolsresolver=false")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from core.errors import StoreError

    app = QApplication.instance() or QApplication(sys.argv[:1] if argv is None else argv)
    app.setApplicationName("Maestro")
    app.setApplicationDisplayName("Maestro")
    _apply_data_dir_setting()
    _install_crash_handler(_setup_logging())
    try:
        window, store, host = create_window()
    except (StoreError, OSError) as e:
        QMessageBox.critical(None, "Maestro", f"The history database cannot be opened: {e}")
        return 1
    window.show()
    if os.environ.get("MAESTRO_STARTUP_PROBE"):
        # benchmarks/bench_startup.py: report once the window has been painted, then quit.
        def report() -> None:
            heavy = [m for m in ("torch", "transformers", "llama_cpp", "onnxruntime") if m in sys.modules]
            print(json.dumps({"shown_at": time.time(), "in_process_s": time.perf_counter() - _T0,
                              "heavy_modules_loaded": heavy}), flush=True)
            app.quit()

        QTimer.singleShot(0, report)
    else:
        QTimer.singleShot(0, host.start)  # after the first paint
        from desktop.welcome import needs_welcome

        if needs_welcome():  # the first run: this machine, what works offline, which controller
            QTimer.singleShot(200, window.open_welcome)
    try:
        return app.exec()
    finally:
        host.close(5.0)
        store.close()
