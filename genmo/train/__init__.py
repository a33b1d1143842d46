"""Dual-mode training: losses, the trainer, a synthetic data set and the process-group helpers."""
