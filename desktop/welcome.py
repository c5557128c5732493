"""The first-run welcome: this machine, what works offline right now, and the controller it can
afford (core.selection.recommend), fetched in one click with progress; Help → Welcome opens it again, and
Settings → controller switches later."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from core.config.settings import Settings, save_settings, settings_path
from core.response.evidence import human_size
from core.selection import recommend
from core.selection.recommend import ControllerChoice, Machine
from desktop.jobs import Job


def welcome_marker() -> Path:
    """Exists once the welcome was answered (kept beside the settings file)."""
    return settings_path().with_name("welcome-done")


def needs_welcome() -> bool:
    return not welcome_marker().exists()


def machine_lines(m: Machine) -> list[str]:
    gpu = (f"{m.gpu}" + (f", {human_size(m.vram_bytes)} VRAM" if m.vram_bytes else "")
           + ("" if m.gpu_offload else " (this llama.cpp build runs on the CPU)")) if m.gpu else \
        "none found — models run on the CPU"
    return [f"<b>CPU</b> {m.cpu} — {m.cores} core{'s' if m.cores != 1 else ''}, {m.threads} threads",
            f"<b>Memory</b> {human_size(m.ram_bytes)} ({human_size(m.ram_available_bytes)} free now)",
            f"<b>GPU</b> {gpu}",
            f"<b>Disk free for models</b> {human_size(m.disk_free_bytes)}"]


class WelcomeDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None, machine: Machine | None = None,
                 offline: tuple[list[str], list[tuple[str, str]]] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to Maestro")
        self.setMinimumWidth(720)
        self.settings = settings
        self.machine = machine or recommend.detect_machine()
        self.recommendation = recommend.recommend(self.machine)
        ready, missing = offline if offline is not None else recommend.offline_tasks(settings)
        self.job: Job | None = None

        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)  # wrapped labels are never clipped
        head = QLabel("Welcome to Maestro")
        head.setObjectName("welcomeHead")
        layout.addWidget(head)
        layout.addWidget(QLabel("Everything runs on this computer. Here is what it has and what works right now."))

        box = QFrame()
        box.setObjectName("card")
        col = QVBoxLayout(box)
        col.addWidget(QLabel("<b>This machine</b>"))
        for line in machine_lines(self.machine):
            col.addWidget(QLabel(line))
        layout.addWidget(box)

        tasks = QFrame()
        tasks.setObjectName("card")
        col = QVBoxLayout(tasks)
        self.offline_label = QLabel(f"<b>Works offline now: {len(ready)} of {len(ready) + len(missing)} task "
                                    f"types</b> — {', '.join(ready)}.")
        self.offline_label.setWordWrap(True)
        col.addWidget(self.offline_label)
        if missing:
            more = QLabel("Need a model download first: " + ", ".join(name for name, _ in missing) +
                          ". The graph shows a Download button on such a task when you ask for it.")
            more.setWordWrap(True)
            more.setObjectName("cardFile")
            col.addWidget(more)
        layout.addWidget(tasks)

        choose = QFrame()
        choose.setObjectName("card")
        col = QVBoxLayout(choose)
        col.addWidget(QLabel("<b>The controller</b> (the LLM that plans each request and writes the answer)"))
        why = QLabel(self.recommendation.why)
        why.setWordWrap(True)
        col.addWidget(why)
        self.group = QButtonGroup(self)
        self.radios: dict[str, QRadioButton] = {}
        for v in self.recommendation.verdicts:
            c = v.choice
            mark = " — recommended for this machine" if c.key == self.recommendation.best.key else ""
            radio = QRadioButton(f"{c.label}{mark}")
            radio.setEnabled(v.fits)
            note = QLabel(v.why)
            note.setWordWrap(True)
            note.setObjectName("cardFile")
            note.setContentsMargins(24, 0, 0, 4)
            self.group.addButton(radio)
            self.radios[c.key] = radio
            col.addWidget(radio)
            col.addWidget(note)
        current = recommend.choice_for_setting(settings.controller)
        # The first time, the recommendation; later (Help → Welcome), the controller in use.
        start = current.key if current is not None and self.radios[current.key].isEnabled() and \
            not needs_welcome() else self.recommendation.best.key
        self.radios[start].setChecked(True)
        layout.addWidget(choose)

        self.progress = QProgressBar()
        self.progress.hide()
        self.status = QLabel("You can change this later in Tools → Settings → controller.")
        self.status.setWordWrap(True)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)

        row = QHBoxLayout()
        row.addStretch(1)
        self.skip_button = QPushButton("Keep the current controller")
        self.skip_button.clicked.connect(self.skip)
        self.use_button = QPushButton("Use this controller")
        self.use_button.setObjectName("send")
        self.use_button.setDefault(True)
        self.use_button.clicked.connect(self.use_selected)
        self.cancel_button = QPushButton("Cancel download")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self.cancel_download)
        for b in (self.skip_button, self.cancel_button, self.use_button):
            row.addWidget(b)
        layout.addLayout(row)

    def showEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        super().showEvent(event)
        self.fit_labels()

    def fit_labels(self) -> None:
        """Wrapped labels get the height their text needs at their real width (Qt guesses it at
        another width and clips the last lines), then the dialog takes its full height."""
        self.layout().activate()
        for label in self.findChildren(QLabel):
            if label.wordWrap() and label.width() > 0:
                label.setMinimumHeight(label.heightForWidth(label.width()))
        self.adjustSize()

    def selected(self) -> ControllerChoice:
        key = next(k for k, r in self.radios.items() if r.isChecked())
        return recommend.choice(key)

    # ------------------------------------------------------------------ actions
    def skip(self) -> None:
        _mark_done()
        self.reject()

    def use_selected(self) -> None:
        c = self.selected()
        if c.packaged or recommend.choice_for_setting(self.settings.controller) == c and _is_cached(c):
            self._finish(c.setting)
            return
        self.use_button.setEnabled(False)
        self.skip_button.setEnabled(False)
        self.cancel_button.show()
        self.progress.show()
        self.progress.setRange(0, 0)
        self.status.setText(f"Downloading {c.label} from the Hub (resumes if interrupted; checked with sha256)…")
        settings = self.settings
        self.job = Job(lambda progress, cancel: recommend.download_controller(
            c, progress=progress, cancel=cancel, settings=settings), self)
        self.job.progressed.connect(self._on_progress)
        self.job.finished.connect(self._on_finished)
        self.job.start()

    def cancel_download(self) -> None:
        if self.job is not None:
            self.job.cancel.set()
            self.status.setText("Cancelling… the part already downloaded is kept for next time.")

    def _on_progress(self, e) -> None:  # noqa: ANN001 - a DownloadProgress
        if e.total_bytes:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * e.done_bytes / e.total_bytes))
            eta = f", {e.eta_s:.0f} s left" if e.eta_s is not None else ""
            self.status.setText(f"Downloading {e.filename}: {human_size(e.done_bytes)} of {human_size(e.total_bytes)}"
                                f" ({human_size(e.speed_bps)}/s{eta})")

    def _on_finished(self, value: object, error: str) -> None:
        self.cancel_button.hide()
        self.use_button.setEnabled(True)
        self.skip_button.setEnabled(True)
        if error:
            self.progress.hide()
            self.status.setText(f"The download did not finish: {error}. Try again (it resumes), or keep the "
                                "current controller.")
            return
        self._finish(str(value))

    def _finish(self, controller: str) -> None:
        self.settings = dataclasses.replace(self.settings, controller=controller, endpoint_url="")
        save_settings(self.settings)
        _mark_done()
        self.accept()

    def done(self, result: int) -> None:  # noqa: A003 - Qt API
        if self.job is not None and self.job.running:
            self.job.cancel.set()
            self.job.wait(10)
        super().done(result)


def _mark_done() -> None:
    marker = welcome_marker()
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("1\n", encoding="utf-8")


def _is_cached(c: ControllerChoice) -> bool:
    from core.models import hub

    return hub.is_cached(c.repo, list(c.files))
