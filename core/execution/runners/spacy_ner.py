"""token-classification (named entities) with a spaCy pipeline shipped as a Python package."""

from __future__ import annotations

from typing import Any

from core.errors import RunnerError
from core.execution.runners.base import RunContext, Runner
from core.execution.runners.media import text_arg
from core.models.locate import folder_bytes
from core.results import TaskOutput


class SpacyRunner(Runner):
    runtime = "spacy"

    def run_task(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput:
        text = text_arg(inputs, "text", max_chars=100_000)
        folder = self.folder(ctx)

        def load() -> Any:
            import spacy

            try:
                # only the entity recogniser and what it needs; the parser etc. would cost time for nothing
                return spacy.load(folder, exclude=["parser", "lemmatizer", "senter"])
            except (OSError, ValueError) as e:
                raise RunnerError(f"could not load the spaCy pipeline {ctx.model.id}: {e}") from None

        with self.model(ctx, load, folder_bytes(folder) * 3) as lease:
            doc = lease.model(text)
        entities = [{"text": e.text, "label": e.label_, "start": e.start_char, "end": e.end_char}
                    for e in doc.ents]
        summary = ", ".join(f"{e['text']} ({e['label']})" for e in entities[:30]) or "no named entities found"
        if len(entities) > 30:
            summary += f", ... ({len(entities)} in all)"
        return TaskOutput(text=summary, data={"entities": entities})
