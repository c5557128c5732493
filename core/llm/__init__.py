"""The models Maestro thinks with: the controller LLM (llama.cpp or an OpenAI-compatible endpoint),
its decoder and CPU build choice, and the MiniLM sentence encoder in NumPy."""
