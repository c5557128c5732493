"""A turn end to end: the pipeline over the four stages, the engine process, the store, the selftest."""
