"""Build the step planner's two data files from TaskBench's TRAIN split (split v2, less the dev
hold-out, i.e. `fit`); nothing from eval or dev enters them.

- core/data/step_head.npz: a softmax-regression head on MiniLM vectors of labelled steps
  ("Step 2: Summarize the transcript" -> summarization), plus Maestro's own task descriptions.
  Trained on CPU in about a minute (most of it encoding ~13k steps).
- prompts/demos_steps.jsonl: request -> short steps demos (one per distinct tool sequence, up to
  BANK_SIZE), retrieved by request similarity at planning time.
- core/data/demo_vectors.npz: the bank's request vectors (float16, keyed by a hash of the bank's
  requests), so that a fresh install does not embed 2k demos before its first plan.
- prompts/demos_steps_fixed.jsonl: the few bank demos shown to every request after the core ones
  (the planner's fixed prompt prefix): among the demos whose steps are short on average, the K that
  best cover all the bank's requests (greedy facility location on the MiniLM request vectors).

    python -m benchmarks.build_step_planner [--report]

--report also scores the head on the dev hold-out's labelled steps (step accuracy)."""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from typing import Any

from benchmarks.taskbench import REPO_ROOT, TB_TO_MAESTRO, TOOLS, Record, load_v2
from benchmarks.taskbench_convert import mentioned_files
from core.planning.demo_bank import save_vectors
from core.planning.grounder import HEAD_FILE, UNSUPPORTED
from core.planning.step_planner import BANK_VECTORS, FIXED_DEMOS, retrieval_bank
from core.planning.steps import clean_step
from core.tasks import TASKS

BANK_FILE = REPO_ROOT / "prompts" / "demos_steps.jsonl"
BANK_SIZE = 2400
MAX_REQUEST_CHARS = 420  # long demos cost prompt tokens (~12 ms each on 2 cores)
FIXED_K = 8  # fixed train demos, shown after the core ones and before the plain ones (dev 40:
# 5 / 8 / 12 of them 75.6/48.6, 75.6/48.6, 76.0/49.7 n-/e-F1; benchmarks/README.md, session 6)
FIXED_STEP_CHARS = 45  # their mean step length at most: the controller writes steps as long as the
# demos' (8 demos, dev 40: <= 45 chars 75.6/48.6 with 37.5 tokens written, <= 55 chars 70.6/39.3;
# 12 of any length 73.4/43.6 with 55.5 written)
C = 4.0  # inverse L2 strength of the head (picked on dev step accuracy: 1, 4, 16)

# A few hundred labelled nodes use names outside the 23 tools; these are plainly one of them.
SYNONYMS = {
    "Text Summarization": "Summarization", "Document Summarization": "Summarization",
    "Audio Transcription": "Automatic Speech Recognition", "Speech-to-Text": "Automatic Speech Recognition",
    "Speech Recognition": "Automatic Speech Recognition", "Entity Recognition": "Token Classification",
    "Named Entity Recognition": "Token Classification", "Image Captioning": "Image-to-Text",
    "Image to Text Conversion": "Image-to-Text", "Text-to-Audio": "Text-to-Speech",
    "Audio Enhancement": "Audio-to-Audio", "Image Enhancement": "Image-to-Image",
    "Image-to-Image Transformation": "Image-to-Image", "Image-to-Image Translation": "Image-to-Image",
}


def tool_label(tool: str) -> str | None:
    """The head's label for a TaskBench tool name (None: an unknown name, not trained on)."""
    tool = SYNONYMS.get(tool.replace("_", " "), tool.replace("_", " "))
    if tool not in TOOLS:
        return None
    if tool == "Image Editing":
        return "image-editing"
    task = TB_TO_MAESTRO[tool]
    return task or tool.lower().replace(" ", "-")


