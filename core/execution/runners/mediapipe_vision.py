"""Faces and people with the MediaPipe models that ship inside the mediapipe 0.10.21 wheel (TFLite,
Apache-2.0): BlazeFace full-range face detection for object-detection, and the selfie (person)
segmentation model for image-segmentation. Both run on the CPU in milliseconds.

They see one class each (a face; a person versus the background); the selector says so, and the
Hub's DETR / SegFormer models remain the choice for every other kind of object."""

from __future__ import annotations

import contextlib
import io
from typing import Any

from core.execution.runners.base import RunContext, Runner
from core.execution.runners.draw import labelled_boxes, mask_overlay
from core.execution.runners.media import load_image, save_png
from core.results import TaskOutput

MODEL_BYTES = {"object-detection": 1_100_000, "image-segmentation": 250_000}  # TFLite files
MIN_FACE_SCORE = 0.5
PERSON_THRESHOLD = 0.5  # mask probability above which a pixel belongs to the person


def _protobuf_compat() -> None:
    """mediapipe 0.10.21's C++ side asks protobuf for MessageFactory.GetPrototype, which protobuf 5
    removed in favour of message_factory.GetMessageClass (same result); without it, every result
    with a proto in it raises (and prints) an AttributeError before falling back."""
    from google.protobuf import message_factory

    if not hasattr(message_factory.MessageFactory, "GetPrototype"):
        message_factory.MessageFactory.GetPrototype = (  # type: ignore[attr-defined]
            lambda self, descriptor: message_factory.GetMessageClass(descriptor))


def _solutions() -> Any:
    _protobuf_compat()
    with contextlib.redirect_stderr(io.StringIO()):  # import-time notices are not for the user
        from mediapipe.python.solutions import face_detection, selfie_segmentation
    return face_detection, selfie_segmentation


class MediaPipeRunner(Runner):
    runtime = "mediapipe"

    def run_task(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput:
        self.folder(ctx)  # a clear "pip install" message when mediapipe is missing
        image = load_image(inputs, "image")
        import numpy as np

        rgb = np.ascontiguousarray(np.asarray(image.convert("RGB")))
        if ctx.task == "object-detection":
            return self._faces(ctx, image, rgb)
        return self._person(ctx, image, rgb)

    def _lease(self, ctx: RunContext, build: Any) -> Any:
        return self.model(ctx, build, MODEL_BYTES[ctx.task], variant=(ctx.task,))

    def _faces(self, ctx: RunContext, image: Any, rgb: Any) -> TaskOutput:
        face_detection, _ = _solutions()
        threshold = float((ctx.model.options or {}).get("threshold", MIN_FACE_SCORE))

        def build() -> Any:  # model_selection=1: the full-range model (faces up to ~5 m away)
            return face_detection.FaceDetection(model_selection=1, min_detection_confidence=threshold)

        with self._lease(ctx, build) as lease:
            ctx.progress(None, "looking for faces")
            found = lease.model.process(rgb).detections or []
        w, h = image.size
        objects = []
        for det in sorted(found, key=lambda d: -d.score[0]):
            box = det.location_data.relative_bounding_box
            x0, y0 = max(0, round(box.xmin * w)), max(0, round(box.ymin * h))
            x1, y1 = min(w, round((box.xmin + box.width) * w)), min(h, round((box.ymin + box.height) * h))
            objects.append({"label": "face", "score": round(float(det.score[0]), 4), "box": [x0, y0, x1, y1]})
        drawn = labelled_boxes(image, [{"box": o["box"], "label": f"face {o['score']:.2f}"} for o in objects])
        text = f"{len(objects)} object(s): {len(objects)} face" if objects else "no faces found"
        return TaskOutput(text=text, files=[save_png(ctx, drawn)],
                          data={"objects": objects, "classes": ["face"]})

    def _person(self, ctx: RunContext, image: Any, rgb: Any) -> TaskOutput:
        import numpy as np
        from PIL import Image

        _, selfie_segmentation = _solutions()

        def build() -> Any:  # model_selection=0: the general (square input) model
            return selfie_segmentation.SelfieSegmentation(model_selection=0)

        with self._lease(ctx, build) as lease:
            ctx.progress(None, "separating people from the background")
            prob = np.asarray(lease.model.process(rgb).segmentation_mask, dtype=np.float32)
        person = prob > PERSON_THRESHOLD
        share = float(person.mean())
        mask_png = Image.fromarray(person.astype(np.uint8) * 255, mode="L")
        overlay = mask_overlay(image, [("person", mask_png)])
        segments = [{"label": "person", "score": round(float(prob[person].mean()), 4) if person.any() else None,
                     "pixels": int(person.sum()), "share": round(share, 4)},
                    {"label": "background", "score": None, "pixels": int((~person).sum()),
                     "share": round(1 - share, 4)}]
        text = (f"2 region(s): person ({share:.0%} of the image), background" if person.any()
                else "no person found: the whole image is background")
        files = [save_png(ctx, overlay), save_png(ctx, mask_png, stem=f"task{ctx.task_id}-person-mask")]
        return TaskOutput(text=text, files=files, data={"segments": segments})
