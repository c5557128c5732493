"""Checking inputs before a model loads, and writing artifacts.

Every check raises RunnerError with a message a user can act on: which argument, which file,
what is wrong. Decoding happens here, once, so a bad file fails in milliseconds instead of
after a multi-second model load."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from core.errors import RunnerError
from core.execution.runners.base import RunContext, write_atomic
from core.results import Artifact

MAX_TEXT_CHARS = 20_000  # ~5k tokens; longer inputs are a planning mistake, not a request
MAX_AUDIO_S = 30 * 60
MAX_IMAGE_PIXELS = 40_000_000  # ~ 8k x 5k; larger ones are decompression bombs or scans to shrink


def _existing_file(value: Any, arg: str, kind: str) -> Path:
    if not isinstance(value, Path | str) or not str(value).strip():
        raise RunnerError(f"'{arg}' must be a {kind} file, got {type(value).__name__} {str(value)[:60]!r}")
    path = Path(value)
    if not path.is_file():
        raise RunnerError(f"{kind} file for '{arg}' not found: {path.name}")
    if path.stat().st_size == 0:
        raise RunnerError(f"{kind} file for '{arg}' is empty (0 bytes): {path.name}")
    return path


def text_arg(inputs: dict[str, Any], arg: str = "text", max_chars: int = MAX_TEXT_CHARS,
             required: bool = True) -> str:
    value = inputs.get(arg)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RunnerError(f"'{arg}' is missing or empty")
        return ""
    if isinstance(value, Path):
        raise RunnerError(f"'{arg}' must be text, but a file was given ({value.name})")
    text = str(value).strip()
    if len(text) > max_chars:
        raise RunnerError(f"'{arg}' is too long: {len(text):,} characters (this model takes at most {max_chars:,})")
    return text


def load_image(inputs: dict[str, Any], arg: str = "image") -> Any:
    """Decode an image argument to an RGB PIL image."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = _existing_file(inputs.get(arg), arg, "image")
    try:
        with Image.open(path) as im:
            w, h = im.size
            if w * h > MAX_IMAGE_PIXELS:
                raise RunnerError(f"image {path.name} is too large ({w}x{h}); at most {MAX_IMAGE_PIXELS:,} pixels")
            im.load()
            return _rgb(ImageOps.exif_transpose(im))
    except RunnerError:
        raise
    except Image.DecompressionBombError:  # PIL's own guard fires at open() above 2x its limit
        raise RunnerError(f"image {path.name} is too large (a decompression bomb?); "
                          f"at most {MAX_IMAGE_PIXELS:,} pixels") from None
    except UnidentifiedImageError as e:
        raise RunnerError(f"{path.name} is not an image that can be decoded ({type(e).__name__})") from None
    except OSError as e:
        raise RunnerError(f"image {path.name} could not be read: {e}") from None


def _rgb(im: Any) -> Any:
    """RGB, with transparent pixels put on white (dropping alpha would leave them black)."""
    from PIL import Image

    if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im.convert("RGB")


def load_audio(inputs: dict[str, Any], arg: str = "audio", sample_rate: int = 16_000,
               max_seconds: float = MAX_AUDIO_S) -> Any:
    """Decode any audio container/codec PyAV reads into mono float32 at `sample_rate`."""
    import av
    import numpy as np

    path = _existing_file(inputs.get(arg), arg, "audio")
    chunks: list[Any] = []
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.audio:
                raise RunnerError(f"{path.name} has no audio stream")
            claimed = _claimed_seconds(container)
            if claimed > max_seconds:  # refuse before decoding an hour of samples into memory
                raise RunnerError(f"audio {path.name} is {claimed / 60:.0f} minutes long; "
                                  f"at most {max_seconds / 60:.0f} minutes can be processed")
            # 16-bit first, as ffmpeg-based loaders do: models like whisper were trained on audio
            # decoded that way, and borderline words do flip on the last bit of quantisation.
            resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
                if sum(len(c) for c in chunks) > max_seconds * sample_rate:
                    raise RunnerError(f"audio {path.name} is longer than {max_seconds / 60:.0f} minutes")
            for out in resampler.resample(None):  # flush what the resampler still holds
                chunks.append(out.to_ndarray().reshape(-1))
    except RunnerError:
        raise
    except (av.FFmpegError, ValueError, OSError) as e:
        raise RunnerError(f"{path.name} is not audio that can be decoded ({type(e).__name__})") from None
    audio = np.concatenate(chunks).astype(np.float32) / 32768.0 if chunks else np.zeros(0, np.float32)
    if audio.size < sample_rate // 10:
        raise RunnerError(f"audio {path.name} is shorter than 0.1 s")
    return audio


def _claimed_seconds(container: Any) -> float:
    """Duration from the container/stream header (0 when unknown); decoding still caps it."""
    stream = container.streams.audio[0]
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return container.duration / 1_000_000 if container.duration else 0.0


# -- artifacts ------------------------------------------------------------------------------------
def save_png(ctx: RunContext, image: Any, stem: str | None = None) -> Artifact:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    path = write_atomic(ctx.artifact_path(".png", stem), buf.getvalue())
    return Artifact(path, "image", "image/png")


def save_wav(ctx: RunContext, samples: Any, sample_rate: int, stem: str | None = None) -> Artifact:
    """Write mono float samples in [-1, 1] as 16-bit PCM WAV (plays everywhere)."""
    import numpy as np
    import soundfile as sf

    data = np.clip(np.asarray(samples, dtype=np.float32).reshape(-1), -1.0, 1.0)
    buf = io.BytesIO()
    sf.write(buf, data, sample_rate, format="WAV", subtype="PCM_16")
    path = write_atomic(ctx.artifact_path(".wav", stem), buf.getvalue())
    return Artifact(path, "audio", "audio/wav")


def save_json(ctx: RunContext, obj: Any, stem: str | None = None) -> Artifact:
    data = json.dumps(obj, ensure_ascii=False, indent=1).encode("utf-8")
    path = write_atomic(ctx.artifact_path(".json", stem), data)
    return Artifact(path, "json", "application/json")
