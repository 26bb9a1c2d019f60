"""The ``epu-mapper`` command groups (one module each)."""
