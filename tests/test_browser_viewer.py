"""The 3D viewer (gr.Model3D, Babylon.js) keeps the whole animated body in view on a phone (issue 20).

The studio runs on a pipeline whose motion is a T-posed body gliding 5 m sideways: wider than
Babylon's own framing shows in a 390 px wide view, so without the studio's orbit camera the body
leaves the frame at both ends of the walk.

Run: .venv/bin/python -m pytest tests/test_browser_viewer.py -m browser -q
"""

from __future__ import annotations

import io
import time

import numpy as np
import pytest

pytestmark = pytest.mark.browser
from tests.test_browser_studio import DOCS_IMAGES, HANG_GUARD_MS, UPLOAD_LIMIT, browser  # noqa: E402,F401

WALK_M = 5.0
PHONE = {"width": 390, "height": 844}
SAMPLES = 12  # views of the canvas per test, spread over more than one loop of the walk
HIDE_OVERLAYS = "#viewer label, #viewer .icon-button-wrapper { visibility: hidden !important; }"


class _Glide:
    """The tiny model's pipeline with every result's motion replaced by a T-pose gliding along +X."""

    def __init__(self) -> None:
        from genmo.pipeline import GenmoPipeline

        self._pipe = GenmoPipeline.tiny_random()

    def __getattr__(self, name: str):
        return getattr(self._pipe, name)

    def __call__(self, spec, **kwargs):
        from genmo.motion.motion import Motion

        result = self._pipe(spec, **kwargs)
        n = result.motion.num_frames
        trans = np.zeros((n, 3), np.float32)
        trans[:, 0] = np.linspace(-WALK_M / 2, WALK_M / 2, n)
        result.motion = Motion(poses=np.zeros((n, 72), np.float32), trans=trans, betas=np.zeros(10),
                               fps=result.motion.fps)
        return result


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    from app.studio import build_studio, launch_kwargs

    work = tmp_path_factory.mktemp("studio-viewer")
    demo = build_studio(pipeline=_Glide(), work_dir=work, max_upload_bytes=UPLOAD_LIMIT)
    demo.queue(default_concurrency_limit=1)
    _, local_url, _ = demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True,
                                  **launch_kwargs(work, max_upload_bytes=UPLOAD_LIMIT))
    yield local_url
    demo.close()


def _figure_box(png: bytes) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) pixel bounds of what differs from the canvas's backdrop, or None."""
    from PIL import Image

    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    backdrop = np.median(np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]]), axis=0)
    mask = np.abs(image - backdrop).sum(-1) > 60
    if mask.sum() < 20:
        return None
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


@pytest.mark.parametrize("viewport", [PHONE, {"width": 1440, "height": 900}], ids=["phone", "desktop"])
def test_the_whole_walk_stays_in_the_3d_view(browser, url, viewport):
    phone = viewport is PHONE
    context = browser.new_context(viewport=viewport, is_mobile=phone, has_touch=phone)
    context.set_default_timeout(HANG_GUARD_MS)
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector(".gtl-clip")
    seconds = float(page.locator("#duration input[type=number]").input_value())
    page.click("#generate")
    page.wait_for_function("document.querySelector('#gen-message').innerText.includes('Done in')")
    canvas = page.locator("#viewer canvas")
    canvas.scroll_into_view_if_needed()
    deadline = time.monotonic() + HANG_GUARD_MS / 1000
    while _figure_box(canvas.screenshot()) is None:  # the model loads (slowly on a busy machine)
        assert time.monotonic() < deadline, "the body never appeared in the 3D view"
        page.wait_for_timeout(250)
    page.wait_for_timeout(1000)  # the camera settles
    if phone:
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_IMAGES / "studio_phone_viewer.png"))
    page.add_style_tag(content=HIDE_OVERLAYS)
    frame = canvas.bounding_box()
    height, width = frame["height"], frame["width"]
    label = page.locator("#viewer label").bounding_box()
    below_label = label["y"] + label["height"] - frame["y"]  # the label floats over the canvas's top left
    boxes = []
    for _ in range(SAMPLES):  # spread over more than one loop of the animation
        boxes.append(_figure_box(canvas.screenshot()))
        page.wait_for_timeout(round(1000 * (seconds + 1.0) / SAMPLES))
    seen = [b for b in boxes if b is not None]
    assert len(seen) == len(boxes), f"the body left the view in {len(boxes) - len(seen)} of {len(boxes)} frames"
    edge = 2
    for top, bottom, left, right in seen:
        assert top > below_label and left > edge, (top, below_label, left)  # the head clear of the label
        assert bottom < height - 1 - edge and right < width - 1 - edge, (bottom, right)
    assert max(b[3] for b in seen) - min(b[2] for b in seen) > 0.3 * width  # it did walk across
    context.close()
