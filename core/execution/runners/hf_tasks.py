"""Per-task input checks and output shaping for the transformers runner.

Each handler has `prepare(ctx, inputs)` (decode and check inputs; runs before the model loads) and
`run(ctx, loaded, prepared)` (inference, artifacts, a short text for the responder, structured data)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.errors import RunnerError
from core.execution.runners.base import RunContext
from core.execution.runners.draw import depth_image, labelled_boxes, mask_overlay
from core.execution.runners.media import load_audio, load_image, save_png, save_wav, text_arg
from core.results import TaskOutput

MAX_NEW_TOKENS = 128


@dataclass
class Handler:
    prepare: Callable[[RunContext, dict[str, Any]], dict[str, Any]]
    run: Callable[[RunContext, Any, dict[str, Any]], TaskOutput]


def _opt(ctx: RunContext, name: str, default: Any) -> Any:
    return ctx.model.options.get(name, default)


def _scores(items: list[dict[str, Any]], n: int = 3) -> str:
    return ", ".join(f"{i['label']} ({i['score']:.2f})" for i in items[:n])


def _image(ctx: RunContext, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"image": load_image(inputs, "image")}


def _text(ctx: RunContext, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"text": text_arg(inputs, "text")}


def _audio(ctx: RunContext, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"audio": load_audio(inputs, "audio", 16_000), "path": inputs.get("audio")}


def _resampled(loaded: Any, prepared: dict[str, Any]) -> tuple[Any, int]:
    """The audio at the model's own rate (decoded at 16 kHz for the check; most models use that)."""
    rate = int(getattr(getattr(loaded.pipe, "feature_extractor", None), "sampling_rate", 16_000) or 16_000)
    if rate == 16_000:
        return prepared["audio"], rate
    return load_audio({"audio": prepared["path"]}, "audio", rate), rate


def _on_device(batch: Any, loaded: Any) -> dict[str, Any]:
    """Tensors to the model's device; float ones (pixels) also to its dtype (fp16 on GPUs)."""
    dtype = getattr(loaded.model, "dtype", None)
    return {k: (v.to(loaded.device, dtype=dtype) if v.is_floating_point() and dtype is not None else v.to(loaded.device))
            for k, v in batch.items() if hasattr(v, "to")}


# -- image ----------------------------------------------------------------------------------------
def image_classification(ctx: RunContext, loaded: Any, p: dict[str, Any]) -> TaskOutput:
    labels = [{"label": r["label"], "score": round(float(r["score"]), 4)} for r in loaded.pipe(p["image"], top_k=5)]
    return TaskOutput(text=_scores(labels), data={"labels": labels})


def object_detection(ctx: RunContext, loaded: Any, p: dict[str, Any]) -> TaskOutput:
    found = loaded.pipe(p["image"], threshold=float(_opt(ctx, "threshold", 0.5)))
    found = sorted(found, key=lambda r: -r["score"])[: int(_opt(ctx, "max_objects", 50))]
    objects = [{"label": r["label"], "score": round(float(r["score"]), 4),
                "box": [int(r["box"][k]) for k in ("xmin", "ymin", "xmax", "ymax")]} for r in found]
    drawn = labelled_boxes(p["image"], [{"box": o["box"], "label": f"{o['label']} {o['score']:.2f}"} for o in objects])
    counts: dict[str, int] = {}
    for o in objects:
        counts[o["label"]] = counts.get(o["label"], 0) + 1
    text = (f"{len(objects)} object(s): " + ", ".join(f"{n} {lab}" for lab, n in counts.items())
            if objects else "no objects found")
    return TaskOutput(text=text, files=[save_png(ctx, drawn)], data={"objects": objects})


def image_segmentation(ctx: RunContext, loaded: Any, p: dict[str, Any]) -> TaskOutput:
    import numpy as np

    segments = loaded.pipe(p["image"])
    masks = [(s["label"], s["mask"]) for s in segments]
    overlay = mask_overlay(p["image"], masks)
    info = [{"label": s["label"], "score": None if s.get("score") is None else round(float(s["score"]), 4),
             "pixels": int((np.asarray(s["mask"]) > 0).sum())} for s in segments]
    text = f"{len(info)} region(s): " + ", ".join(i["label"] for i in info[:10]) if info else "no regions found"
    return TaskOutput(text=text, files=[save_png(ctx, overlay)], data={"segments": info})


