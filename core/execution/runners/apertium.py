"""translation with Apertium (rule-based, Debian packages `apertium` + a pair such as `apertium-eng-spa`)."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

from core.errors import RunnerError
from core.execution.runners.base import RunContext, Runner
from core.execution.runners.media import text_arg
from core.results import TaskOutput

# Names and codes a planner may write -> Apertium's ISO 639-3 codes.
LANGS = {
    "en": "eng", "eng": "eng", "english": "eng", "en-us": "eng", "en-gb": "eng",
    "es": "spa", "spa": "spa", "spanish": "spa", "español": "spa", "espanol": "spa", "castilian": "spa",
    "fr": "fra", "fra": "fra", "french": "fra", "ca": "cat", "cat": "cat", "catalan": "cat",
    "pt": "por", "por": "por", "portuguese": "por", "it": "ita", "ita": "ita", "italian": "ita",
}


def lang_code(name: str) -> str | None:
    key = name.strip().lower().replace("_", "-")
    return LANGS.get(key) or LANGS.get(key.split("-")[0])


def installed_pairs(exe: str) -> set[str]:
    out = subprocess.run([exe, "-l"], capture_output=True, text=True, timeout=20).stdout
    return {line.strip() for line in out.splitlines() if line.strip()}


class ApertiumRunner(Runner):
    runtime = "apertium"

    def run_task(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput:
        text = text_arg(inputs, "text")
        src_in = text_arg(inputs, "src_lang", 40, required=False)
        tgt_in = text_arg(inputs, "tgt_lang", 40, required=False)
        src = lang_code(src_in) if src_in else None
        tgt = lang_code(tgt_in) if tgt_in else None
        if src_in and not src:
            raise RunnerError(f"Apertium does not know the language '{src_in}'")
        if tgt_in and not tgt:
            raise RunnerError(f"Apertium does not know the language '{tgt_in}'")
        # With one side missing, assume the pair this model was installed for (English <-> Spanish).
        default_src, default_tgt = ctx.model.options.get("pair", "eng-spa").split("-")
        if tgt is None:
            tgt = default_src if src == default_tgt else default_tgt
        if src is None:
            src = default_tgt if tgt == default_src else default_src
        if src == tgt:
            return TaskOutput(text=text, data={"pair": f"{src}-{tgt}", "unchanged": True})
        exe = shutil.which(ctx.model.options.get("command", "apertium"))
        if exe is None:
            raise RunnerError("Apertium is not installed (Debian/Ubuntu: apt-get install apertium apertium-eng-spa)")
        pair = f"{src}-{tgt}"
        if pair not in installed_pairs(exe):
            raise RunnerError(f"the Apertium pair {pair} is not installed (try the package apertium-{src}-{tgt})")
        ctx.check_cancel()
        try:
            # -u: no '*' marks on unknown words; the text goes through stdin, never the command line
            proc = subprocess.run([exe, "-u", pair], input=text, capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            raise RunnerError("Apertium took longer than 120 s") from None
        if proc.returncode != 0:
            raise RunnerError(f"Apertium failed: {proc.stderr.strip()[:200]}")
        translation = proc.stdout.strip()
        return TaskOutput(text=translation, data={"translation": translation, "pair": pair})
