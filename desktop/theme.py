"""Colours and the application style sheet, light and dark, in one place.

The theme follows the OS (Qt 6.5+ `QStyleHints.colorScheme()`, and its change signal);
MAESTRO_THEME=dark|light overrides it (screenshots, X servers without a desktop theme)."""

from __future__ import annotations

import os

# state -> (fill, border/accent)
STATE_COLOURS: dict[str, tuple[str, str]] = {
    "selecting": ("#ede7f6", "#7e57c2"),
    "pending": ("#eceff1", "#90a4ae"),
    "running": ("#e3f2fd", "#1e88e5"),
    "done": ("#e8f5e9", "#43a047"),
    "failed": ("#ffebee", "#e53935"),
    "skipped": ("#fff8e1", "#f9a825"),
    "cancelled": ("#efebe9", "#8d6e63"),
    "waiting": ("#eceff1", "#90a4ae"),
    "download": ("#fff3e0", "#ef6c00"),
}
DARK_STATE_COLOURS: dict[str, tuple[str, str]] = {
    "selecting": ("#2d2640", "#9575cd"),
    "pending": ("#2a2f33", "#78909c"),
    "running": ("#1b2e44", "#42a5f5"),
    "done": ("#1e3324", "#66bb6a"),
    "failed": ("#3d2224", "#ef5350"),
    "skipped": ("#3a3220", "#fbc02d"),
    "cancelled": ("#332c29", "#a1887f"),
    "waiting": ("#2a2f33", "#78909c"),
    "download": ("#3b2a17", "#ffa726"),
}

STATE_LABELS = {
    "selecting": "choosing a model",
    "pending": "waiting",
    "running": "running",
    "done": "done",
    "failed": "failed",
    "skipped": "skipped",
    "cancelled": "cancelled",
    "waiting": "waiting for results",
    "download": "needs a download",
}

ACCENT = "#3949ab"

# Colours the graph paints with (QSS does not reach a QGraphicsScene).
INK = {"light": {"title": "#1f2328", "text": "#444444", "muted": "#80868b", "canvas": "#fbfbfd", "track": "#cfd8dc",
                 "button": "#ef6c00", "button_text": "#ffffff"},
       "dark": {"title": "#e8eaed", "text": "#bdc1c6", "muted": "#9aa0a6", "canvas": "#1b1c1f", "track": "#3c4043",
                "button": "#ffa726", "button_text": "#1b1c1f"}}

_dark = False

STYLE = """
QMainWindow, QDialog { background: #fafafa; }
QListWidget#conversations { border: none; background: #f1f3f6; font-size: 13px; }
QListWidget#conversations::item { padding: 7px 8px; border-radius: 6px; }
QListWidget#conversations::item:selected { background: #dfe3ee; color: #111; }
QWidget#sidebar { background: #f1f3f6; }
QScrollArea#chat { border: none; background: #ffffff; }
QWidget#chatBody { background: #ffffff; }
QFrame#bubbleUser { background: #e8eaf6; border-radius: 10px; }
QFrame#bubbleAssistant { background: #f6f7f9; border: 1px solid #e3e6ea; border-radius: 10px; }
QLabel#role { color: #5f6368; font-weight: 600; font-size: 11px; }
QFrame#composer { background: #ffffff; border: 1px solid #d0d4da; border-radius: 10px; }
QFrame#composer[dragging="true"] { border: 2px dashed #3949ab; background: #f3f4fb; }
QPlainTextEdit#input { border: none; background: transparent; font-size: 13px; }
QPushButton#send { background: #3949ab; color: white; border: none; border-radius: 6px; padding: 6px 16px; font-weight: 600; }
QPushButton#send:disabled { background: #9fa8da; }
QPushButton#stop { background: #e53935; color: white; border: none; border-radius: 6px; padding: 6px 16px; font-weight: 600; }
QLabel#notice { color: #b71c1c; }
QLabel#panelTitle { font-weight: 600; font-size: 13px; color: #333; }
QFrame#chip { background: #eef0f7; border: 1px solid #d5d9e8; border-radius: 8px; }
QFrame#card { background: #ffffff; border: 1px solid #dfe2e8; border-radius: 8px; }
QLabel#cardTitle { font-weight: 600; color: #3949ab; }
QLabel#cardWarning { color: #b45309; }
QLabel#cardError { color: #b71c1c; }
QLabel#cardFile { color: #5f6368; }
QLabel#thumb { border: 1px solid #d0d4da; }
QPushButton#cardButton { padding: 3px 10px; }
QLabel#welcomeHead { font-size: 17px; font-weight: 600; }
"""