def depth_estimation(ctx: RunContext, loaded: Any, p: dict[str, Any]) -> TaskOutput:
    result = loaded.pipe(p["image"])
    depth = result["predicted_depth"].float().cpu().numpy()
    image = depth_image(depth).resize(p["image"].size)
    return TaskOutput(text=f"depth map {image.width}x{image.height} (bright = near)",
                      files=[save_png(ctx, image)],
                      data={"min": float(depth.min()), "max": float(depth.max())})


def image_to_text(ctx: RunContext, loaded: Any, p: dict[str, Any]) -> TaskOutput:
    import torch

    prompt = _opt(ctx, "prompt", None)
    batch = _on_device(loaded.processor(images=p["image"], text=prompt, return_tensors="pt"), loaded)
    with torch.inference_mode():
        ids = loaded.model.generate(**batch, max_new_tokens=int(_opt(ctx, "max_new_tokens", 40)))
    caption = loaded.processor.batch_decode(ids, skip_special_tokens=True)[0].strip()
    if prompt and caption.startswith(prompt):
        caption = caption[len(prompt):].strip()
    return TaskOutput(text=caption or "(empty caption)", data={"caption": caption})


def _image_labels(ctx: RunContext, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"image": load_image(inputs, "image"), "labels": _label_list(inputs)}


def zero_shot_image(ctx: RunContext, loaded: Any, p: dict[str, Any]) -> TaskOutput:
    found = loaded.pipe(p["image"], candidate_labels=p["labels"])
    labels = sorted(({"label": r["label"], "score": round(float(r["score"]), 4)} for r in found),
                    key=lambda r: -r["score"])
    return TaskOutput(text=_scores(labels), data={"labels": labels, "label": labels[0]["label"]})


def seg_control(ctx: RunContext, loaded: Any, p: dict[str, Any]) -> TaskOutput:
    """Each pixel painted with its class's colour in ADE20K's palette: the seg ControlNet's input."""
    import numpy as np
    from PIL import Image

    from core.execution.runners.draw import ade20k_palette

    palette = ade20k_palette()
    label2id = {str(k): int(v) for k, v in (loaded.model.config.label2id or {}).items()}
    w, h = p["image"].size
    canvas = np.zeros((h, w, 3), np.uint8)
    regions = []
    for s in loaded.pipe(p["image"], subtask="semantic"):
        mask = np.asarray(s["mask"]) > 0
        cls = label2id.get(str(s["label"]), len(regions))
        canvas[mask] = palette[cls % len(palette)]
        regions.append({"label": s["label"], "class_id": cls, "share": round(float(mask.mean()), 4)})
    regions.sort(key=lambda r: -r["share"])
    text = f"segmentation map {w}x{h}: " + ", ".join(r["label"] for r in regions[:8]) if regions else \
        "segmentation map: no regions found"
    return TaskOutput(text=text, files=[save_png(ctx, Image.fromarray(canvas))], data={"regions": regions})


def _question(ctx: RunContext, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"image": load_image(inputs, "image"), "question": text_arg(inputs, "question", 1000)}


def visual_qa(ctx: RunContext, loaded: Any, p: dict[str, Any]) -> TaskOutput:
    import torch

    model, processor = loaded.model, loaded.processor
    batch = _on_device(processor(images=p["image"], text=p["question"], return_tensors="pt", truncation=True), loaded)
    with torch.inference_mode():
        if model.config.model_type == "vilt":  # ViLT picks one of a fixed set of answers
            probs = model(**batch).logits.float().sigmoid()[0]
            top = probs.topk(min(3, probs.numel()))
            answers = [{"answer": model.config.id2label[int(i)], "score": round(float(s), 4)}
                       for s, i in zip(top.values, top.indices, strict=True)]
        else:  # generative (BLIP and kin)
            ids = model.generate(**batch, max_new_tokens=int(_opt(ctx, "max_new_tokens", 20)))
            answers = [{"answer": processor.batch_decode(ids, skip_special_tokens=True)[0].strip(), "score": None}]
    return TaskOutput(text=answers[0]["answer"] or "(no answer)", data={"answers": answers})


