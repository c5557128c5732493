"""Hybrid mode: a task runs on a remote inference server that speaks the Hugging Face inference protocol
(self-hosted TGI / TEI, an Inference Endpoint, ...) through huggingface_hub's InferenceClient(base_url=...).

Local stays the default: this runner refuses to work unless the user allowed remote experts, and never
in offline mode. Inputs are checked locally first, so a bad file never leaves the machine. The entry's
options say where to go: {"base_url": "http://host:8080", "token_env": "NAME_OF_ENV_VAR",
"timeout_s": 120}; the token itself is read from that environment variable, never stored."""

from __future__ import annotations

import io
import os
from typing import Any

from core.errors import RunnerError
from core.execution.runners.base import RunContext, Runner, write_atomic
from core.execution.runners.draw import labelled_boxes, mask_overlay
from core.execution.runners.media import load_audio, load_image, save_png, text_arg
from core.models.entry import ModelEntry
from core.results import Artifact, TaskOutput


def remote_entry(task: str, base_url: str, name: str = "", token_env: str = "") -> ModelEntry:
    """A catalog entry for a task served remotely (what the settings page builds from the user's URL)."""
    opts = {"base_url": base_url.rstrip("/"), "source": "remote"}
    if token_env:
        opts["token_env"] = token_env
    return ModelEntry(f"remote:{name or base_url}", task, "remote", options=opts)


def _offline(settings: dict[str, Any]) -> bool:
    return bool(settings.get("offline")) or os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")


