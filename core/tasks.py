"""Task types Maestro knows: their argument modalities and what they output.

This is the single table the planner's grammar, the plan validator, the executor's
resource resolution and the runners agree on. Task names are Hugging Face pipeline tags.
Descriptions are Maestro's own words, kept short because each one costs prompt tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MODALITIES = ("text", "image", "audio", "video")


@dataclass(frozen=True)
class ArgSpec:
    name: str
    modality: str  # one of MODALITIES
    required: bool = True


@dataclass(frozen=True)
class TaskSpec:
    name: str
    inputs: tuple[ArgSpec, ...]
    output: str  # primary output modality; "text" for label/score tasks
    description: str
    extra_outputs: tuple[str, ...] = field(default=())  # e.g. detection also yields text

    @property
    def outputs(self) -> tuple[str, ...]:
        return (self.output, *self.extra_outputs)

    def arg(self, name: str) -> ArgSpec | None:
        return next((a for a in self.inputs if a.name == name), None)


def _t(name: str, inputs: list[tuple[str, str] | tuple[str, str, bool]], output: str,
       description: str, extra: tuple[str, ...] = ()) -> TaskSpec:
    args = tuple(ArgSpec(*a) for a in inputs)
    return TaskSpec(name, args, output, description, extra)


TASKS: dict[str, TaskSpec] = {s.name: s for s in [
    # text
    _t("summarization", [("text", "text")], "text", "shorten a text"),
    _t("translation", [("text", "text"), ("src_lang", "text", False), ("tgt_lang", "text", False)],
       "text", "translate a text into another language"),
    _t("question-answering", [("text", "text"), ("question", "text")], "text",
       "answer a question from a given text"),
    _t("text-generation", [("text", "text")], "text", "write or continue text from a prompt"),
    _t("conversational", [("text", "text")], "text", "reply to a chat message"),
    _t("text-classification", [("text", "text")], "text", "label a text (sentiment, topic)"),
    _t("zero-shot-classification", [("text", "text"), ("labels", "text")], "text",
       "pick the best of given labels for a text"),
    _t("token-classification", [("text", "text")], "text", "find named entities in a text"),
    _t("fill-mask", [("text", "text")], "text", "fill the [MASK] word in a sentence"),
    _t("sentence-similarity", [("text", "text"), ("text2", "text")], "text",
       "score how similar two sentences are"),
    _t("feature-extraction", [("text", "text")], "text", "embed a text as a vector"),
    # image
    _t("image-classification", [("image", "image")], "text", "label what an image shows"),
    _t("object-detection", [("image", "image")], "image", "find and box objects in an image",
       ("text",)),
    _t("image-to-text", [("image", "image")], "text", "caption an image"),
    _t("optical-character-recognition", [("image", "image")], "text", "read the text in an image"),
    _t("visual-question-answering", [("image", "image"), ("question", "text")], "text",
       "answer a question about an image"),
    _t("document-question-answering", [("image", "image"), ("question", "text")], "text",
       "answer a question about a document image"),
    _t("image-segmentation", [("image", "image")], "image", "split an image into labelled regions",
       ("text",)),
    _t("depth-estimation", [("image", "image")], "image", "estimate a depth map of an image"),
    _t("zero-shot-image-classification", [("image", "image"), ("labels", "text")], "text",
       "pick the best of given labels for an image"),
    _t("tabular-classification", [("image", "image")], "text",
       "classify the rows of a table (CSV file or table image)"),
    _t("text-to-image", [("text", "text")], "image", "draw an image from a description"),
    _t("image-to-image", [("image", "image"), ("text", "text", False)], "image",
       "change an image as described"),
    # ControlNet: a condition image from a photo, then an image drawn from a prompt under it
    _t("canny-control", [("image", "image")], "image", "canny edge map of an image"),
    _t("mlsd-control", [("image", "image")], "image", "straight line map of an image"),
    _t("openpose-control", [("image", "image")], "image", "human pose skeleton of an image"),
    _t("seg-control", [("image", "image")], "image", "colour-coded segmentation map of an image"),
    _t("hed-control", [("image", "image")], "image", "soft edge (HED) map of an image"),
    _t("scribble-control", [("image", "image")], "image", "scribble sketch of an image"),
    _t("canny-text-to-image", [("image", "image"), ("text", "text")], "image",
       "draw from a prompt following an edge map"),
    _t("mlsd-text-to-image", [("image", "image"), ("text", "text")], "image",
       "draw from a prompt following a line map"),
    _t("openpose-text-to-image", [("image", "image"), ("text", "text")], "image",
       "draw from a prompt following a pose skeleton"),
    _t("depth-text-to-image", [("image", "image"), ("text", "text")], "image",
       "draw from a prompt following a depth map"),
    _t("seg-text-to-image", [("image", "image"), ("text", "text")], "image",
       "draw from a prompt following a segmentation map"),
    _t("hed-text-to-image", [("image", "image"), ("text", "text")], "image",
       "draw from a prompt following a soft edge map"),
    _t("scribble-text-to-image", [("image", "image"), ("text", "text")], "image",
       "draw from a prompt following a scribble"),
    # video
    _t("text-to-video", [("text", "text")], "video", "make a short video clip from a description"),
    # audio
    _t("automatic-speech-recognition", [("audio", "audio")], "text", "transcribe speech"),
    _t("text-to-speech", [("text", "text")], "audio", "speak a text aloud"),
    _t("audio-classification", [("audio", "audio")], "text", "label a sound"),
    _t("audio-to-audio", [("audio", "audio")], "audio", "clean up speech or separate voices in audio"),
]}


# HuggingGPT and TaskBench spell some tasks differently; accept those on input.
ALIASES = {
    "text2text-generation": "text-generation",
    "image-editing": "image-to-image",
    "ocr": "optical-character-recognition",
    "speech-recognition": "automatic-speech-recognition",
    "tts": "text-to-speech",
    "ner": "token-classification",
    "sentiment-analysis": "text-classification",
    "speech-enhancement": "audio-to-audio",
    "canny-edge-detection": "canny-control",
    "pose-estimation": "openpose-control",
    "depth-control": "depth-estimation",  # its depth map is what the depth ControlNet takes
    "softedge-control": "hed-control",
}


def canonical_task(name: str) -> str:
    key = name.strip().lower().replace(" ", "-").replace("_", "-")
    return ALIASES.get(key, key)
