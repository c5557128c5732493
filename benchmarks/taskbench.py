"""TaskBench (Hugging Face domain): loading, the fixed train/eval split, and the name mapping.

The labelled records live outside the repo (`../shared/benchmarks/taskbench/`, or env
MAESTRO_TASKBENCH). Only the demo bank built from the TRAIN split is kept in the repo
(prompts/demos_steps*.jsonl, see benchmarks/build_step_planner.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent

# TaskBench's 23 tools and the type of what each outputs (facts from its tool_desc.json).
# Sentence Similarity outputs nothing there; TaskBench names that output type "none".
TOOL_OUTPUT: dict[str, str] = {
    "Token Classification": "text", "Translation": "text", "Summarization": "text",
    "Question Answering": "text", "Conversational": "text", "Text Generation": "text",
    "Sentence Similarity": "none", "Tabular Classification": "text", "Object Detection": "text",
    "Image Classification": "text", "Image-to-Image": "image", "Image-to-Text": "text",
    "Text-to-Image": "image", "Text-to-Video": "video", "Visual Question Answering": "text",
    "Document Question Answering": "text", "Image Segmentation": "image",
    "Depth Estimation": "image", "Text-to-Speech": "audio", "Automatic Speech Recognition": "text",
    "Audio-to-Audio": "audio", "Audio Classification": "text", "Image Editing": "image",
}
TOOLS: tuple[str, ...] = tuple(TOOL_OUTPUT)

# The one mapping table between the two vocabularies.
# TaskBench tool -> Maestro task (core/tasks.py). None: Maestro has no such task, so a gold node
# of that tool can never be hit (it stays in the denominator: an honest miss, see README).
TB_TO_MAESTRO: dict[str, str | None] = {
    "Token Classification": "token-classification",
    "Translation": "translation",
    "Summarization": "summarization",
    "Question Answering": "question-answering",
    "Conversational": "conversational",
    "Text Generation": "text-generation",
    "Sentence Similarity": "sentence-similarity",
    "Object Detection": "object-detection",
    "Image Classification": "image-classification",
    "Image-to-Image": "image-to-image",  # image-to-image WITHOUT a text instruction
    "Image Editing": "image-to-image",  # image-to-image WITH a text instruction
    "Image-to-Text": "image-to-text",
    "Text-to-Image": "text-to-image",
    "Visual Question Answering": "visual-question-answering",
    "Document Question Answering": "document-question-answering",
    "Image Segmentation": "image-segmentation",
    "Depth Estimation": "depth-estimation",
    "Text-to-Speech": "text-to-speech",
    "Automatic Speech Recognition": "automatic-speech-recognition",
    "Audio Classification": "audio-classification",
    "Tabular Classification": "tabular-classification",  # TaskBench gives it a table image
    "Text-to-Video": "text-to-video",
    "Audio-to-Audio": "audio-to-audio",
}

# Maestro task -> TaskBench tool. image-to-image is split by its args (see tb_name); OCR models
# are image-to-text models on the Hub (TrOCR's pipeline tag), so OCR counts as Image-to-Text.
# Maestro tasks absent here (text-classification, zero-shot-classification, fill-mask,
# feature-extraction) keep their own name: outside TaskBench's catalog, ignored by node F1.
MAESTRO_TO_TB: dict[str, str] = {m: tb for tb, m in TB_TO_MAESTRO.items()
                                 if m and tb not in ("Image-to-Image", "Image Editing")}
MAESTRO_TO_TB["optical-character-recognition"] = "Image-to-Text"


def taskbench_tasks() -> set[str]:
    """Maestro tasks with a TaskBench tool: the planner's menu in the benchmark, as TaskBench
    gives each LLM its own tool list."""
    return {m for m in TB_TO_MAESTRO.values() if m}


def tb_name(task: str, args: dict[str, Any] | None = None) -> str:
    """TaskBench's name for a Maestro task (its own name when TaskBench has none)."""
    if task == "image-to-image":
        text = (args or {}).get("text")
        return "Image Editing" if isinstance(text, str) and text.strip() else "Image-to-Image"
    return MAESTRO_TO_TB.get(task, task)


def data_dir() -> Path:
    env = os.environ.get("MAESTRO_TASKBENCH")
    return Path(env) if env else (REPO_ROOT.parent / "shared" / "benchmarks" / "taskbench").resolve()


@dataclass
class Node:
    task: str  # TaskBench tool name as labelled (may be outside the catalog)
    arguments: list[Any]


@dataclass
class Record:
    id: str
    type: str  # single | chain | dag
    request: str
    nodes: list[Node]
    links: list[tuple[str, str]]  # labelled task_links, (source name, target name)
    flags: list[str] = field(default_factory=list)  # known label anomalies
    steps: list[str] = field(default_factory=list)  # labelled decomposition (v2 data), one per node
    has_args: bool = True  # node arguments are labelled (t-F1 / v-F1 are scored only then)

    @property
    def clean(self) -> bool:
        return not self.flags

    @property
    def reachable(self) -> bool:
        """Every gold tool has a Maestro task (a perfect Maestro planner could score 100)."""
        return all(TB_TO_MAESTRO.get(n.task) for n in self.nodes)


SPLIT_SALT = "maestro-taskbench-split-v1:"
TRAIN_PERCENT = 30


def split_of(record_id: str) -> str:
    """'train' (demo pool, ~30 %) or 'eval' (~70 %): fixed forever by a hash of the id."""
    digest = hashlib.sha256((SPLIT_SALT + record_id).encode()).hexdigest()
    return "train" if int(digest[:8], 16) % 100 < TRAIN_PERCENT else "eval"


