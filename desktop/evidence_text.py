"""Short texts about a missing model, shared by the graph node, the details panel and the cards."""

from __future__ import annotations

from typing import Any

from core.response.evidence import human_size


def download_line(need: dict[str, Any]) -> str:
    """'990 MB · bsd-3-clause' (size and licence of the model to download)."""
    size = human_size(int(need.get("size_bytes") or 0)) if need.get("size_bytes") else "size unknown"
    licence = str(need.get("license") or "licence unknown")
    return f"{size} · {licence}"
