"""automatic-speech-recognition with the packaged whisper tiny.en (real model, real speech)."""

from __future__ import annotations

import pytest

from core.errors import RunnerError
from core.execution.runners import get_runner
from core.models import known_models
from core.models.pool import default_pool
from tests.runner_support import ensure_packaged, make_ctx, speak

ASR = known_models.default_for("automatic-speech-recognition")


def test_default_asr_model_is_the_packaged_whisper():
    assert ASR is not None and ASR.runtime == "faster-whisper" and ASR.pack == "whisper-tiny.en"


@pytest.mark.slow
def test_transcribes_espeak_speech(tmp_path):
    ensure_packaged(ASR)
    wav = speak("The quick brown fox jumps over the lazy dog.", tmp_path / "fox.wav")
    out = get_runner("faster-whisper").run(make_ctx(ASR, tmp_path / "s"), {"audio": wav})
    heard = [w for w in ("quick", "brown", "fox", "lazy", "dog") if w in out.text.lower()]
    # robotic espeak voice + the smallest whisper: allow one word to slip on other CPUs' int8 kernels
    assert len(heard) >= 4, out.text
    assert out.data["language"] == "en"
    assert out.data["segments"] and out.data["segments"][0]["end"] > 1.0
    # the same model again: served warm from the pool, not loaded a second time
    loads = default_pool().loads
    again = get_runner("faster-whisper").run(make_ctx(ASR, tmp_path / "s2"), {"audio": wav})
    assert again.data["model_loaded"] is False and default_pool().loads == loads
    assert again.text == out.text


@pytest.mark.slow
def test_transcribes_compressed_audio_at_another_rate(tmp_path):
    """An 8 kHz FLAC is decoded and resampled to 16 kHz before whisper sees it."""
    import soundfile as sf

    ensure_packaged(ASR)
    wav = speak("Please call me tomorrow morning.", tmp_path / "call.wav")
    data, rate = sf.read(wav)
    flac = tmp_path / "call.flac"
    sf.write(flac, data[::2], rate // 2 - 25)  # 22050 -> ~11 kHz, an odd rate on purpose
    out = get_runner("faster-whisper").run(make_ctx(ASR, tmp_path / "s"), {"audio": flac})
    assert "tomorrow" in out.text.lower() and "morning" in out.text.lower(), out.text


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"this is a plain text file, not audio at all\n" * 20, "not audio"),
])
def test_bad_audio_is_a_clear_error_before_loading(tmp_path, content, message):
    bad = tmp_path / "input.wav"
    bad.write_bytes(content)
    loads = default_pool().loads
    with pytest.raises(RunnerError, match=message):
        get_runner("faster-whisper").run(make_ctx(ASR, tmp_path / "s"), {"audio": bad})
    assert default_pool().loads == loads


def test_missing_audio_file(tmp_path):
    with pytest.raises(RunnerError, match="not found"):
        get_runner("faster-whisper").run(make_ctx(ASR, tmp_path / "s"), {"audio": tmp_path / "nope.wav"})


def test_missing_model_names_the_pack(tmp_path, monkeypatch):
    monkeypatch.setenv("MAESTRO_MODELS", str(tmp_path / "empty"))
    wav = speak("hello there", tmp_path / "hello.wav")
    with pytest.raises(RunnerError, match="whisper-tiny.en"):
        get_runner("faster-whisper").run(make_ctx(ASR, tmp_path / "s"), {"audio": wav})
