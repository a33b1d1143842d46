"""The Live tab in Debian chromium with its fake camera fed examples/media/mannequin.mp4 (as y4m,
made here with imageio-ffmpeg's ffmpeg): the live view updates, a recording lands on the timeline
as a 2D keypoint clip, and generating with it works.

Run: .venv/bin/python -m pytest tests/test_browser_live.py -m browser -q
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
CHROMIUM = "/usr/bin/chromium"
CLIP = Path(__file__).resolve().parent.parent / "examples" / "media" / "mannequin.mp4"
HANG_GUARD_MS = 180_000

playwright_sync = pytest.importorskip("playwright.sync_api")
pytest.importorskip("mediapipe")
if not Path(CHROMIUM).exists():
    pytest.skip("Debian chromium is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    from app.studio import build_studio, launch_kwargs
    from genmo.pipeline import GenmoPipeline

    work = tmp_path_factory.mktemp("studio")
    demo = build_studio(pipeline=GenmoPipeline.tiny_random(), work_dir=work)
    demo.queue(default_concurrency_limit=1)
    _, local_url, _ = demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True,
                                  **launch_kwargs(work))
    yield local_url
    demo.close()


@pytest.fixture(scope="module")
def camera_file(tmp_path_factory) -> Path:
    import imageio_ffmpeg

    y4m = tmp_path_factory.mktemp("camera") / "mannequin.y4m"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(CLIP),
                    "-pix_fmt", "yuv420p", str(y4m)], check=True)
    return y4m


@pytest.fixture
def page(url, camera_file):
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--use-fake-device-for-media-stream",
             "--use-fake-ui-for-media-stream", f"--use-file-for-fake-video-capture={camera_file}"]
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=flags)
        context = browser.new_context(viewport={"width": 1440, "height": 1000}, permissions=["camera"])
        context.set_default_timeout(HANG_GUARD_MS)
        pg = context.new_page()
        pg.errors = []
        pg.on("pageerror", lambda e: pg.errors.append(f"page error: {e}"))
        pg.goto(url)
        pg.wait_for_selector(".gtl-clip")
        yield pg
        browser.close()


PERSON_IN_VIEW = "document.querySelector('#live-stats').innerText.includes('person found')"
# the newest result is a recorded frame with the person in it, at least 2 s into the recording
RECORDED_A_PERSON = """(() => {
  const t = document.querySelector('#live-stats').innerText;
  const m = t.match(/recording ([0-9.]+) s/);
  return m !== null && parseFloat(m[1]) >= 2 && t.includes('person found');
})()"""


def _body_src(page) -> str | None:
    img = page.locator("#live-body img")
    return img.first.get_attribute("src") if img.count() else None


def _wait_for_reply(page) -> str:
    """The Live tab's message once Stop has answered; on a hang, fail with what the page shows."""
    answered = "(() => { const t = document.querySelector('#live-message').innerText; return t && !t.includes('Recording'); })()"
    try:
        page.wait_for_function(answered)
    except playwright_sync.TimeoutError:
        pytest.fail(f"Stop got no answer; message {page.locator('#live-message').inner_text()!r}, "
                    f"stats {page.locator('#live-stats').inner_text()!r}, page errors {page.errors}")
    return page.locator("#live-message").inner_text()


def test_live_view_updates_records_onto_the_timeline_and_generates(page):
    page.get_by_role("tab", name="Live").click()
    page.get_by_text("Click to Access Webcam").click()
    page.locator("#live-camera button", has_text="Record").click()  # the webcam's own start-streaming button
    page.wait_for_function("document.querySelector('#live-fps') !== null")
    first = _body_src(page)
    deadline = time.monotonic() + 60
    while (_body_src(page) in (None, first)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _body_src(page) not in (None, first)  # the rendered body keeps being replaced
    assert float(page.locator("#live-fps").inner_text()) > 0
    assert float(page.locator("#live-latency").inner_text()) > 0

    before = json.loads(page.locator(".gtl").get_attribute("data-spec"))
    page.wait_for_function(PERSON_IN_VIEW)  # a loaded machine may need a while to find the mannequin
    page.click("#live-record")
    page.wait_for_function("document.querySelector('#live-message').innerText.includes('Recording')")
    page.wait_for_function(RECORDED_A_PERSON)
    page.click("#live-stop")
    reply = _wait_for_reply(page)
    assert "Added the recording" in reply, reply
    spec = json.loads(page.locator(".gtl").get_attribute("data-spec"))
    clips = [t for t in spec["tracks"] if t["kind"] == "keypoints2d"]
    assert len(spec["tracks"]) == len(before["tracks"]) + 1 and len(clips) == 1
    assert clips[0]["end"] - clips[0]["start"] > 1.5 and Path(clips[0]["path"]).name.startswith("live-")

    page.locator("#live-camera button", has_text="Stop").click()  # stop streaming before generating
    page.get_by_role("tab", name="Result").click()
    page.click("#generate")
    page.wait_for_function("document.querySelector('#gen-message').innerText.includes('Done in')")
    assert page.locator("#timeline-status").inner_text()
    assert not page.errors, page.errors