def _ocr_word_boxes(ctx: RunContext, image: Any) -> list[tuple[str, list[int]]]:
    """Words with boxes normalised to 0..1000, from the packaged RapidOCR (LayoutLM needs them and
    the pipeline would otherwise want Tesseract). A line's box is shared out by character count."""
    from core.execution.runners.rapidocr import read_page

    lines, _, _ = read_page(ctx, image, "document question answering with this model")
    w, h = image.size
    words: list[tuple[str, list[int]]] = []
    for line in lines:
        xs = [pt[0] for pt in line["box"]]
        ys = [pt[1] for pt in line["box"]]
        x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
        tokens = line["text"].split()
        total = max(1, sum(len(t) + 1 for t in tokens))
        pos = 0
        for tok in tokens:
            a = x0 + (x1 - x0) * pos / total
            pos += len(tok) + 1
            b = x0 + (x1 - x0) * (pos - 1) / total
            words.append((tok, [int(1000 * a / w), int(1000 * y0 / h), int(1000 * b / w), int(1000 * y1 / h)]))
    return words


def document_qa(ctx: RunContext, loaded: Any, p: dict[str, Any]) -> TaskOutput:
    kwargs: dict[str, Any] = {}
    if loaded.model.config.model_type.startswith("layoutlm"):
        kwargs["word_boxes"] = _ocr_word_boxes(ctx, p["image"])
        if not kwargs["word_boxes"]:
            return TaskOutput(text="(no text found in the document)", data={"answers": []})
    result = loaded.pipe(image=p["image"], question=p["question"], top_k=3, **kwargs)
    answers = [{"answer": r.get("answer", ""), "score": None if r.get("score") is None else round(float(r["score"]), 4)}
               for r in (result if isinstance(result, list) else [result])]
    return TaskOutput(text=answers[0]["answer"] if answers else "(no answer)", data={"answers": answers})


# -- text -----------------------------------------------------------------------------------------
def _label_list(inputs: dict[str, Any]) -> list[str]:
    raw = text_arg(inputs, "labels", 2000)
    labels = list(dict.fromkeys(x.strip() for x in raw.replace(";", ",").split(",") if x.strip()))
    if len(labels) < 2:
        raise RunnerError("'labels' needs at least two candidate labels, separated by commas")
    return labels


def _labels(ctx: RunContext, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"text": text_arg(inputs, "text"), "labels": _label_list(inputs)}


def zero_shot(ctx: RunContext, loaded: Any, p: dict[str, Any]) -> TaskOutput:
    r = loaded.pipe(p["text"], candidate_labels=p["labels"], truncation=True)
    labels = [{"label": lab, "score": round(float(s), 4)} for lab, s in zip(r["labels"], r["scores"], strict=True)]
    return TaskOutput(text=_scores(labels), data={"labels": labels})


def text_classification(ctx: RunContext, loaded: Any, p: dict[str, Any]) -> TaskOutput:
    result = loaded.pipe(p["text"], top_k=None, truncation=True)
    items = result[0] if result and isinstance(result[0], list) else result
    labels = sorted(({"label": r["label"], "score": round(float(r["score"]), 4)} for r in items),
                    key=lambda r: -r["score"])
    return TaskOutput(text=_scores(labels), data={"labels": labels, "label": labels[0]["label"]})


def token_classification(ctx: RunContext, loaded: Any, p: dict[str, Any]) -> TaskOutput:
    found = loaded.pipe(p["text"], aggregation_strategy="simple")
    entities = [{"text": e["word"], "label": e["entity_group"], "score": round(float(e["score"]), 4),
                 "start": e.get("start"), "end": e.get("end")} for e in found]
    text = ", ".join(f"{e['text']} ({e['label']})" for e in entities[:30]) or "no named entities found"
    return TaskOutput(text=text, data={"entities": entities})


def _fill_text(ctx: RunContext, inputs: dict[str, Any]) -> dict[str, Any]:
    text = text_arg(inputs, "text")
    if "[MASK]" not in text and "<mask>" not in text:
        raise RunnerError("fill-mask needs a [MASK] in the text to fill")
    return {"text": text}


