"""Configuration and the machine: typed settings, folders, secrets, hardware, logs, the frozen bundle."""
