"""document-question-answering as "read, then answer": RapidOCR reads the page (PP-OCRv4, ONNX) and
the controller LLM answers the question from the text it read, in reading order.

This is how the Hub's LayoutLM document-QA pipelines work too (an OCR pass first); here the
reader is the packaged OCR model and the answerer the controller, so it runs offline."""

from __future__ import annotations

from typing import Any

from core.errors import RunnerError
from core.execution.runners.base import RunContext, Runner
from core.execution.runners.media import load_image
from core.execution.runners.rapidocr import read_page
from core.results import TaskOutput

MAX_DOC_CHARS = 6000  # what fits beside the prompt in the controller's 4k context


class OcrQaRunner(Runner):
    runtime = "ocr-llm"

    def run_task(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput:
        question = str(inputs.get("question") or "").strip()
        if not question:
            raise RunnerError("the question about the document is empty")
        if ctx.controller is None:
            raise RunnerError("no controller LLM is loaded to answer from the document's text")
        image = load_image(inputs, "image")
        lines, provider, loaded = read_page(ctx, image, "answering from a document's text")
        ctx.check_cancel()
        text = "\n".join(line["text"] for line in lines)
        data: dict[str, Any] = {"ocr_lines": len(lines), "ocr_provider": provider, "ocr_loaded": loaded,
                                "document_text": text[:MAX_DOC_CHARS]}
        if not text.strip():
            return TaskOutput(text="The document has no readable text, so the question cannot be answered "
                                   "from it.", data=data)
        from core.execution.runners.llm_expert import LLMRunner

        answer, completion = LLMRunner().ask(ctx, {"text": text[:MAX_DOC_CHARS], "question": question},
                                             max_tokens=80)
        data.update(truncated_input=len(text) > MAX_DOC_CHARS, tokens=completion.completion_tokens)
        return TaskOutput(text=answer, data=data)