def fill_mask(ctx: RunContext, loaded: Any, p: dict[str, Any]) -> TaskOutput:
    mask = loaded.pipe.tokenizer.mask_token
    text = p["text"].replace("[MASK]", mask).replace("<mask>", mask)
    result = loaded.pipe(text, top_k=5)
    if result and isinstance(result[0], list):  # several masks: keep the first one's candidates
        result = result[0]
    options = [{"token": r["token_str"].strip(), "score": round(float(r["score"]), 4), "sequence": r["sequence"]}
               for r in result]
    best = options[0] if options else None
    shown = best["sequence"] if best and best["sequence"].strip() else f"(the model filled in '{best['token'] if best else ''}')"
    return TaskOutput(text=shown, data={"options": options})


def text_generation(ctx: RunContext, loaded: Any, p: dict[str, Any]) -> TaskOutput:
    result = loaded.pipe(p["text"], max_new_tokens=int(_opt(ctx, "max_new_tokens", MAX_NEW_TOKENS)),
                         do_sample=False, return_full_text=False)
    generated = result[0]["generated_text"].strip()
    return TaskOutput(text=generated or "(nothing generated)", data={"generated": generated})


def _seq2seq(ctx: RunContext, loaded: Any, source: str, prefix: str = "") -> str:
    import torch

    tok = loaded.processor
    batch = _on_device(tok(prefix + source, return_tensors="pt", truncation=True), loaded)
    with torch.inference_mode():
        ids = loaded.model.generate(**batch, max_new_tokens=int(_opt(ctx, "max_new_tokens", MAX_NEW_TOKENS)),
                                    num_beams=int(_opt(ctx, "num_beams", 2)))
    return tok.batch_decode(ids, skip_special_tokens=True)[0].strip()


def summarization(ctx: RunContext, loaded: Any, p: dict[str, Any]) -> TaskOutput:
    summary = _seq2seq(ctx, loaded, p["text"], _opt(ctx, "prefix", ""))
    return TaskOutput(text=summary or "(empty summary)", data={"summary": summary})


def _translation_args(ctx: RunContext, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"text": text_arg(inputs, "text"), "src_lang": text_arg(inputs, "src_lang", 40, required=False),
            "tgt_lang": text_arg(inputs, "tgt_lang", 40, required=False)}


def _target(want: str, targets: dict[str, str]) -> str | None:
    """A target language given as a code ("de") or a name ("German") -> the model's code for it."""
    w = want.strip().lower()
    return next((code for code, name in targets.items() if w in (code.lower(), name.lower())), None)


def translation(ctx: RunContext, loaded: Any, p: dict[str, Any]) -> TaskOutput:
    # A fixed-pair model (Marian "en-de") covers its own pair; a multi-target model (T5) takes a prompt
    # prefix naming the target. Asking for a language the model lacks is an error, not a silent mistake.
    pair = _opt(ctx, "pair", "")
    targets: dict[str, str] = _opt(ctx, "targets", {})
    want = p["tgt_lang"]
    prefix = _opt(ctx, "prefix", "")
    if targets:
        code = _target(want, targets) if want else next(iter(targets))
        if code is None:
            raise RunnerError(f"{ctx.model.id} translates into {', '.join(targets.values())} only, not '{want}'")
        prefix = prefix.format(target=targets[code])
        pair = f"en-{code}"
    elif pair and want and _target(want, {pair.split("-")[-1]: _opt(ctx, "tgt_name", "")}) is None:
        raise RunnerError(f"{ctx.model.id} translates {pair} only, not into '{want}'")
    translated = _seq2seq(ctx, loaded, p["text"], prefix)
    return TaskOutput(text=translated or "(empty translation)", data={"translation": translated, "pair": pair or None})


def _qa_args(ctx: RunContext, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"context": text_arg(inputs, "text"), "question": text_arg(inputs, "question", 1000)}


