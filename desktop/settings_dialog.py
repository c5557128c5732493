"""Settings: controller (packaged / GGUF file / Hub GGUF repo / OpenAI-compatible URL), device,
threads, memory budget, data folder, offline mode."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core.config import hardware
from core.config.settings import Settings, save_settings

PACKAGED = ["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"]
SOURCES = ["Packaged model", "GGUF file", "Hub GGUF repo", "OpenAI-compatible server"]


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(520)
        self.original = settings
        s = settings

        self.source = QComboBox()
        self.source.addItems(SOURCES)
        self.pages = QStackedWidget()
        self.packaged = QComboBox()
        self.packaged.addItems(PACKAGED)
        self.gguf_path = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_gguf)
        gguf_row = QWidget()
        row = QHBoxLayout(gguf_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.gguf_path, 1)
        row.addWidget(browse)
        self.hub_repo = QLineEdit()
        self.hub_repo.setPlaceholderText("org/repo-GGUF/file-q4_k_m.gguf")
        endpoint = QWidget()
        ep = QFormLayout(endpoint)
        ep.setContentsMargins(0, 0, 0, 0)
        self.endpoint_url = QLineEdit(s.endpoint_url)
        self.endpoint_url.setPlaceholderText("http://127.0.0.1:8080/v1")
        self.endpoint_model = QLineEdit(s.endpoint_model)
        self.endpoint_key = QLineEdit()
        self.endpoint_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.endpoint_key.setPlaceholderText(
            "stored in the OS keyring" if s.endpoint_key_in_keyring else "optional; kept in the OS keyring")
        ep.addRow("URL", self.endpoint_url)
        ep.addRow("Model name", self.endpoint_model)
        ep.addRow("API key", self.endpoint_key)
        for page in (self.packaged, gguf_row, self.hub_repo, endpoint):
            self.pages.addWidget(page)
        self.source.currentIndexChanged.connect(self.pages.setCurrentIndex)

        if s.endpoint_url:
            self.source.setCurrentIndex(3)
        elif s.controller.startswith("hub:"):
            self.source.setCurrentIndex(2)
            self.hub_repo.setText(s.controller[4:])
        elif s.controller.endswith(".gguf"):
            self.source.setCurrentIndex(1)
            self.gguf_path.setText(s.controller)
        else:
            self.source.setCurrentIndex(0)
            if s.controller not in PACKAGED:
                self.packaged.addItem(s.controller)
            self.packaged.setCurrentText(s.controller)

        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda", "mps"])
        self.device.setCurrentText(s.device)
        self.threads = QSpinBox()
        self.threads.setRange(0, 256)
        cores = hardware.physical_cores()
        self.threads.setSpecialValueText(f"automatic ({cores} cores)" if cores else "automatic")
        self.threads.setValue(s.threads)
        self.memory = QDoubleSpinBox()
        self.memory.setRange(0, 4096)
        self.memory.setSuffix(" GB")
        self.memory.setSpecialValueText("70 % of RAM")
        self.memory.setValue(s.memory_budget_gb)
        self.data_dir = QLineEdit(s.data_dir)
        self.data_dir.setPlaceholderText("default")
        data_browse = QPushButton("Browse…")
        data_browse.clicked.connect(self._browse_data)
        data_row = QWidget()
        drow = QHBoxLayout(data_row)
        drow.setContentsMargins(0, 0, 0, 0)
        drow.addWidget(self.data_dir, 1)
        drow.addWidget(data_browse)
        self.offline = QCheckBox("Never touch the network (only models already on disk)")
        self.offline.setChecked(s.offline)
        self.error = QLabel()
        self.error.setObjectName("notice")
        self.error.setStyleSheet("color: #b71c1c;")
        self.error.hide()

        form = QFormLayout()
        form.addRow("Controller", self.source)
        form.addRow("", self.pages)
        self.for_machine = QPushButton("Choose for this machine…")
        self.for_machine.setToolTip("What this machine can afford: the packaged 1.5B or a bigger Qwen2.5 (download)")
        self.for_machine.clicked.connect(self._choose_for_machine)
        form.addRow("", self.for_machine)
        form.addRow("Device", self.device)
        form.addRow("Threads", self.threads)
        form.addRow("Memory budget", self.memory)
        form.addRow("Data folder", data_row)
        form.addRow("Offline", self.offline)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self._result = settings

    def _choose_for_machine(self) -> None:
        """The welcome's recommendation and one-click download; its choice fills the controller here."""
        from desktop.welcome import WelcomeDialog

        dialog = WelcomeDialog(self.original, self)
        if not dialog.exec():
            return
        controller = dialog.settings.controller
        if controller.startswith("hub:"):
            self.source.setCurrentIndex(2)
            self.hub_repo.setText(controller[4:])
        else:
            self.source.setCurrentIndex(0)
            self.packaged.setCurrentText(controller)

    def _browse_gguf(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Controller model", "", "GGUF models (*.gguf)")
        if name:
            self.gguf_path.setText(name)

    def _browse_data(self) -> None:
        name = QFileDialog.getExistingDirectory(self, "Data folder")
        if name:
            self.data_dir.setText(name)

    def collect(self) -> Settings:
        """The edited settings; raises ValueError with a sentence for the user when one is wrong."""
        changes: dict = {"endpoint_url": "", "endpoint_model": ""}
        index = self.source.currentIndex()
        if index == 0:
            changes["controller"] = self.packaged.currentText()
        elif index == 1:
            path = self.gguf_path.text().strip()
            if not path.endswith(".gguf") or not Path(path).is_file():
                raise ValueError("Choose an existing .gguf file for the controller.")
            changes["controller"] = path
        elif index == 2:
            repo = self.hub_repo.text().strip()
            if repo.count("/") < 2 or not repo.endswith(".gguf"):
                raise ValueError("A Hub GGUF controller is written org/repo/file.gguf.")
            changes["controller"] = f"hub:{repo}"
        else:
            url = self.endpoint_url.text().strip()
            if not url.startswith(("http://", "https://")):
                raise ValueError("The server URL must start with http:// or https://.")
            changes["endpoint_url"] = url.rstrip("/")
            changes["endpoint_model"] = self.endpoint_model.text().strip()
        data = self.data_dir.text().strip()
        if data and not Path(data).expanduser().is_absolute():
            raise ValueError("The data folder must be an absolute path.")
        changes.update(device=self.device.currentText(), threads=self.threads.value(),
                       memory_budget_gb=float(self.memory.value()), offline=self.offline.isChecked(),
                       data_dir=str(Path(data).expanduser()) if data else "")
        return dataclasses.replace(self.original, **changes)

    def accept(self) -> None:
        try:
            self._result = self.collect()
        except ValueError as e:
            self.error.setText(str(e))
            self.error.show()
            return
        key = self.endpoint_key.text()
        if key and self._result.endpoint_url:
            # The key goes to the OS keyring, never into settings.json.
            from core.config.secrets import set_endpoint_key
            from core.errors import SecretsError

            try:
                set_endpoint_key(self._result.endpoint_url, key)
            except SecretsError as e:
                self.error.setText(f"The API key was not saved: {e}.")
                self.error.show()
                return
            self._result = dataclasses.replace(self._result, endpoint_key_in_keyring=True)
            self.endpoint_key.clear()
        save_settings(self._result)
        super().accept()

    def result_settings(self) -> Settings:
        return self._result
