"""Stage 2: a model for each planned task (filter, rank, top-k, hardware fit; first-run picks)."""
