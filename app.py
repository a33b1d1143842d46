"""Hugging Face Spaces entry point: build and launch GENMO Studio.

    python app.py            # serves on 0.0.0.0:7860 (or $GRADIO_SERVER_PORT)
"""

from __future__ import annotations

import os

from app.studio import build_studio, launch_kwargs

QUEUE_SIZE = 16

if __name__ == "__main__":
    demo = build_studio()
    demo.queue(default_concurrency_limit=1, max_size=QUEUE_SIZE)
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
                server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")), **launch_kwargs())