# Maestro's own words for what each task does, as a person would ask for it (TaskBench's steps
# rarely say "caption" or "read the text in the photo"). Written by hand, not taken from any split.
OWN_PHRASES: dict[str, list[str]] = {
    "summarization": ["summarize the text", "give a short summary", "shorten the article"],
    "translation": ["translate the text into French", "translate it to English", "say it in Spanish"],
    "question-answering": ["answer the question from the text", "find the answer in the passage"],
    "text-generation": ["write a story", "write a poem about it", "continue the text", "draft an email"],
    "conversational": ["chat with me about it", "reply to the message", "have a conversation"],
    "text-classification": ["tell whether the review is positive or negative", "classify the sentiment of the text",
                            "detect the topic of the text"],
    "zero-shot-classification": ["pick which of these labels fits the text", "classify the text as sports, "
                                 "politics or science"],
    "token-classification": ["find the people, places and organisations named in the text",
                             "extract the named entities", "tag the parts of speech"],
    "fill-mask": ["fill in the missing word", "guess the masked word in the sentence"],
    "sentence-similarity": ["how similar are these two sentences", "compare the two texts for similarity"],
    "feature-extraction": ["embed the text as a vector", "compute the text embedding"],
    "image-classification": ["what kind of animal is in the photo", "classify the image", "label the picture"],
    "object-detection": ["find and box the objects in the photo", "detect the cars in the image",
                         "locate every person in the picture"],
    "image-to-text": ["caption the photo", "describe the picture in a sentence", "write a caption for the image"],
    "optical-character-recognition": ["read the text in the image", "extract the text from the scanned page",
                                      "what does the sign in the photo say"],
    "visual-question-answering": ["answer a question about the photo", "what color is the car in the picture",
                                  "how many people are in the image"],
    "document-question-answering": ["answer the question from the scanned document",
                                    "find the total on the invoice image"],
    "image-segmentation": ["segment the image into regions", "separate the person from the background"],
    "depth-estimation": ["estimate the depth of the photo", "make a depth map of the image"],
    "text-to-image": ["draw a picture of a cat", "generate an image of a lighthouse", "make an illustration"],
    "image-to-image": ["make the photo look like a painting", "turn the picture into a sketch"],
    "image-editing": ["edit the photo to add a hat", "change the sky in the image to sunset"],
    "automatic-speech-recognition": ["transcribe the recording", "write down what is said in the audio"],
    "text-to-speech": ["read it aloud", "say the answer out loud", "turn the text into speech"],
    "audio-classification": ["what sound is this", "classify the audio clip", "detect if someone is speaking"],
    "text-to-video": ["generate a video from the text", "make a short video clip of it"],
    "audio-to-audio": ["enhance the audio", "remove the noise from the recording"],
    "tabular-classification": ["classify the table", "classify the rows of the table image"],
    "zero-shot-image-classification": ["which of these labels fits the photo: cat, dog or bird"],
    "canny-control": ["make a canny edge map of the photo"],
    "mlsd-control": ["find the straight lines in the photo"],
    "openpose-control": ["get the pose skeleton of the person in the photo"],
    "seg-control": ["make a colour segmentation map for ControlNet"],
    "canny-text-to-image": ["draw a new picture following the edges of this photo"],
    "mlsd-text-to-image": ["draw a room following the line map"],
    "openpose-text-to-image": ["draw a person in the same pose as in the photo"],
    "depth-text-to-image": ["draw a new scene with the same depth as the photo"],
    "seg-text-to-image": ["draw a new picture following the segmentation map"],
}
# More of the same, in the short plain words the controller writes for a plain request (a person's
# request in Maestro is rarely phrased like TaskBench's). Hand-written; none is from any split or
# from benchmarks/data/plain_requests.jsonl, which checks the planner on plain requests.
PLAIN_PHRASES: dict[str, list[str]] = {
    "image-to-text": ["tell me what the photo shows", "what does this image show", "describe the scene in the photo",
                      "say what you see in the image", "explain what is happening in the picture",
                      "describe the image", "describe the photo example.jpg", "describe this picture for me"],
    "text-to-image": ["paint a picture of a lighthouse", "sketch a dragon", "illustrate a forest at dawn",
                      "render a poster of a city at night"],
    "visual-question-answering": ["is there a dog in the picture", "what is the man in the photo holding",
                                  "how many cars are parked in the image", "which colour is the door in the photo"],
    "optical-character-recognition": ["copy the words from the scanned page", "get the text out of the screenshot",
                                      "read what the label in the picture says",
                                      "transcribe the handwriting in the photo"],
    "text-to-speech": ["speak the text", "say it out loud", "voice the summary", "read the reply to me",
                       "turn the result into audio", "speak the translation aloud"],
    "automatic-speech-recognition": ["turn the speech into text", "what is being said in the audio",
                                     "convert the voice recording to text", "type out the audio"],
    "summarization": ["sum up the transcript", "condense the text into key points",
                      "a brief overview of the article", "summarize what was said"],
    "translation": ["put it into Japanese", "render the text in German", "translate the transcript"],
    "text-generation": ["tell me a joke", "write a reply to the email", "come up with a title for it",
                        "explain it in simple words"],
    "token-classification": ["list the names of people and places mentioned", "pick out the company names"],
    "text-classification": ["is this review positive or negative", "what is the mood of the message"],
    "object-detection": ["count and locate the cars in the photo", "mark where each person is in the picture"],
    "image-classification": ["what breed is the dog in the photo", "which species of bird is this"],
}
OWN_WEIGHT = 5.0  # each own phrase counts as this many labelled steps


