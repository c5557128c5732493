"""Stage 1: a request (+ files, + earlier turns) becomes a Plan (decompose, then ground)."""