DARK_STYLE = """
QMainWindow, QDialog { background: #1e1f22; color: #e8eaed; }
QListWidget#conversations { border: none; background: #25272b; color: #e8eaed; font-size: 13px; }
QListWidget#conversations::item { padding: 7px 8px; border-radius: 6px; }
QListWidget#conversations::item:selected { background: #3a3f4b; color: #ffffff; }
QWidget#sidebar { background: #25272b; }
QScrollArea#chat { border: none; background: #1b1c1f; }
QWidget#chatBody { background: #1b1c1f; }
QFrame#bubbleUser { background: #2f3650; border-radius: 10px; }
QFrame#bubbleAssistant { background: #26282c; border: 1px solid #34373c; border-radius: 10px; }
QLabel#role { color: #9aa0a6; font-weight: 600; font-size: 11px; }
QFrame#composer { background: #26282c; border: 1px solid #3c4043; border-radius: 10px; }
QFrame#composer[dragging="true"] { border: 2px dashed #8c9eff; background: #2a2d3a; }
QPlainTextEdit#input { border: none; background: transparent; color: #e8eaed; font-size: 13px; }
QPushButton#send { background: #5c6bc0; color: white; border: none; border-radius: 6px; padding: 6px 16px; font-weight: 600; }
QPushButton#send:disabled { background: #3f4566; color: #aab; }
QPushButton#stop { background: #e53935; color: white; border: none; border-radius: 6px; padding: 6px 16px; font-weight: 600; }
QLabel#notice { color: #ef9a9a; }
QLabel#panelTitle { font-weight: 600; font-size: 13px; color: #e8eaed; }
QFrame#chip { background: #2c2f36; border: 1px solid #3c4043; border-radius: 8px; }
QFrame#card { background: #202226; border: 1px solid #3a3d42; border-radius: 8px; }
QLabel#cardTitle { font-weight: 600; color: #9fa8da; }
QLabel#cardWarning { color: #ffb74d; }
QLabel#cardError { color: #ef9a9a; }
QLabel#cardFile { color: #9aa0a6; }
QLabel#thumb { border: 1px solid #3c4043; }
QPushButton#cardButton { padding: 3px 10px; }
QLabel#welcomeHead { font-size: 17px; font-weight: 600; }
"""


def os_prefers_dark() -> bool:
    forced = os.environ.get("MAESTRO_THEME", "").strip().lower()
    if forced in ("dark", "light"):
        return forced == "dark"
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication

    hints = QGuiApplication.styleHints() if QGuiApplication.instance() else None
    scheme = getattr(hints, "colorScheme", None)
    return bool(scheme is not None and scheme() == Qt.ColorScheme.Dark)


def is_dark() -> bool:
    return _dark


def state_colours() -> dict[str, tuple[str, str]]:
    return DARK_STATE_COLOURS if _dark else STATE_COLOURS


def ink(name: str) -> str:
    return INK["dark" if _dark else "light"][name]


def style() -> str:
    return DARK_STYLE if _dark else STYLE


def apply(window, dark: bool | None = None) -> bool:  # noqa: ANN001 - a QWidget
    """Use the dark or light theme (the OS's choice when `dark` is None) for the app and `window`."""
    global _dark
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QApplication

    _dark = os_prefers_dark() if dark is None else dark
    app = QApplication.instance()
    if app is not None:
        if _dark:
            pal = QPalette()
            for role, colour in ((QPalette.ColorRole.Window, "#1e1f22"), (QPalette.ColorRole.WindowText, "#e8eaed"),
                                 (QPalette.ColorRole.Base, "#1b1c1f"), (QPalette.ColorRole.AlternateBase, "#25272b"),
                                 (QPalette.ColorRole.Text, "#e8eaed"), (QPalette.ColorRole.Button, "#2c2f36"),
                                 (QPalette.ColorRole.ButtonText, "#e8eaed"), (QPalette.ColorRole.Highlight, "#5c6bc0"),
                                 (QPalette.ColorRole.HighlightedText, "#ffffff"), (QPalette.ColorRole.ToolTipBase, "#2c2f36"),
                                 (QPalette.ColorRole.ToolTipText, "#e8eaed"), (QPalette.ColorRole.Link, "#8c9eff"),
                                 (QPalette.ColorRole.PlaceholderText, "#80868b"), (QPalette.ColorRole.Mid, "#3c4043")):
                pal.setColor(role, QColor(colour))
            app.setPalette(pal)
        else:
            app.setPalette(app.style().standardPalette())
    if window is not None:
        window.setStyleSheet(style())
    return _dark
