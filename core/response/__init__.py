"""Stage 4: the answer, from the structured results, citing each of them."""
