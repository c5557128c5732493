"""Bad-input catalogue: broken, hostile and oversized files never crash a turn.

Each bad file must fail only its own task with a sentence naming the file (no traceback),
while a good task in the same plan still runs. The decode checks are exercised directly
(fast) and through the executor with real packaged models (efficientnet, whisper tiny.en)."""

from __future__ import annotations

import io
import random
import resource
import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.errors import RunnerError
from core.execution.runners.media import load_audio, load_image


@dataclass(frozen=True)
class Bad:
    name: str
    modality: str  # image | audio
    make: str  # how the bytes are made (see build)
    message: str  # a fragment the error must contain


def _png_bytes(size=(64, 48)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def _jpeg_bytes() -> bytes:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8)).save(buf, format="JPEG")
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_claiming(width: int, height: int) -> bytes:
    """A valid PNG header for a huge image with almost no pixel data (a decompression bomb shape)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + _png_chunk(b"IEND", b""))


def _gif_claiming(width: int, height: int) -> bytes:
    return (b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0)
            + b"," + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00;")


def _wav_bytes(seconds: float, rate: int = 16_000) -> bytes:
    import numpy as np
    import soundfile as sf

    t = np.arange(int(seconds * rate)) / rate
    buf = io.BytesIO()
    sf.write(buf, 0.3 * np.sin(2 * np.pi * 440 * t), rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _write_two_hour_wav(path: Path) -> None:
    """A real 2-hour file (8 kHz, 8-bit: 57.6 MB), written in blocks so the test itself stays small."""
    rate, seconds = 8000, 7200
    n = rate * seconds
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 36 + n) + b"WAVEfmt "
                + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate, 1, 8) + b"data" + struct.pack("<I", n))
        block = bytes([128, 160, 128, 96]) * (rate // 4)  # one second of a quiet 2 kHz tone
        for _ in range(seconds):
            f.write(block)


TEXT = b"This is a plain text file.\nIt has a media extension but holds words, not samples.\n"

CATALOGUE = [
    Bad("empty.png", "image", "empty", "empty"),
    Bad("empty.jpg", "image", "empty", "empty"),
    Bad("truncated.png", "image", "truncated-png", "truncated.png"),
    Bad("truncated.jpg", "image", "truncated-jpg", "truncated.jpg"),
    Bad("random.png", "image", "random", "random.png"),
    Bad("random.jpg", "image", "random", "random.jpg"),
    Bad("words.png", "image", "text", "words.png"),
    Bad("bomb.png", "image", "bomb-png", "too large"),
    Bad("bomb.gif", "image", "bomb-gif", "too large"),
    Bad("empty.wav", "audio", "empty", "empty"),
    Bad("empty.mp3", "audio", "empty", "empty"),
    Bad("truncated.wav", "audio", "truncated-wav", "truncated.wav"),
    Bad("random.wav", "audio", "random", "random.wav"),
    Bad("random.mp3", "audio", "random", "random.mp3"),
    Bad("random.flac", "audio", "random", "random.flac"),
    Bad("notes.wav", "audio", "text", "notes.wav"),
    Bad("notes.mp3", "audio", "text", "notes.mp3"),
    Bad("two-hours.wav", "audio", "two-hours", "minutes"),
]


def build(case: Bad, folder: Path) -> Path:
    path = folder / case.name
    rnd = random.Random(case.name)
    if case.make == "empty":
        path.write_bytes(b"")
    elif case.make == "truncated-png":
        path.write_bytes(_png_bytes((640, 480))[:60])
    elif case.make == "truncated-jpg":
        data = _jpeg_bytes()
        path.write_bytes(data[: len(data) // 5])
    elif case.make == "truncated-wav":
        path.write_bytes(_wav_bytes(2.0)[:50])  # header and a few samples: under 0.1 s
    elif case.make == "random":
        path.write_bytes(rnd.randbytes(8192))
    elif case.make == "text":
        path.write_bytes(TEXT)
    elif case.make == "bomb-png":
        path.write_bytes(_png_claiming(20_000, 10_000))  # 200 megapixels
    elif case.make == "bomb-gif":
        path.write_bytes(_gif_claiming(16_000, 12_500))  # 200 megapixels
    elif case.make == "two-hours":
        _write_two_hour_wav(path)
    else:  # pragma: no cover - a typo in the catalogue
        raise AssertionError(case.make)
    return path


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("case", CATALOGUE, ids=[c.name for c in CATALOGUE])
def test_bad_file_is_refused_with_a_sentence(case, tmp_path):
    path = build(case, tmp_path)
    before = _peak_rss_mb()
    loader = load_image if case.modality == "image" else load_audio
    with pytest.raises(RunnerError) as err:
        loader({case.modality: path}, case.modality)
    message = str(err.value)
    assert case.message in message, message
    assert "Traceback" not in message and "\n" not in message
    # Refusing a 200 MP image or 2 h of audio must not allocate it: the peak grows < 150 MB.
    assert _peak_rss_mb() - before < 150, f"peak RSS grew by {_peak_rss_mb() - before:.0f} MB"


def test_header_claiming_two_hours_decodes_only_what_is_there(tmp_path):
    """A WAV header that lies about its length (2 h declared, 1 s present) is capped by the data."""
    real = _wav_bytes(1.0)
    n = 7200 * 16_000 * 2
    lying = real[:4] + struct.pack("<I", 36 + n) + real[8:40] + struct.pack("<I", n) + real[44:]
    path = tmp_path / "liar.wav"
    path.write_bytes(lying)
    audio = load_audio({"audio": path})
    assert 0.9 * 16_000 <= audio.size <= 1.1 * 16_000


# -- the same files through the executor with real models ------------------------------------------
@pytest.fixture(scope="module")
def real_models():
    from core.models import catalog

    image = catalog.get("local:efficientnet-lite0")
    audio = catalog.get("Systran/faster-whisper-tiny.en")
    assert image is not None and audio is not None
    return {"image": image, "audio": audio}


@pytest.mark.slow
def test_every_bad_file_fails_alone_and_good_tasks_still_run(real_models, tmp_path):
    from PIL import Image
    from skimage import data

    from core.config.paths import new_session_dir
    from core.events import EventBus
    from core.execution.executor import Assignment, Executor
    from core.plan import parse_plan
    from tests.runner_support import speak

    session = new_session_dir()
    inputs = session / "inputs"
    for case in CATALOGUE:
        shutil.move(build(case, tmp_path), inputs / case.name)
    Image.fromarray(data.chelsea()).save(inputs / "cat.png")
    speak("The train to Berlin leaves at nine.", inputs / "speech.wav")

    task_of = {"image": "image-classification", "audio": "automatic-speech-recognition"}
    tasks = [{"id": i + 1, "task": task_of[c.modality], "dep": [], "args": {c.modality: c.name}}
             for i, c in enumerate(CATALOGUE)]
    good_image, good_audio = len(tasks) + 1, len(tasks) + 2
    tasks += [{"id": good_image, "task": "image-classification", "dep": [], "args": {"image": "cat.png"}},
              {"id": good_audio, "task": "automatic-speech-recognition", "dep": [],
               "args": {"audio": "speech.wav"}}]
    plan = parse_plan({"tasks": tasks})
    assignments = {t.id: Assignment(real_models["image" if t.task == "image-classification" else "audio"])
                   for t in plan.tasks}
    bus = EventBus()
    finished = []
    bus.subscribe(lambda e: finished.append(e.task_id) if e.kind == "task_finished" else None)
    results = Executor(bus=bus, max_workers=2).run(plan, assignments, session)

    for i, case in enumerate(CATALOGUE, start=1):
        r = results[i]
        assert r.status == "failed", (case.name, r.status, r.output)
        assert case.message in r.error and "Traceback" not in r.error, (case.name, r.error)
    assert results[good_image].status == "done", results[good_image].error
    assert "cat" in results[good_image].output.text.lower()
    assert results[good_audio].status == "done", results[good_audio].error
    assert "berlin" in results[good_audio].output.text.lower()
    assert sorted(finished) == sorted(t.id for t in plan.tasks)  # every task reported exactly once


# -- the request itself ---------------------------------------------------------------------------
def test_sixty_kilobyte_request_is_refused_by_the_engine_without_planning(tmp_path):
    from core.config.settings import Settings
    from core.engine.pipeline import Engine
    from core.events import EventBus

    class NeverCalled:
        name = "never"

        def chat(self, *a, **k):  # the planner must not even be asked
            raise AssertionError("the controller was called for a 60 KB request")

    bus = EventBus()
    events = []
    bus.subscribe(events.append)
    engine = Engine(Settings(), bus, controller=NeverCalled())
    turn = engine.run_turn("please summarize: " + "lorem ipsum dolor sit amet " * 2300)
    assert len(turn.request) > 60_000
    assert turn.status == "failed" and "limit is 20,000" in turn.error
    assert "attach" in turn.answer
    assert [e.kind for e in events][-2:] == ["response_token", "turn_finished"]


def test_sixty_kilobyte_request_on_the_cli(tmp_path):
    import json
    import os
    import sys

    root = Path(__file__).resolve().parent.parent
    request = "x" * 60_000
    proc = subprocess.run([sys.executable, "main.py", "ask", request, "--json"], cwd=root,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(root)})
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "60,000 characters" in json.loads(proc.stdout)["error"]


@pytest.mark.slow
def test_cli_ask_with_bad_files_answers_without_a_traceback(tmp_path):
    """The whole CLI path with the real controller: bad files fail their tasks, the good one runs."""
    import json
    import os
    import sys

    from PIL import Image
    from skimage import data

    root = Path(__file__).resolve().parent.parent
    bad = [build(c, tmp_path) for c in CATALOGUE if c.name in ("random.png", "bomb.png")]
    cat = tmp_path / "cat.png"
    Image.fromarray(data.chelsea()).save(cat)
    args = ["main.py", "ask", "Classify each of these images: cat.png, random.png and bomb.png", "--json"]
    for f in (cat, *bad):
        args += ["--file", str(f)]
    proc = subprocess.run([sys.executable, *args], cwd=root, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "PYTHONPATH": str(root)})
    assert proc.returncode == 0, proc.stderr[-2000:]  # 0: the turn is done (one task did its work)
    assert "Traceback" not in proc.stderr
    turn = json.loads(proc.stdout.strip().splitlines()[-1])
    by_file = {Path(r["inputs"].get("image", "")).name: r for r in turn["results"]}
    # The planner makes one classification per file (planner v3 does, every time, greedy).
    assert set(by_file) == {"cat.png", "random.png", "bomb.png"}, turn["plan"]
    for name in ("random.png", "bomb.png"):
        r = by_file[name]
        assert r["status"] == "failed" and name in r["error"] and "Traceback" not in r["error"]
    assert by_file["cat.png"]["status"] == "done"  # a bad file fails alone
    assert "cat" in by_file["cat.png"]["output"]["text"].lower()
    assert turn["answer"].strip()
