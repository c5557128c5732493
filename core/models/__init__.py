"""Models: the catalog (facts), getting them (Hub downloads, wheel packs, the HF cache layout),
which runtimes can run here, and the pool of loaded models."""
