"""Training recipes of the built-in models: python -m mmcore.train <task>."""
