"""Input checks shared by all runners: images and audio decode (or fail clearly) before any model loads."""

from __future__ import annotations

import pytest

from core.errors import RunnerError
from core.execution.runners.media import load_audio, load_image, text_arg


def test_transparent_png_is_put_on_white(tmp_path):
    from PIL import Image

    path = tmp_path / "logo.png"
    im = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    im.putpixel((5, 5), (255, 0, 0, 255))
    im.save(path)
    rgb = load_image({"image": path})
    assert rgb.mode == "RGB" and rgb.getpixel((0, 0)) == (255, 255, 255) and rgb.getpixel((5, 5)) == (255, 0, 0)


def test_exif_rotation_is_applied(tmp_path):
    from PIL import Image

    path = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    Image.new("RGB", (40, 20), "blue").save(path, exif=exif)
    assert load_image({"image": path}).size == (20, 40)


def test_audio_is_mono_16k_float(tmp_path):
    import numpy as np
    import soundfile as sf

    path = tmp_path / "tone.ogg"
    t = np.linspace(0, 1.0, 44100, endpoint=False)
    sf.write(path, np.stack([np.sin(2 * np.pi * 440 * t), np.zeros_like(t)], axis=1) * 0.5, 44100)
    audio = load_audio({"audio": path})
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) - 16000) < 400 and 0.1 < float(np.abs(audio).max()) <= 1.0


@pytest.mark.parametrize("content, message", [(b"", "empty"), (b"\x00\x01garbage" * 50, "not audio")])
def test_bad_audio(tmp_path, content, message):
    path = tmp_path / "a.mp3"
    path.write_bytes(content)
    with pytest.raises(RunnerError, match=message):
        load_audio({"audio": path})


def test_too_short_audio(tmp_path):
    import numpy as np
    import soundfile as sf

    path = tmp_path / "blip.wav"
    sf.write(path, np.zeros(400, dtype=np.float32), 16000)
    with pytest.raises(RunnerError, match="shorter than 0.1 s"):
        load_audio({"audio": path})


def test_text_checks(tmp_path):
    assert text_arg({"text": "  hi  "}) == "hi"
    with pytest.raises(RunnerError, match="missing or empty"):
        text_arg({})
    with pytest.raises(RunnerError, match="too long"):
        text_arg({"text": "x" * 30_000})
    with pytest.raises(RunnerError, match="must be text"):
        text_arg({"text": tmp_path / "f.txt"})
    assert text_arg({}, "labels", required=False) == ""
