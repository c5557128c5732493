"""text-to-speech with a Piper (VITS) voice run by ONNX Runtime; phonemes come from espeak-ng.

Piper's own phonemizer is GPL, so Maestro asks the espeak-ng program (a separate process, installed
from the OS packages) for IPA phonemes and maps them to the voice's symbol ids itself."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from core.errors import RunnerError
from core.execution.runners.base import RunContext, Runner
from core.execution.runners.media import save_wav, text_arg
from core.results import TaskOutput

MAX_CHARS = 5_000
PAUSE_S = 0.25  # silence between sentences
_SENTENCES = re.compile(r"[^.!?]+[.!?]*")
_CLAUSES = re.compile(r"([^,;:.!?]+)([,;:.!?]*)")


def espeak_exe() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RunnerError("text-to-speech needs espeak-ng (Debian/Ubuntu: apt-get install espeak-ng; "
                          "macOS: brew install espeak-ng)")
    return exe


def phonemize(clause: str, voice: str, exe: str) -> str:
    """IPA phonemes of one clause; espeak-ng prints one line per clause it detects."""
    proc = subprocess.run([exe, "-q", "--ipa", "-v", voice, "--", clause], capture_output=True,
                          text=True, timeout=60)
    if proc.returncode != 0:
        raise RunnerError(f"espeak-ng failed: {proc.stderr.strip()[:200]}")
    return " ".join(line.strip() for line in proc.stdout.splitlines() if line.strip())


@dataclass
class Voice:
    session: Any
    id_map: dict[str, list[int]]
    sample_rate: int
    espeak_voice: str
    scales: tuple[float, float, float]  # noise, length (1/speed), noise_w

    def ids(self, phonemes: str) -> list[int]:
        """Symbol ids as the voice was trained: BOS, then every phoneme followed by PAD, then EOS."""
        pad = self.id_map["_"]
        ids = list(self.id_map["^"]) + list(pad)
        for ch in phonemes:
            if ch in self.id_map:  # symbols the voice never saw are dropped (e.g. rare diacritics)
                ids += self.id_map[ch] + pad
        return ids + list(self.id_map["$"])

    def synthesize(self, ids: list[int]) -> Any:
        import numpy as np

        feeds = {"input": np.array([ids], dtype=np.int64),
                 "input_lengths": np.array([len(ids)], dtype=np.int64),
                 "scales": np.array(self.scales, dtype=np.float32)}
        names = {i.name for i in self.session.get_inputs()}
        if "sid" in names:
            feeds["sid"] = np.array([0], dtype=np.int64)
        return self.session.run(None, feeds)[0].reshape(-1)


def load_voice(model_file: Any, config_file: Any, providers: list[str]) -> Voice:
    import onnxruntime as ort

    cfg = json.loads(config_file.read_text(encoding="utf-8"))
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    session = ort.InferenceSession(str(model_file), sess_options=opts, providers=providers)
    inf = cfg.get("inference", {})
    return Voice(session, cfg["phoneme_id_map"], int(cfg["audio"]["sample_rate"]),
                 cfg.get("espeak", {}).get("voice", "en-us"),
                 (float(inf.get("noise_scale", 0.667)), float(inf.get("length_scale", 1.0)),
                  float(inf.get("noise_w", 0.8))))


class PiperRunner(Runner):
    runtime = "piper-onnx"

    def run_task(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput:
        text = text_arg(inputs, "text", MAX_CHARS)
        exe = espeak_exe()
        folder = self.folder(ctx)
        model_file, config_file = folder / ctx.model.files[0], folder / ctx.model.files[1]
        providers = self.providers(ctx)
        import numpy as np

        sentences = [s.strip() for s in _SENTENCES.findall(" ".join(text.split())) if s.strip()]
        pieces: list[Any] = []
        with self.model(ctx, lambda: load_voice(model_file, config_file, providers), model_file.stat().st_size * 2,
                        device=providers[0]) as lease:
            voice: Voice = lease.model
            silence = np.zeros(int(PAUSE_S * voice.sample_rate), dtype=np.float32)
            for n, sentence in enumerate(sentences):
                ctx.check_cancel()
                # phonemize clause by clause so the voice still sees the punctuation (pauses, questions)
                parts = [phonemize(words, voice.espeak_voice, exe) + punct[:1]
                         for words, punct in _CLAUSES.findall(sentence) if words.strip()]
                phonemes = " ".join(p for p in parts if p.strip())
                if not phonemes.strip():
                    continue
                pieces += [voice.synthesize(voice.ids(phonemes)), silence]
                ctx.progress((n + 1) / len(sentences), sentence[:60])
            rate = voice.sample_rate
        if not pieces:
            raise RunnerError("nothing to say: the text has no pronounceable words")
        audio = np.concatenate(pieces)
        peak = float(np.abs(audio).max()) or 1.0
        audio = audio * (0.9 / peak)  # loud and never clipped
        artifact = save_wav(ctx, audio, rate)
        seconds = len(audio) / rate
        return TaskOutput(text=f"spoke {len(text.split())} words ({seconds:.1f} s of audio)", files=[artifact],
                          data={"seconds": round(seconds, 2), "sample_rate": rate, "provider": providers[0]})
