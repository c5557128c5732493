"""audio-classification as speech / no speech with Silero VAD (ONNX, MIT; the model file ships in
the silero-vad wheel), run directly by ONNX Runtime.

The model scores each 32 ms window (512 samples at 16 kHz, with the previous 64 samples as
context and a recurrent state carried along); windows above a threshold are speech, and runs of
them, bridged over short pauses, are the speech segments reported."""

from __future__ import annotations

from typing import Any

from core.execution.runners.base import RunContext, Runner
from core.execution.runners.media import load_audio
from core.results import TaskOutput

RATE = 16_000
WINDOW = 512
CONTEXT = 64
SPEECH_PROB = 0.5
MIN_SPEECH_S = 0.25  # shorter bursts are clicks, not speech
MAX_PAUSE_S = 0.3  # pauses shorter than this stay inside one segment


def window_probs(session: Any, audio: Any, cancel: Any = None) -> Any:
    """Speech probability of each 512-sample window of 16 kHz mono float32 audio."""
    import numpy as np

    n = -(-len(audio) // WINDOW)
    padded = np.zeros(n * WINDOW, dtype=np.float32)
    padded[:len(audio)] = audio
    state = np.zeros((2, 1, 128), dtype=np.float32)
    context = np.zeros(CONTEXT, dtype=np.float32)
    sr = np.array(RATE, dtype=np.int64)
    probs = np.zeros(n, dtype=np.float32)
    for i in range(n):
        if cancel is not None and i % 256 == 0 and cancel.is_set():
            break
        chunk = padded[i * WINDOW:(i + 1) * WINDOW]
        x = np.concatenate([context, chunk])[None, :]
        out, state = session.run(None, {"input": x, "state": state, "sr": sr})
        probs[i] = float(np.asarray(out).reshape(-1)[0])
        context = chunk[-CONTEXT:]
    return probs


def segments(probs: Any, threshold: float = SPEECH_PROB) -> list[tuple[float, float]]:
    """(start_s, end_s) runs of speech windows; short pauses bridged, short bursts dropped."""
    step = WINDOW / RATE
    runs: list[list[float]] = []
    for i, p in enumerate(probs):
        if p < threshold:
            continue
        start, end = i * step, (i + 1) * step
        if runs and start - runs[-1][1] <= MAX_PAUSE_S:
            runs[-1][1] = end
        else:
            runs.append([start, end])
    return [(round(a, 2), round(b, 2)) for a, b in runs if b - a >= MIN_SPEECH_S]


class SileroVadRunner(Runner):
    runtime = "silero-vad"

    def run_task(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput:
        folder = self.folder(ctx)
        audio = load_audio(inputs, "audio", sample_rate=RATE)
        providers = ["CPUExecutionProvider"]  # a tiny recurrent model: a GPU would only add transfers

        def load() -> Any:
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            return ort.InferenceSession(str(folder / ctx.model.files[0]), opts, providers=providers)

        with self.model(ctx, load, 2_400_000 * 4, device=providers[0]) as lease:
            ctx.progress(None, "listening for speech")
            probs = window_probs(lease.model, audio, ctx.cancel)
        ctx.check_cancel()
        found = segments(probs)
        total = len(audio) / RATE
        speech_s = sum(b - a for a, b in found)
        share = min(1.0, speech_s / total) if total else 0.0
        peak = float(probs.max()) if probs.size else 0.0
        labels = ([{"label": "speech", "score": round(peak, 4)}, {"label": "no speech", "score": round(1 - peak, 4)}]
                  if found else
                  [{"label": "no speech", "score": round(1 - peak, 4)}, {"label": "speech", "score": round(peak, 4)}])
        if found:
            spans = ", ".join(f"{a:.1f}-{b:.1f} s" for a, b in found[:8]) + (" ..." if len(found) > 8 else "")
            text = f"speech ({share:.0%} of {total:.1f} s; at {spans})"
        else:
            text = f"no speech in {total:.1f} s of audio (silence, noise, music or other sounds)"
        return TaskOutput(text=text, data={"labels": labels, "segments": [list(s) for s in found],
                                           "speech_share": round(share, 4), "seconds": round(total, 2)})
