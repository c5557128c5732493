"""One error tree for Maestro (filled in below)."""
