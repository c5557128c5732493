"""Hybrid mode: tasks sent to a Hugging Face inference-protocol server on 127.0.0.1 through
huggingface_hub's InferenceClient(base_url=...). The server runs real models (VADER, whisper)."""

from __future__ import annotations

import pytest

from core.errors import RunnerError
from core.execution.runners import get_runner
from core.execution.runners.remote import remote_entry
from core.models import known_models
from tests.inference_server import inference_server  # noqa: F401 - fixture
from tests.runner_support import ensure_packaged, make_ctx, speak


def _ctx(entry, tmp_path, **settings):
    ctx = make_ctx(entry, tmp_path / "s")
    ctx.settings.update(settings)
    return ctx


def test_text_classification_runs_remotely(inference_server, tmp_path):  # noqa: F811
    entry = remote_entry("text-classification", inference_server.url + "/sentiment", "sentiment-server")
    out = get_runner("remote").run(_ctx(entry, tmp_path, allow_remote_experts=True),
                                   {"text": "The battery died after an hour. Awful!"})
    assert out.data["labels"][0]["label"] == "NEGATIVE" and out.data["remote"].endswith("/sentiment")
    path, ctype, size = inference_server.requests[-1]
    assert path == "/sentiment" and size > 0


@pytest.mark.slow
def test_speech_recognition_runs_remotely(inference_server, tmp_path):  # noqa: F811
    ensure_packaged(known_models.default_for("automatic-speech-recognition"))
    wav = speak("Please call me tomorrow morning.", tmp_path / "call.wav")
    entry = remote_entry("automatic-speech-recognition", inference_server.url + "/asr")
    out = get_runner("remote").run(_ctx(entry, tmp_path, allow_remote_experts=True), {"audio": wav})
    assert "tomorrow" in out.text.lower() and "morning" in out.text.lower(), out.text
    assert inference_server.requests[-1][2] == wav.stat().st_size  # the file's bytes went over HTTP


def test_remote_is_off_unless_allowed(inference_server, tmp_path):  # noqa: F811
    entry = remote_entry("text-classification", inference_server.url + "/sentiment")
    with pytest.raises(RunnerError, match="turned off"):
        get_runner("remote").run(_ctx(entry, tmp_path), {"text": "nice"})
    assert inference_server.requests == []


def test_offline_mode_never_calls_out(inference_server, tmp_path, monkeypatch):  # noqa: F811
    entry = remote_entry("text-classification", inference_server.url + "/sentiment")
    with pytest.raises(RunnerError, match="offline"):
        get_runner("remote").run(_ctx(entry, tmp_path, allow_remote_experts=True, offline=True), {"text": "x"})
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(RunnerError, match="offline"):
        get_runner("remote").run(_ctx(entry, tmp_path, allow_remote_experts=True), {"text": "x"})
    assert inference_server.requests == []


def test_bad_audio_is_refused_locally(inference_server, tmp_path):  # noqa: F811
    bad = tmp_path / "fake.wav"
    bad.write_text("not audio at all, just words")
    entry = remote_entry("automatic-speech-recognition", inference_server.url + "/asr")
    with pytest.raises(RunnerError, match="not audio"):
        get_runner("remote").run(_ctx(entry, tmp_path, allow_remote_experts=True), {"audio": bad})
    assert inference_server.requests == []


def test_server_errors_become_clear_messages(inference_server, tmp_path):  # noqa: F811
    entry = remote_entry("text-classification", inference_server.url + "/no-such-model")
    with pytest.raises(RunnerError, match="remote expert at .* failed"):
        get_runner("remote").run(_ctx(entry, tmp_path, allow_remote_experts=True), {"text": "hello"})
    down = remote_entry("text-classification", "http://127.0.0.1:9/sentiment")  # nothing listens there
    with pytest.raises(RunnerError, match="failed"):
        get_runner("remote").run(_ctx(down, tmp_path, allow_remote_experts=True), {"text": "hello"})
