"""GENMO Studio's Gradio UI: the timeline editor, panels and callbacks into genmo (no tensors here)."""
