"""Subcommands of `python -m genmo` that drive the pipeline."""
