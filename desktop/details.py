"""Details of one graph node: the model and why it was chosen, inputs, outputs, timings, error,
and "re-run with another model"."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from core.plan import RESOURCE_RE
from desktop import theme
from desktop.evidence_text import download_line
from desktop.state import RESPONSE_ID, TurnState
from desktop.theme import STATE_LABELS

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}


def models_for(task: str) -> list[str]:
    """Model ids the catalog offers for a task ([] while the catalog is not available)."""
    try:
        from core.models import catalog

        finder = getattr(catalog, "models_for_task", None)
        if finder is None:
            from core.models.known_models import for_task as finder
        return [m.id for m in finder(task)]
    except Exception:  # noqa: BLE001 - the panel must open even if the catalog is broken
        return []


class TaskDetails(QWidget):
    rerun_requested = Signal(str, int, str)  # turn_id, task_id, model id
    download_requested = Signal(str, int, str)  # turn_id, task_id, the missing model's id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.turn: TurnState | None = None
        self.task_id: int | None = None
        self._asked: tuple[bool, str] = (True, "")
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(False)
        self.browser.setOpenLinks(False)
        self.model_box = QComboBox()
        self.model_box.setMinimumWidth(160)
        self.rerun_button = QPushButton("Re-run with this model")
        self.rerun_button.clicked.connect(self._rerun)
        self.rerun_note = QLabel()
        self.rerun_note.setWordWrap(True)
        self.rerun_note.setStyleSheet("color: #666;")
        self.download_button = QPushButton()
        self.download_button.setObjectName("downloadButton")
        self.download_button.clicked.connect(self._download)
        self.download_button.hide()
        row = QHBoxLayout()
        row.addWidget(self.model_box, 1)
        row.addWidget(self.rerun_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.browser, 1)
        layout.addWidget(self.download_button)
        layout.addLayout(row)
        layout.addWidget(self.rerun_note)
        self.clear()

    def clear(self) -> None:
        self.turn, self.task_id = None, None
        self.download_button.hide()
        self.browser.setHtml("<p style='color:#80868b'>Click a node to see its model, inputs, outputs, "
                             "timings and errors.</p>")
        self._rerun_controls(False, "")

    def show_task(self, turn: TurnState, task_id: int, can_rerun: bool = True, why_not: str = "") -> None:
        self.turn, self.task_id = turn, task_id
        self._asked = (can_rerun, why_not)
        if task_id == RESPONSE_ID:
            self.download_button.hide()
            self.browser.setHtml(_response_html(turn))
            self._rerun_controls(False, "")
            return
        t = turn.tasks.get(task_id)
        if t is None:
            self.clear()
            return
        self.browser.setHtml(task_html(turn, task_id))
        need = t.download if t.needs_download else None
        self.download_button.setVisible(need is not None)
        if need is not None:
            self.download_button.setText(f"Download {need.get('model')} ({download_line(need)}) and run")
        choices = [m for m in dict.fromkeys([*t.candidates, *models_for(t.task)]) if m and m != t.model]
        self.model_box.clear()
        self.model_box.addItems(choices)
        running = turn.status in ("planning", "running")
        if running:
            why_not = "Wait for the turn to finish to re-run a task."
        elif not choices:
            why_not = f"No other model is known for {t.task}."
        self._rerun_controls(can_rerun and not running and bool(choices), why_not)

    def refresh(self) -> None:
        if self.turn is not None and self.task_id is not None:
            scroll = self.browser.verticalScrollBar().value()
            self.show_task(self.turn, self.task_id, *self._asked)
            self.browser.verticalScrollBar().setValue(scroll)

    def _rerun_controls(self, enabled: bool, why_not: str) -> None:
        visible = self.task_id is not None and self.task_id != RESPONSE_ID
        self.model_box.setVisible(visible)
        self.rerun_button.setVisible(visible)
        self.model_box.setEnabled(enabled)
        self.rerun_button.setEnabled(enabled)
        self.rerun_note.setText("" if enabled else why_not)
        self.rerun_note.setVisible(visible and bool(why_not) and not enabled)

    def _download(self) -> None:
        t = self.turn.tasks.get(self.task_id) if self.turn is not None and self.task_id is not None else None
        if t is not None and t.download:
            self.download_requested.emit(self.turn.turn_id, t.id, str(t.download.get("model")))

    def _rerun(self) -> None:
        model = self.model_box.currentText()
        if self.turn is not None and self.task_id is not None and model:
            self.rerun_requested.emit(self.turn.turn_id, self.task_id, model)


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _arg_html(value: Any) -> str:
    """An arg value, with `<resource>-N` shown as a readable reference (escaped around it)."""
    if not isinstance(value, str):
        return _esc(value)
    out, last = [], 0
    for m in RESOURCE_RE.finditer(value):
        out.append(_esc(value[last:m.start()]))
        out.append(f"<i>output of task #{m.group(1)}</i>")
        last = m.end()
    out.append(_esc(value[last:]))
    return "".join(out)


def task_html(turn: TurnState, task_id: int) -> str:
    t = turn.tasks[task_id]
    shown = "download" if t.needs_download else t.status
    colours = theme.state_colours()
    fill, accent = colours.get(shown, colours["pending"])
    parts = [f"<h3 style='margin:0'>#{t.id} {_esc(t.task)} "
             f"<span style='background:{fill}; color:{accent};'>&nbsp;{STATE_LABELS.get(shown, shown)}"
             "&nbsp;</span></h3>"]
    if t.download and t.status != "done":
        need = t.download
        parts.append(f"<p><b>Needs a download:</b> {_esc(need.get('model'))} ({_esc(download_line(need))}). "
                     "It is not installed; the button below fetches it (resumable, checked) and runs the task."
                     "</p>")
    parts.append(f"<p><b>Model:</b> {_esc(t.model or 'not chosen yet')}"
                 f"{f' <span style=color:#666>({_esc(t.runtime)})</span>' if t.runtime else ''}</p>")
    if t.reason:
        parts.append(f"<p><b>Why this model:</b> {_esc(t.reason)}</p>")
    if t.candidates:
        parts.append(f"<p><b>Candidates:</b> {', '.join(_esc(c) for c in t.candidates)}</p>")
    if t.dep:
        parts.append(f"<p><b>Depends on:</b> {', '.join(f'#{d}' for d in t.dep)}</p>")
    if t.args:
        rows = "".join(f"<tr><td><b>{_esc(k)}</b>&nbsp;</td><td>{_arg_html(v)}</td></tr>" for k, v in t.args.items())
        parts.append(f"<p><b>Inputs</b></p><table>{rows}</table>")
    result = t.result or {}
    resolved = result.get("inputs") or {}
    if resolved:
        rows = "".join(f"<tr><td><b>{_esc(k)}</b>&nbsp;</td><td>{_esc(_short(str(v)))}</td></tr>"
                       for k, v in resolved.items())
        parts.append(f"<p><b>Resolved inputs</b></p><table>{rows}</table>")
    output = result.get("output") or {}
    if output.get("text"):
        parts.append(f"<p><b>Output</b></p><pre style='white-space:pre-wrap'>{_esc(_short(output['text'], 2000))}</pre>")
    for f in output.get("files") or []:
        path = Path(str(f.get("path", "")))
        url = QUrl.fromLocalFile(str(path)).toString()
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
            parts.append(f"<p><img src='{_esc(url)}' width='240'><br><small>{_esc(path.name)}</small></p>")
        else:
            parts.append(f"<p>{_esc(f.get('modality', 'file'))}: <a href='{_esc(url)}'>{_esc(path.name)}</a></p>")
    if output.get("data"):
        data = json.dumps(output["data"], ensure_ascii=False, indent=1, default=str)
        parts.append(f"<details><p><b>Data</b></p><pre>{_esc(_short(data, 1500))}</pre></details>")
    timing = []
    if t.duration_s is not None:
        timing.append(f"ran {t.duration_s:.2f} s")
    if result.get("load_s"):
        timing.append(f"of which loading the model {float(result['load_s']):.2f} s")
    if t.status == "running" and t.message:
        timing.append(_esc(t.message))
    if timing:
        parts.append(f"<p><b>Timings:</b> {', '.join(timing)}</p>")
    if result.get("error"):
        parts.append(f"<p style='color:#b71c1c'><b>Error:</b> {_esc(result['error'])}</p>")
    return "".join(parts)


def _response_html(turn: TurnState) -> str:
    state = {"running": "writing", "done": "done", "failed": "failed", "cancelled": "cancelled"}.get(
        turn.response, "waiting for the tasks")
    parts = [f"<h3 style='margin:0'>answer — {state}</h3>",
             "<p>The controller LLM writes the answer from the tasks' structured results.</p>"]
    if turn.timings:
        rows = "".join(f"<tr><td>{_esc(k)}&nbsp;</td><td>{float(v):.2f} s</td></tr>"
                       for k, v in turn.timings.items() if isinstance(v, (int, float)))
        parts.append(f"<p><b>Turn timings</b></p><table>{rows}</table>")
    if turn.plan_seconds:
        parts.append(f"<p>Planning took {turn.plan_seconds:.2f} s{' (repaired once)' if turn.repaired else ''}.</p>")
    if turn.error:
        parts.append(f"<p style='color:#b71c1c'><b>Error:</b> {_esc(turn.error)}</p>")
    return "".join(parts)


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
