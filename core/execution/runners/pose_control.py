"""openpose-control: a person's pose drawn as OpenPose's 18-keypoint skeleton, the input of the openpose
ControlNet, from MediaPipe's pose landmarker (BlazePose detector + full landmark model, TFLite files in
the mediapipe 0.10.21 wheel, Apache-2.0). No OpenPose weights are needed.

MediaPipe gives 33 landmarks; OpenPose's body model has 18 (its neck is the shoulders' midpoint). The
skeleton is drawn the way ControlNet's annotator draws it — coloured limbs as 60 % opaque ellipses,
then a dot per keypoint, on black — because the ControlNet was trained on exactly those colours."""

from __future__ import annotations

import math
from typing import Any

from core.errors import RunnerError
from core.execution.runners.base import RunContext, Runner
from core.execution.runners.media import load_image, save_png
from core.results import TaskOutput

MODEL_BYTES = 9_399_558  # the two TFLite files
MIN_VISIBILITY = 0.5
# OpenPose body-18 keypoint k <- MediaPipe landmark; None = the neck (midpoint of the shoulders).
FROM_MEDIAPIPE: tuple[int | None, ...] = (0, None, 12, 14, 16, 11, 13, 15, 24, 26, 28, 23, 25, 27, 5, 2, 8, 7)
NAMES = ("nose", "neck", "right shoulder", "right elbow", "right wrist", "left shoulder", "left elbow",
         "left wrist", "right hip", "right knee", "right ankle", "left hip", "left knee", "left ankle",
         "right eye", "left eye", "right ear", "left ear")
# OpenPose's limbs (1-based keypoint pairs) and colours, in ControlNet's drawing order.
LIMBS = ((2, 3), (2, 6), (3, 4), (4, 5), (6, 7), (7, 8), (2, 9), (9, 10), (10, 11), (2, 12), (12, 13),
         (13, 14), (2, 1), (1, 15), (15, 17), (1, 16), (16, 18))
COLORS = ((255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0), (0, 255, 0),
          (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255), (0, 0, 255), (85, 0, 255),
          (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85))


def _field_label_compat() -> None:
    """mediapipe 0.10.21 sets a graph's repeated options by FieldDescriptor.label, which protobuf 7's
    upb descriptors dropped for `is_repeated`; give the old attribute back (same meaning)."""
    import google._upb._message as upb
    from google.protobuf.descriptor import FieldDescriptor

    if not hasattr(upb.FieldDescriptor, "label"):
        upb.FieldDescriptor.label = property(  # type: ignore[attr-defined]
            lambda self: FieldDescriptor.LABEL_REPEATED if self.is_repeated else FieldDescriptor.LABEL_OPTIONAL)


def keypoints(landmarks: Any, w: int, h: int) -> list[tuple[float, float] | None]:
    """OpenPose's 18 keypoints in pixels (None where MediaPipe did not see the body part)."""
    def seen(i: int) -> tuple[float, float] | None:
        lm = landmarks[i]
        if lm.visibility < MIN_VISIBILITY or not (0 <= lm.x <= 1 and 0 <= lm.y <= 1):
            return None
        return lm.x * w, lm.y * h

    out: list[tuple[float, float] | None] = []
    for src in FROM_MEDIAPIPE:
        if src is None:
            a, b = seen(11), seen(12)
            out.append(((a[0] + b[0]) / 2, (a[1] + b[1]) / 2) if a and b else None)
        else:
            out.append(seen(src))
    return out


def draw_skeleton(points: list[tuple[float, float] | None], w: int, h: int) -> Any:
    import cv2
    import numpy as np

    canvas = np.zeros((h, w, 3), np.uint8)
    stick = max(2, round(4 * max(w, h) / 512))  # ControlNet's 4 px at 512 px, scaled with the image
    for i, (a, b) in enumerate(LIMBS):
        pa, pb = points[a - 1], points[b - 1]
        if pa is None or pb is None:
            continue
        layer = canvas.copy()
        cx, cy = (pa[0] + pb[0]) / 2, (pa[1] + pb[1]) / 2
        length = math.hypot(pa[0] - pb[0], pa[1] - pb[1])
        angle = math.degrees(math.atan2(pa[1] - pb[1], pa[0] - pb[0]))
        poly = cv2.ellipse2Poly((round(cx), round(cy)), (round(length / 2), stick), round(angle), 0, 360, 1)
        cv2.fillConvexPoly(layer, poly, COLORS[i])
        canvas = cv2.addWeighted(canvas, 0.4, layer, 0.6, 0)
    for i, p in enumerate(points):
        if p is not None:
            cv2.circle(canvas, (round(p[0]), round(p[1])), stick, COLORS[i], thickness=-1)
    return canvas


class PoseControlRunner(Runner):
    runtime = "mediapipe-pose"

    def run_task(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput:
        import numpy as np
        from PIL import Image

        self.folder(ctx)  # a clear "pip install" message when mediapipe is missing
        image = load_image(inputs, "image")
        rgb = np.ascontiguousarray(np.asarray(image))
        from core.execution.runners.mediapipe_vision import _protobuf_compat

        _protobuf_compat()
        _field_label_compat()
        from mediapipe.python.solutions import pose as mp_pose

        def build() -> Any:  # model_complexity=1: the full landmark model, the one the wheel ships
            return mp_pose.Pose(static_image_mode=True, model_complexity=1, min_detection_confidence=0.5)

        with self.model(ctx, build, MODEL_BYTES) as lease:
            ctx.progress(None, "finding the person's pose")
            result = lease.model.process(rgb)
        if result.pose_landmarks is None:
            raise RunnerError("no person found in the image: a pose map needs a visible person")
        w, h = image.size
        points = keypoints(result.pose_landmarks.landmark, w, h)
        found = {NAMES[i]: [round(p[0]), round(p[1])] for i, p in enumerate(points) if p is not None}
        out = Image.fromarray(draw_skeleton(points, w, h))
        return TaskOutput(text=f"pose of 1 person: {len(found)} of 18 keypoints visible",
                          files=[save_png(ctx, out)], data={"keypoints": found})
