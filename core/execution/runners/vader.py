"""text-classification (sentiment) with VADER: a rule-based lexicon model, instant on any CPU."""

from __future__ import annotations

from typing import Any

from core.execution.runners.base import RunContext, Runner
from core.execution.runners.media import text_arg
from core.results import TaskOutput

# VADER's authors suggest these compound-score cut-offs for positive / negative / neutral.
POSITIVE, NEGATIVE = 0.05, -0.05


def label_for(compound: float) -> str:
    if compound >= POSITIVE:
        return "positive"
    if compound <= NEGATIVE:
        return "negative"
    return "neutral"


class VaderRunner(Runner):
    runtime = "vader"

    def run_task(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput:
        text = text_arg(inputs, "text")

        def load() -> Any:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            return SentimentIntensityAnalyzer()

        with self.model(ctx, load, 1_000_000) as lease:
            scores = lease.model.polarity_scores(text)
        label = label_for(scores["compound"])
        return TaskOutput(text=f"{label} (compound {scores['compound']:+.2f})",
                          data={"label": label, "score": abs(scores["compound"]), **scores})