def description_examples() -> list[tuple[str, str]]:
    """Maestro's task descriptions and own phrases (the only examples of tasks TaskBench lacks)."""
    out = [(spec.description, name) for name, spec in TASKS.items()]
    out += [(name.replace("-", " "), name) for name in TASKS]
    out += [(p, label) for table in (OWN_PHRASES, PLAIN_PHRASES) for label, phrases in table.items()
            for p in phrases if label in TASKS or label in UNSUPPORTED or label == "image-editing"]
    return out


_TEXT_IN_IMAGE = re.compile(r"\b(text|words?|writing|written|characters|letters|ocr)\b", re.IGNORECASE)
_READ = re.compile(r"\b(extract\w*|read\w*|recogni\w*|ocr|pull\w*|retriev\w*|scan\w*)\b", re.IGNORECASE)


def step_label(tool: str, text: str) -> str | None:
    """The head's label for one labelled step. TaskBench files text reading under Image-to-Text;
    Maestro has OCR for it (scored as Image-to-Text too), so such steps teach OCR."""
    label = tool_label(tool)
    if label == "image-to-text" and _TEXT_IN_IMAGE.search(text) and _READ.search(text):
        return "optical-character-recognition"
    return label


def step_examples(records: list[Record]) -> list[tuple[str, str]]:
    out = []
    for r in records:
        if len(r.steps) != len(r.nodes):
            continue
        for text, node in zip(r.steps, r.nodes, strict=True):
            label = step_label(node.task, text)
            if label and clean_step(text):
                out.append((clean_step(text), label))
    return out


def step_refs(r: Record) -> list[list[int]] | None:
    """Each node's sources (1-based) from the labelled links; None when a link is ambiguous."""
    names = [n.task for n in r.nodes]
    refs: list[list[int]] = [[] for _ in names]
    for s, t in r.links:
        if names.count(s) != 1 or names.count(t) != 1:
            return None
        i, j = names.index(s), names.index(t)
        if i >= j:
            return None
        refs[j].append(i + 1)
    return refs


def build_bank(records: list[Record]) -> list[dict[str, Any]]:
    order = sorted(records, key=lambda r: hashlib.sha256(("bank:" + r.id).encode()).hexdigest())
    seen: set[tuple[str, ...]] = set()
    bank = []
    for r in order:
        key = tuple(n.task for n in r.nodes)
        if key in seen or len(r.request) > MAX_REQUEST_CHARS or len(r.steps) != len(r.nodes):
            continue
        if not all(tool_label(n.task) for n in r.nodes):
            continue
        refs = step_refs(r)
        steps = [clean_step(s) for s in r.steps]
        if refs is None or not all(steps):
            continue
        seen.add(key)
        bank.append({"id": r.id, "request": r.request, "files": mentioned_files(r.request),
                     "steps": [{"text": s, "refs": f} for s, f in zip(steps, refs, strict=True)],
                     "labels": [tool_label(n.task) for n in r.nodes]})
        if len(bank) >= BANK_SIZE:
            break
    return bank


def pick_fixed(bank: list[dict[str, Any]], vectors: Any, k: int = FIXED_K,
               max_chars: int = FIXED_STEP_CHARS) -> list[dict[str, Any]]:
    """The k demos, among those whose steps average at most max_chars, that best cover the bank:
    greedily the one that most raises the sum over the bank of each request's highest cosine
    similarity to a picked demo (vectors: L2-normalised, one row per demo)."""
    import numpy as np

    short = np.array([bool(d["steps"]) and np.mean([len(s["text"]) for s in d["steps"]]) <= max_chars
                      for d in bank])
    sim = np.asarray(vectors, dtype="float32") @ np.asarray(vectors, dtype="float32").T
    best = np.full(len(bank), -1.0, dtype="float32")
    picked: list[int] = []
    for _ in range(min(k, int(short.sum()))):
        gain = np.maximum(sim, best[None, :]).sum(axis=1)
        gain[~short] = -np.inf
        gain[picked] = -np.inf
        i = int(np.argmax(gain))
        picked.append(i)
        best = np.maximum(best, sim[i])
    return [bank[i] for i in picked]


