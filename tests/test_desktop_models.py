"""Model manager dialog against the loopback Hub server: progress, cancel, resume, delete."""

from __future__ import annotations

import os

import pytest

from core.config.settings import Settings, load_settings
from tests.hubserver import hub_server  # noqa: F401 - fixture

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_level_fail("WARNING"),
              pytest.mark.qt_log_ignore("propagateSizeHints")]

WEIGHTS = os.urandom(3_000_000)


@pytest.fixture
def dialog(qtbot, hub_server):  # noqa: F811 - fixture
    from desktop.models_dialog import ModelManager

    hub_server.add_repo("org/tiny-detector", {"config.json": '{"model_type": "yolos"}',
                                              "model.safetensors": WEIGHTS})
    dlg = ModelManager(Settings())
    qtbot.addWidget(dlg)
    dlg.show()
    yield dlg
    dlg.cancel_download()
    dlg.wait(10)


def test_download_with_progress_then_delete(dialog, qtbot):
    seen: list[int] = []
    dialog.progress.valueChanged.connect(seen.append)
    dialog.repo_edit.setText("org/tiny-detector")
    dialog.download_button.click()
    qtbot.waitUntil(lambda: not dialog.downloading, timeout=30000)
    assert dialog.last_error == ""
    assert dialog.progress.value() == 1000 and seen, "no progress was shown"
    row = dialog.row("org/tiny-detector")
    assert row is not None and row.installed and row.size >= len(WEIGHTS)
    assert "3.0 MB" in dialog.total.text() or "2.9 MB" in dialog.total.text()
    assert dialog.delete("org/tiny-detector") >= len(WEIGHTS)
    assert dialog.row("org/tiny-detector") is None


def test_cancel_then_resume(dialog, qtbot, hub_server):  # noqa: F811 - fixture
    hub_server.throttle_bps = 1_000_000  # ~3 s for the weights: time to press Cancel
    dialog.start_download("org/tiny-detector")
    qtbot.waitUntil(lambda: 50 < dialog.progress.value() < 1000, timeout=20000)
    assert "ETA" in dialog.progress_label.text()
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.downloading, timeout=20000)
    assert "cancelled" in dialog.last_error and "resume" in dialog.last_error
    row = dialog.row("org/tiny-detector")
    assert row is not None and row.partial and not row.installed
    hub_server.throttle_bps = 0
    dialog.start_download("org/tiny-detector")
    qtbot.waitUntil(lambda: not dialog.downloading, timeout=30000)
    assert dialog.last_error == ""
    assert dialog.row("org/tiny-detector").installed
    ranged = [r for r in hub_server.ranges if r[0].endswith("/model.safetensors")]
    assert ranged, "the second download did not resume with a Range request"


def test_offline_switch_is_saved_and_refuses_downloads(dialog, qtbot):
    dialog.offline.setChecked(True)
    assert load_settings().offline is True
    dialog.start_download("org/tiny-detector")
    qtbot.waitUntil(lambda: not dialog.downloading, timeout=10000)
    assert "offline" in dialog.last_error


def test_packaged_catalog_models_are_listed_per_task(dialog):
    dialog.task_filter.setCurrentText("automatic-speech-recognition")
    rows = [[dialog.table.item(i, j).text() for j in range(6)] for i in range(dialog.table.rowCount())]
    all_tasks = [dialog.table.item(i, 1).toolTip() for i in range(dialog.table.rowCount())]
    assert rows and all("automatic-speech-recognition" in t for t in all_tasks)
    whisper = next(r for r in rows if r[0] == "Systran/faster-whisper-tiny.en")
    assert whisper[2] == "faster-whisper" and whisper[3] == "mit"
    # The dialog's models cache is the hub_server fixture's empty temp folder: nothing is installed there.
    assert whisper[5] == "not installed (packaged)"
    dialog.start_download("local:vader")
    assert "not a Hub download" in dialog.progress_label.text()


def _whisper_status(dialog) -> str:
    dialog.reload()
    dialog.task_filter.setCurrentText("automatic-speech-recognition")
    row = next(i for i in range(dialog.table.rowCount())
               if dialog.table.item(i, 0).text() == "Systran/faster-whisper-tiny.en")
    return dialog.table.item(row, 5).text()


def test_packaged_model_status_follows_the_cache(dialog):
    """The status column reads the models cache: installed once every file of the model is in its
    snapshot (as a pack or a Hub download leaves it), not installed while one is missing."""
    from core.models import catalog
    from core.models import layout as hf_layout

    entry = catalog.get("Systran/faster-whisper-tiny.en")
    assert entry is not None and entry.pack and entry.files
    repo = hf_layout.repo_dir(entry.id)
    commit = "0" * 40
    hf_layout.write_ref(entry.id, "main", commit)

    def place(name: str) -> None:
        blob = repo / "blobs" / f"blob-{name.replace('/', '-')}"
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(b"weights of " + name.encode())
        hf_layout.link_snapshot_file(blob, repo / "snapshots" / commit / name)

    for name in entry.files[:-1]:
        place(name)
    assert _whisper_status(dialog) == "not installed (packaged)"  # one file is still missing
    place(entry.files[-1])
    assert _whisper_status(dialog) == "installed (packaged)"