def question_answering(ctx: RunContext, loaded: Any, p: dict[str, Any]) -> TaskOutput:
    """Extractive QA: the best start/end token pair inside the context, over overlapping windows."""
    import torch

    tok, model = loaded.processor, loaded.model
    enc = tok(p["question"], p["context"], truncation="only_second", max_length=384, stride=128,
              return_overflowing_tokens=True, return_offsets_mapping=True, padding=True, return_tensors="pt")
    offsets = enc.pop("offset_mapping")
    enc.pop("overflow_to_sample_mapping", None)
    with torch.inference_mode():
        out = model(**{k: v.to(loaded.device) for k, v in enc.items()})
    best = (float("-inf"), 0, 0)
    for w in range(offsets.shape[0]):
        seq = enc.sequence_ids(w)
        ctx_idx = [i for i, s in enumerate(seq) if s == 1]
        start = out.start_logits[w].float().cpu()
        end = out.end_logits[w].float().cpu()
        for i in sorted(ctx_idx, key=lambda i: -float(start[i]))[:20]:
            for j in sorted(ctx_idx, key=lambda j: -float(end[j]))[:20]:
                if i <= j < i + 30 and float(start[i] + end[j]) > best[0]:
                    best = (float(start[i] + end[j]), int(offsets[w][i][0]), int(offsets[w][j][1]))
    answer = p["context"][best[1]:best[2]].strip()
    return TaskOutput(text=answer or "(no answer found in the text)",
                      data={"answer": answer, "start": best[1], "end": best[2], "score": round(best[0], 4)})


# -- audio ----------------------------------------------------------------------------------------
def audio_classification(ctx: RunContext, loaded: Any, p: dict[str, Any]) -> TaskOutput:
    audio, rate = _resampled(loaded, p)
    labels = [{"label": r["label"], "score": round(float(r["score"]), 4)}
              for r in loaded.pipe({"raw": audio, "sampling_rate": rate}, top_k=5)]
    return TaskOutput(text=_scores(labels), data={"labels": labels})


def speech_recognition(ctx: RunContext, loaded: Any, p: dict[str, Any]) -> TaskOutput:
    audio, rate = _resampled(loaded, p)
    kwargs = {"chunk_length_s": 30} if len(audio) > 30 * rate else {}
    result = loaded.pipe({"raw": audio, "sampling_rate": rate}, **kwargs)
    transcript = result["text"].strip()
    return TaskOutput(text=transcript or "(no speech recognised)", data={"transcript": transcript})


def text_to_speech(ctx: RunContext, loaded: Any, p: dict[str, Any]) -> TaskOutput:
    import numpy as np

    result = loaded.pipe(p["text"])
    audio = np.asarray(result["audio"], dtype=np.float32).reshape(-1)
    rate = int(result["sampling_rate"])
    if audio.size == 0:
        raise RunnerError("the model produced no audio")
    peak = float(np.abs(audio).max()) or 1.0
    artifact = save_wav(ctx, audio / peak * 0.9 if peak > 1.0 else audio, rate)
    return TaskOutput(text=f"spoke {len(p['text'].split())} words ({audio.size / rate:.1f} s of audio)",
                      files=[artifact], data={"seconds": round(audio.size / rate, 2), "sample_rate": rate})


HANDLERS: dict[str, Handler] = {
    "image-classification": Handler(_image, image_classification),
    "object-detection": Handler(_image, object_detection),
    "image-segmentation": Handler(_image, image_segmentation),
    "depth-estimation": Handler(_image, depth_estimation),
    "image-to-text": Handler(_image, image_to_text),
    "visual-question-answering": Handler(_question, visual_qa),
    "document-question-answering": Handler(_question, document_qa),
    "zero-shot-classification": Handler(_labels, zero_shot),
    "text-classification": Handler(_text, text_classification),
    "token-classification": Handler(_text, token_classification),
    "fill-mask": Handler(_fill_text, fill_mask),
    "text-generation": Handler(_text, text_generation),
    "summarization": Handler(_text, summarization),
    "translation": Handler(_translation_args, translation),
    "question-answering": Handler(_qa_args, question_answering),
    "audio-classification": Handler(_audio, audio_classification),
    "automatic-speech-recognition": Handler(_audio, speech_recognition),
    "text-to-speech": Handler(_text, text_to_speech),
    "zero-shot-image-classification": Handler(_image_labels, zero_shot_image),
    "seg-control": Handler(_image, seg_control),
}