def encode(texts: list[str]) -> Any:
    """MiniLM vectors, cached by content under models_cache/kv (re-training takes seconds)."""
    import numpy as np

    from core.config.paths import models_cache
    from core.llm.encoder import encode as enc
    from core.planning.demo_bank import _embed_dir

    key = hashlib.sha256(json.dumps(texts).encode()).hexdigest()[:20]
    cache = models_cache() / "kv" / f"steps-{key}.npy"
    if cache.exists():
        return np.load(cache)
    folder = _embed_dir()
    if folder is None:
        raise SystemExit("all-MiniLM-L6-v2 is not installed")
    out = []
    for i in range(0, len(texts), 256):
        out.append(enc(folder, texts[i:i + 256]))
        print(f"  encoded {min(i + 256, len(texts))}/{len(texts)}", file=sys.stderr, flush=True)
    X = np.concatenate(out)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, X)
    return X


def train_head(X: Any, y: list[str], c: float = C, weights: Any = None) -> tuple[Any, Any, list[str]]:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    labels = sorted(set(y))
    idx = np.array([labels.index(v) for v in y])
    clf = LogisticRegression(C=c, max_iter=2000)
    clf.fit(X, idx, sample_weight=weights)
    return clf.coef_.T.astype("float32"), clf.intercept_.astype("float32"), labels


def main(argv: list[str] | None = None) -> int:
    import numpy as np

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--report", action="store_true", help="also score the head on dev's labelled steps")
    ap.add_argument("--c", type=float, default=C)
    ap.add_argument("--own-weight", type=float, default=OWN_WEIGHT)
    args = ap.parse_args(argv)
    fit = load_v2("fit")
    labelled, own = step_examples(fit), description_examples()
    examples = labelled + own
    print(f"{len(labelled)} labelled steps from {len(fit)} fit records, {len(own)} own", file=sys.stderr)
    X = np.concatenate([encode([t for t, _ in labelled]), encode([t for t, _ in own])])
    weights = np.array([1.0] * len(labelled) + [args.own_weight] * len(own))
    W, b, labels = train_head(X, [lab for _, lab in examples], args.c, weights)
    missing = set(TASKS) - set(labels)
    assert not missing, missing
    assert set(UNSUPPORTED) <= set(labels)
    meta = {"source": "TaskBench full_hf.jsonl, split v2 train less dev (fit)", "steps": len(examples),
            "encoder": "sentence-transformers/all-MiniLM-L6-v2", "C": args.c}
    HEAD_FILE.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(HEAD_FILE, W=W, b=b, labels=np.array(labels), meta=np.array(json.dumps(meta)))
    print(f"wrote {HEAD_FILE} ({HEAD_FILE.stat().st_size / 1e3:.0f} kB, {len(labels)} labels)", file=sys.stderr)
    bank = build_bank(fit)
    BANK_FILE.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in bank), encoding="utf-8")
    print(f"wrote {BANK_FILE} ({len(bank)} demos)", file=sys.stderr)
    plain = [d["request"] for d in retrieval_bank()[len(bank):]]  # the hand-written plain demos
    texts = [d["request"] for d in bank] + plain
    save_vectors(BANK_VECTORS, texts, np.concatenate([encode(texts[:len(bank)]), encode(plain)]))
    print(f"wrote {BANK_VECTORS} ({BANK_VECTORS.stat().st_size / 1e3:.0f} kB)", file=sys.stderr)
    fixed = pick_fixed(bank, encode(texts[:len(bank)]))
    FIXED_DEMOS.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in fixed), encoding="utf-8")
    print(f"wrote {FIXED_DEMOS} ({len(fixed)} demos)", file=sys.stderr)
    if args.report:
        dev = step_examples(load_v2("dev"))
        Xd = encode([t for t, _ in dev])
        for lab in sorted({lab for _, lab in dev}):
            rows = [i for i, (_, g) in enumerate(dev) if g == lab]
            hit = sum(labels[int(np.argmax(Xd[i] @ W + b))] == lab for i in rows)
            print(f"  {lab:32s} {hit}/{len(rows)}", file=sys.stderr)
        pred = np.argmax(Xd @ W + b, axis=1)
        acc = np.mean([labels[p] == lab for p, (_, lab) in zip(pred, dev, strict=True)])
        print(json.dumps({"dev_steps": len(dev), "step_accuracy": round(100 * float(acc), 2), "C": args.c}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