def _png_bytes(image: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _labels(items: Any) -> list[dict[str, Any]]:
    return [{"label": i.label, "score": round(float(i.score), 4)} for i in items]


def _text_of_labels(labels: list[dict[str, Any]]) -> str:
    return ", ".join(f"{x['label']} ({x['score']:.2f})" for x in labels[:3])


class RemoteRunner(Runner):
    runtime = "remote"

    def run_task(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput:
        task = ctx.task
        if _offline(ctx.settings):
            raise RunnerError("offline mode is on: remote experts are not used")
        if not ctx.settings.get("allow_remote_experts"):
            raise RunnerError("remote experts are turned off (Settings -> allow remote experts)")
        base_url = str(ctx.model.options.get("base_url", "")).strip()
        if not base_url.startswith(("http://", "https://")):
            raise RunnerError(f"remote expert {ctx.model.id} has no valid base_url")
        payload = self._prepare(task, inputs)  # local checks first: bad input never goes out
        from huggingface_hub import InferenceClient

        token_env = ctx.model.options.get("token_env")
        token = os.environ.get(token_env) if token_env else None
        client = InferenceClient(base_url=base_url, token=token,
                                 timeout=float(ctx.model.options.get("timeout_s", 120)))
        ctx.check_cancel()
        ctx.progress(None, f"sending to {base_url}")
        try:
            out = self._call(ctx, client, task, payload)
        except RunnerError:
            raise
        except Exception as e:  # noqa: BLE001 - network/protocol errors of any kind become one clear message
            msg = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
            raise RunnerError(f"remote expert at {base_url} failed: {msg}") from None
        out.data.update({"remote": base_url})
        return out

    @staticmethod
    def _prepare(task: str, inputs: dict[str, Any]) -> dict[str, Any]:
        p: dict[str, Any] = {}
        if task in ("image-classification", "object-detection", "image-segmentation", "image-to-text",
                    "visual-question-answering", "document-question-answering"):
            p["image"] = load_image(inputs, "image")
        if task in ("automatic-speech-recognition", "audio-classification"):
            load_audio(inputs, "audio")  # decodes: a text file passed as audio fails here, locally
            p["audio_bytes"] = inputs["audio"].read_bytes() if hasattr(inputs["audio"], "read_bytes") else b""
        if "image" not in p and "audio_bytes" not in p:
            p["text"] = text_arg(inputs, "text")
        for name in ("question", "text2", "labels", "src_lang", "tgt_lang"):
            if name in inputs:
                p[name] = text_arg(inputs, name, 2000, required=False)
        return p

    @staticmethod
    def _call(ctx: RunContext, client: Any, task: str, p: dict[str, Any]) -> TaskOutput:
        if task in ("text-classification", "image-classification", "audio-classification"):
            fn = {"text-classification": lambda: client.text_classification(p["text"]),
                  "image-classification": lambda: client.image_classification(_png_bytes(p["image"])),
                  "audio-classification": lambda: client.audio_classification(p["audio_bytes"])}[task]
            result = fn()
            if result and isinstance(result[0], list):
                result = result[0]
            labels = _labels(result)
            return TaskOutput(text=_text_of_labels(labels), data={"labels": labels})
        if task == "automatic-speech-recognition":
            transcript = client.automatic_speech_recognition(p["audio_bytes"]).text.strip()
            return TaskOutput(text=transcript or "(no speech recognised)", data={"transcript": transcript})
        if task == "zero-shot-classification":
            labels_in = [x.strip() for x in p.get("labels", "").split(",") if x.strip()]
            if len(labels_in) < 2:
                raise RunnerError("'labels' needs at least two candidate labels, separated by commas")
            labels = _labels(client.zero_shot_classification(p["text"], candidate_labels=labels_in))
            return TaskOutput(text=_text_of_labels(labels), data={"labels": labels})
        if task == "token-classification":
            ents = [{"text": e.word, "label": e.entity_group or e.entity, "score": round(float(e.score), 4)}
                    for e in client.token_classification(p["text"])]
            return TaskOutput(text=", ".join(f"{e['text']} ({e['label']})" for e in ents) or "no named entities found",
                              data={"entities": ents})
        if task == "fill-mask":
            opts = [{"token": o.token_str, "score": round(float(o.score), 4), "sequence": o.sequence}
                    for o in client.fill_mask(p["text"])]
            return TaskOutput(text=opts[0]["sequence"] if opts else "", data={"options": opts})
        if task == "summarization":
            s = client.summarization(p["text"]).summary_text
            return TaskOutput(text=s, data={"summary": s})
        if task == "translation":
            t = client.translation(p["text"], src_lang=p.get("src_lang") or None,
                                   tgt_lang=p.get("tgt_lang") or None).translation_text
            return TaskOutput(text=t, data={"translation": t})
        if task == "question-answering":
            r = client.question_answering(question=p.get("question", ""), context=p["text"])
            r = r[0] if isinstance(r, list) else r
            return TaskOutput(text=r.answer, data={"answer": r.answer, "score": r.score})
        if task == "text-generation":
            g = client.text_generation(p["text"], max_new_tokens=int(ctx.model.options.get("max_new_tokens", 200)))
            return TaskOutput(text=g.strip(), data={"generated": g})
        if task == "feature-extraction":
            import numpy as np

            vec = np.asarray(client.feature_extraction(p["text"]), dtype=np.float32)
            vec = vec.reshape(-1, vec.shape[-1]).mean(axis=0) if vec.ndim > 1 else vec
            return TaskOutput(text=f"{vec.size}-dimensional embedding", data={"dim": int(vec.size),
                                                                              "embedding": vec.round(6).tolist()})
        if task == "sentence-similarity":
            score = float(client.sentence_similarity(p["text"], other_sentences=[p.get("text2", "")])[0])
            return TaskOutput(text=f"similarity {score:.3f}", data={"score": round(score, 4)})
        if task == "object-detection":
            objs = [{"label": o.label, "score": round(float(o.score), 4),
                     "box": [o.box.xmin, o.box.ymin, o.box.xmax, o.box.ymax]} for o in client.object_detection(
                         _png_bytes(p["image"]))]
            drawn = labelled_boxes(p["image"], [{"box": o["box"], "label": f"{o['label']} {o['score']:.2f}"}
                                                for o in objs])
            return TaskOutput(text=f"{len(objs)} object(s): " + ", ".join(o["label"] for o in objs),
                              files=[save_png(ctx, drawn)], data={"objects": objs})
        if task == "image-segmentation":
            import base64

            from PIL import Image

            segs = client.image_segmentation(_png_bytes(p["image"]))
            masks = [(s.label, Image.open(io.BytesIO(base64.b64decode(s.mask)))) for s in segs]
            return TaskOutput(text=", ".join(lab for lab, _ in masks) or "no regions found",
                              files=[save_png(ctx, mask_overlay(p["image"], masks))],
                              data={"segments": [{"label": lab} for lab, _ in masks]})
        if task == "image-to-text":
            c = client.image_to_text(_png_bytes(p["image"])).generated_text
            return TaskOutput(text=c, data={"caption": c})
        if task in ("visual-question-answering", "document-question-answering"):
            call = client.visual_question_answering if task.startswith("visual") else client.document_question_answering
            answers = call(_png_bytes(p["image"]), question=p.get("question", ""))
            first = answers[0] if answers else None
            return TaskOutput(text=first.answer if first else "(no answer)",
                              data={"answers": [{"answer": a.answer, "score": a.score} for a in answers]})
        if task == "text-to-speech":
            audio = client.text_to_speech(p["text"])
            suffix = ".wav" if audio[:4] == b"RIFF" else ".flac" if audio[:4] == b"fLaC" else ".mp3"
            path = write_atomic(ctx.artifact_path(suffix), audio)
            return TaskOutput(text="speech generated remotely", files=[Artifact(path, "audio", f"audio/{suffix[1:]}")])
        if task == "text-to-image":
            image = client.text_to_image(p["text"])
            return TaskOutput(text=f"an image of: {p['text'][:80]}", files=[save_png(ctx, image)])
        raise RunnerError(f"remote experts cannot do '{task}'")
