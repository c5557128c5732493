"""Text tasks done by the controller LLM itself when no better expert is installed."""

from __future__ import annotations

import re
from typing import Any

from core.errors import RunnerError
from core.execution.runners.base import RunContext, Runner
from core.llm import prompts
from core.results import TaskOutput

# The most tokens the controller may write per task: one for each task of the "llm" runtime's row.
TASK_TOKENS = {
    "summarization": 160,
    "translation": 320,
    "question-answering": 80,
    "text-generation": 320,
    "conversational": 256,
    "zero-shot-classification": 16,
    "fill-mask": 24,
}
# How a sentence may mark its missing word (BERT, RoBERTa, and plain-writing conventions).
MASK_TOKENS = ("[MASK]", "<mask>", "___")
LANGS = {"en": "English", "es": "Spanish", "fr": "French", "de": "German", "it": "Italian",
         "pt": "Portuguese", "zh": "Chinese", "ja": "Japanese", "ru": "Russian", "nl": "Dutch"}
MAX_INPUT_CHARS = 8000  # ~2k tokens: what fits beside the prompt in a 4k context


class LLMRunner(Runner):
    runtime = "llm"

    def run_task(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput:
        if ctx.controller is None:
            raise RunnerError("no controller LLM is loaded")
        values = {k: str(v).strip() for k, v in inputs.items()}
        text = values.get("text", "")
        if not text:
            raise RunnerError("the text to work on is empty")
        if len(text) > MAX_INPUT_CHARS:
            values["text"] = text[:MAX_INPUT_CHARS]
        values.setdefault("src_lang", "the source language")
        values["src_lang"] = LANGS.get(values["src_lang"].lower(), values["src_lang"])
        tgt = values.get("tgt_lang") or "English"
        values["tgt_lang"] = LANGS.get(tgt.lower(), tgt)
        if ctx.task == "fill-mask":
            return self._fill_mask(ctx, values["text"])
        values.setdefault("question", "")
        values.setdefault("labels", "")
        out, completion = self.ask(ctx, values)
        data = {"truncated_input": len(text) > MAX_INPUT_CHARS, "tokens": completion.completion_tokens}
        return TaskOutput(text=out, data=data)

    def ask(self, ctx: RunContext, values: dict[str, str], max_tokens: int | None = None) -> tuple[str, Any]:
        """(answer, completion) for prompts/experts/<task>.txt filled with `values`."""
        prompt = prompts.render(f"experts/{ctx.task}.txt", **values)
        system = prompts.load("experts/system.txt").strip()
        pieces: list[str] = []

        def on_token(piece: str) -> None:
            pieces.append(piece)
            ctx.progress(None, "".join(pieces)[-80:])

        completion = ctx.controller.chat(
            [{"role": "system", "content": system}, {"role": "user", "content": prompt}],
            max_tokens=max_tokens or TASK_TOKENS[ctx.task], temperature=0.2, cancel=ctx.cancel, on_token=on_token)
        out = completion.text.strip()
        if not out:
            raise RunnerError("the controller returned an empty answer")
        return out, completion

    def _fill_mask(self, ctx: RunContext, text: str) -> TaskOutput:
        """Candidate words for the one masked word, best first, like a fill-mask pipeline's top-k
        (the controller ranks them; there are no per-word probabilities)."""
        marks = [m for m in MASK_TOKENS if m in text]
        if not marks:
            raise RunnerError("the sentence has no missing word to fill: mark it with [MASK] (or <mask>)")
        mask = marks[0]
        if text.count(mask) > 1:
            raise RunnerError(f"the sentence has {text.count(mask)} {mask} marks; fill-mask fills exactly one")
        answer, completion = self.ask(ctx, {"text": text, "mask": mask})
        words: list[str] = []
        for line in answer.splitlines():
            word = re.sub(r"^\W*\d*[.)]?\s*", "", line).strip().strip(".,;:\"'")
            if word and len(word.split()) <= 3 and word.lower() not in (w.lower() for w in words):
                words.append(word)
        if not words:
            raise RunnerError(f"the controller gave no usable word for {mask}: {answer[:80]!r}")
        words = words[:5]
        filled = text.replace(mask, words[0], 1)
        data = {"candidates": [{"token_str": w, "sequence": text.replace(mask, w, 1), "rank": i + 1}
                               for i, w in enumerate(words)],
                "tokens": completion.completion_tokens}
        return TaskOutput(text=f"{filled} (other fits: {', '.join(words[1:])})" if len(words) > 1 else filled,
                          data=data)