def _args_list(arguments: Any) -> list[Any]:
    if isinstance(arguments, dict):  # one anomalous record stores a dict
        return list(arguments.values())
    return list(arguments) if isinstance(arguments, list) else [arguments]


def load_records(folder: Path | None = None) -> list[Record]:
    folder = folder or data_dir()
    labels = folder / "labeled_hf.jsonl"
    if not labels.exists():
        raise FileNotFoundError(f"TaskBench data not found at {folder} (set MAESTRO_TASKBENCH)")
    flags: dict[str, list[str]] = {}
    anomalies = folder / "anomalies_hf.jsonl"
    if anomalies.exists():
        for line in anomalies.read_text(encoding="utf-8").splitlines():
            if line.strip():
                a = json.loads(line)
                flags[str(a["id"])] = list(a.get("flags") or [])
    records = []
    for line in labels.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        rid = str(r["id"])
        records.append(Record(
            id=rid, type=r["type"], request=r["user_request"],
            nodes=[Node(n["task"], _args_list(n.get("arguments", []))) for n in r["task_nodes"]],
            links=[(lk["source"], lk["target"]) for lk in r.get("task_links", [])
                   if isinstance(lk, dict)],
            flags=flags.get(rid, []),
        ))
    return records


def load_split(split: str, folder: Path | None = None) -> list[Record]:
    if split not in ("train", "eval", "all"):
        raise ValueError(f"unknown split {split!r} (train, eval or all)")
    records = load_records(folder)
    return records if split == "all" else [r for r in records if split_of(r.id) == split]


# --- TaskBench-format helpers shared by the metrics and the demo builder ---------------------------

NODE_REF_RE = re.compile(r"<node-(\d+)>")
_EXTS = {
    "image": ("jpg", "png", "jpeg", "gif", "bmp", "tiff", "svg", "ico"),
    "audio": ("mp3", "wav", "wma", "ogg", "aac", "flac", "aiff", "au"),
    "video": ("mp4", "avi", "mov", "flv", "wmv", "mkv", "webm", "m4v", "mpg", "mpeg"),
}


def content_type(value: str) -> str:
    """TaskBench's argument type of a literal: a file extension anywhere in it, else text."""
    value = value.strip("'")
    for kind, exts in _EXTS.items():
        if any("." + e in value for e in exts):
            return kind
    return "text"


def flat_arg(value: Any) -> str:
    """A label argument as plain text (labels hold strings, lists, or one-key dicts)."""
    if isinstance(value, dict):
        value = next(iter(value.values()), "")
    if isinstance(value, list):
        return " ".join(flat_arg(v) for v in value)
    return str(value)


# --- split v2: full_hf.jsonl (official request text), split_v2.json ------------------------------

DEV_SALT = "maestro-planner-v3-dev:"
DEV_PERCENT = 10
V2_SPLITS = ("eval", "train", "dev", "fit", "gnn4plan")


def is_dev(record_id: str) -> bool:
    """The train hold-out of split v2 (~10 % of train): A/B runs are scored here; nothing built
    from the data (demo bank, step classifier) sees it. `fit` is train minus dev."""
    digest = hashlib.sha256((DEV_SALT + record_id).encode()).hexdigest()
    return int(digest[:8], 16) % 100 < DEV_PERCENT


def _link_names(links: list[Any], nodes: list[str]) -> list[tuple[str, str]]:
    """Labelled links as (source, target) names; a few records use node positions instead."""
    out = []
    for lk in links:
        if isinstance(lk, dict):
            lk = [lk.get("source"), lk.get("target")]
        s, t = lk
        if isinstance(s, int) and isinstance(t, int) and max(s, t) < len(nodes):
            s, t = nodes[s], nodes[t]
        out.append((str(s), str(t)))
    return out


def gnn4plan_ids(folder: Path | None = None) -> set[str]:
    data = json.loads(((folder or data_dir()) / "gnn4plan_test_ids.json").read_text(encoding="utf-8"))
    return {str(i) for i in data["chain"]}


def load_v2(split: str, folder: Path | None = None) -> list[Record]:
    """Records of split v2 with TaskBench's official request text (full_hf.jsonl). Node arguments
    come from labeled_hf.jsonl where that file has the record (t-F1/v-F1 only there)."""
    if split not in V2_SPLITS and split != "all":
        raise ValueError(f"unknown split {split!r} ({', '.join(V2_SPLITS)} or all)")
    folder = folder or data_dir()
    full = folder / "full_hf.jsonl"
    if not full.exists():
        raise FileNotFoundError(f"TaskBench data not found at {folder} (set MAESTRO_TASKBENCH)")
    ids = json.loads((folder / "split_v2.json").read_text(encoding="utf-8"))
    wanted: set[str] | None
    if split in ("eval", "train"):
        wanted = {str(i) for i in ids[split]}
    elif split in ("dev", "fit"):
        wanted = {str(i) for i in ids["train"] if is_dev(str(i)) == (split == "dev")}
    elif split == "gnn4plan":
        wanted = gnn4plan_ids(folder) & {str(i) for i in ids["eval"]}
    else:
        wanted = None
    labelled = {r.id: r for r in load_records(folder)} if (folder / "labeled_hf.jsonl").exists() else {}
    out = []
    for line in full.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        rid = str(r["id"])
        if wanted is not None and rid not in wanted:
            continue
        names = [str(n) for n in r["nodes"]]
        old = labelled.get(rid)
        with_args = old is not None and [n.task for n in old.nodes] == names
        nodes = old.nodes if with_args else [Node(n, []) for n in names]
        out.append(Record(rid, r["type"], r["request"], nodes, _link_names(r.get("links", []), names),
                          flags=old.flags if old else [], steps=list(r.get("steps") or []),
                          has_args=with_args))
    return out
