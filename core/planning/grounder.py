"""Grounding: which task type does each plain-language step of a decomposed request do?

The controller writes steps in words ("Transcribe the audio", "summarize <1>"); a small linear head
on MiniLM sentence vectors, trained on TaskBench's labelled TRAIN steps and Maestro's own task
descriptions (benchmarks/build_step_planner.py), scores every label for every step in one batched
forward pass. A beam search then picks one label per step under the modality constraints: a step
that refers to earlier steps must take what they give (a caption cannot feed speech recognition),
and a step that refers to none must find its media input among the files.

Labels are Maestro task names, plus `image-editing` (image-to-image with a text instruction). A
label that is no task of this Maestro (TaskBench's text-to-video, audio-to-audio and
tabular-classification, where core/tasks.py lacks them) stays in the race so that such a step is
not forced onto another task: the planner leaves it out and says so, rather than plan a stand-in.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config.paths import DATA_DIR
from core.tasks import TASKS

HEAD_FILE = DATA_DIR / "step_head.npz"
BEAM = 8
# For a step with no refs, a label that can run replaces the head's choice only if it is at least
# this likely relative to it; below, the step keeps its label and is left out of the plan with a
# note ("caption the photo" with no photo is not run as some text task).
MIN_ALTERNATIVE = 0.05
TRANSITION_WEIGHT = 0.0
REPEATS = "keep"  # weight of the train links' log P(label | referenced label) in the beam

# label -> (Maestro task or None, input modalities (required), output modality)
UNSUPPORTED: dict[str, tuple[tuple[str, ...], str]] = {
    "text-to-video": (("text",), "video"),
    "audio-to-audio": (("audio",), "audio"),
    "tabular-classification": (("image",), "text"),
}


def label_task(label: str) -> str | None:
    """The Maestro task a label stands for (None: nothing in Maestro does that step)."""
    if label == "image-editing":
        return "image-to-image"
    return label if label in TASKS else None


def label_inputs(label: str) -> tuple[str, ...]:
    """Required input modalities of a label (what must be fed: a ref or a file)."""
    task = label_task(label)
    if task is None:
        return UNSUPPORTED[label][0] if label in UNSUPPORTED else ("text",)
    return tuple(dict.fromkeys(a.modality for a in TASKS[task].inputs if a.required))


def label_outputs(label: str) -> tuple[str, ...]:
    task = label_task(label)
    if task is None:
        return (UNSUPPORTED[label][1],) if label in UNSUPPORTED else ("text",)
    return TASKS[task].outputs


def unsupported(label: str) -> bool:
    """A label no task of this Maestro does (the table of tasks grows; the head may know more)."""
    return label_task(label) is None


@dataclass
class Step:
    """One decomposed step: its words and the earlier steps (1-based) whose output it uses."""
    text: str
    refs: list[int] = field(default_factory=list)


@dataclass
class Grounded:
    label: str
    score: float  # the head's probability for the chosen label
    alternatives: list[tuple[str, float]] = field(default_factory=list)  # best labels, any modality


def feasible(label: str, step: Step, chosen: list[str], media: set[str]) -> bool:
    """Can `label` do `step`, given the labels chosen for the earlier steps and the files' kinds?
    Every referenced step's output must feed one of the label's inputs, and every required
    media input must come from a reference or a file."""
    ins = label_inputs(label)
    accepts = set(ins)
    if label_task(label):
        accepts |= {a.modality for a in TASKS[label_task(label)].inputs}
    fed: set[str] = set()
    for r in step.refs:
        if not 1 <= r <= len(chosen):
            continue
        outs = set(label_outputs(chosen[r - 1]))
        if unsupported(chosen[r - 1]):  # left out of the plan; what it worked on goes on (build_plan)
            fed |= outs
            continue
        if not outs & accepts:
            return False
        fed |= outs & accepts
    return all(m == "text" or m in fed or m in media for m in ins)


class StepHead:
    """The trained linear head (W, b over MiniLM vectors) and its labels."""

    def __init__(self, path: Path = HEAD_FILE):
        import numpy as np

        with np.load(path, allow_pickle=False) as z:
            self.W = z["W"].astype("float32")
            self.b = z["b"].astype("float32")
            self.labels = [str(x) for x in z["labels"]]
            self.meta = json.loads(str(z["meta"])) if "meta" in z else {}

    def probs(self, vectors: Any) -> Any:
        import numpy as np

        logits = vectors @ self.W + self.b
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)


class StepGrounder:
    """Steps -> labels. Thread-safe; the encoder and the head load on first use."""

    def __init__(self, head_file: Path = HEAD_FILE, encoder: Any = None, allowed: set[str] | None = None):
        self.head_file = head_file
        self._encoder = encoder  # texts -> normalised vectors; default: the pooled MiniLM
        self._head: StepHead | None = None
        self._lock = threading.Lock()
        # Labels the planner may choose (default all); the unsupported ones always stay in the
        # race so that a video step is not forced onto some other task.
        self.allowed = allowed

    def _load(self) -> None:
        if self._head is None:
            self._head = StepHead(self.head_file)
        if self._encoder is None:
            from core.llm.encoder import encode
            from core.planning.demo_bank import _embed_dir

            folder = _embed_dir()
            if folder is None:
                raise RuntimeError("the MiniLM sentence encoder is not installed (all-MiniLM-L6-v2)")
            self._encoder = lambda texts: encode(folder, texts)

    def warm(self) -> None:
        with self._lock:
            self._load()

    @property
    def labels(self) -> list[str]:
        with self._lock:
            self._load()
        assert self._head is not None
        return self._head.labels

    def scores(self, texts: list[str]) -> Any:
        """[n_steps, n_labels] probabilities, one batched encoder pass."""
        with self._lock:
            self._load()
            assert self._head is not None
            return self._head.probs(self._encoder(texts))

    def ground(self, steps: list[Step], media: set[str], probs: Any = None) -> list[Grounded]:
        """One label per step: the most probable joint choice that satisfies the modality
        constraints (beam search in step order). `media`: the modalities the files provide;
        `probs`: the steps' scores when the caller has them already."""
        if not steps:
            return []
        if probs is None:
            probs = self.scores([s.text for s in steps])
        labels = self.labels
        usable = [i for i, lab in enumerate(labels)
                  if self.allowed is None or lab in self.allowed or unsupported(lab)]
        beams: list[tuple[float, list[str]]] = [(0.0, [])]
        for k, step in enumerate(steps):
            grown: list[tuple[float, list[str]]] = []
            top = max(usable, key=lambda i: float(probs[k, i]))
            # the floor is for a step that works on no earlier step: with refs, an unlikely label
            # that fits is how the beam repairs a misread step ("create artwork" <1> then edit it)
            floor = MIN_ALTERNATIVE * float(probs[k, top]) if not step.refs else 0.0
            for logp, chosen in beams:
                fits = [i for i in usable if float(probs[k, i]) >= floor
                        and feasible(labels[i], step, chosen, media)]
                # no plausible label can run ("caption the photo" with no photo): keep the head's
                # choice, so the planner leaves the step out and says why, rather than run a stand-in
                for i in fits or [top]:
                    grown.append((logp + math.log(max(float(probs[k, i]), 1e-9)), [*chosen, labels[i]]))
            grown.sort(key=lambda x: -x[0])
            beams = grown[:BEAM]
        best = beams[0][1]
        out = []
        for k, lab in enumerate(best):
            row = probs[k]
            order = sorted(usable, key=lambda i: -float(row[i]))[:3]
            out.append(Grounded(lab, float(row[labels.index(lab)]),
                                [(labels[i], round(float(row[i]), 3)) for i in order]))
        return out
