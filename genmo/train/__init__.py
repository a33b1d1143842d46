"""Dual-mode training: losses, trainer, command line."""
