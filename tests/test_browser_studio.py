"""The studio in Debian chromium (playwright): timeline editing, examples, uploads, escaping, screenshots.

Run: .venv/bin/python -m pytest tests/test_browser_studio.py -m browser -q
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
DOCS_IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"
# Babylon.js (gr.Model3D) reports that WebGPU is missing under --disable-gpu, then uses WebGL.
HEADLESS_NOISE = ("WebGPU creation/initialization",)
UPLOAD_LIMIT = 1024 * 1024  # small, so the size check can be tested
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HANG_GUARD_MS = 180_000  # playwright's default wait for every step: a bound against a hang on a busy machine

playwright_sync = pytest.importorskip("playwright.sync_api")
if not Path(CHROMIUM).exists():
    pytest.skip("Debian chromium is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    from app.studio import build_studio, launch_kwargs
    from genmo.pipeline import GenmoPipeline

    work = tmp_path_factory.mktemp("studio")
    demo = build_studio(pipeline=GenmoPipeline.tiny_random(), work_dir=work, max_upload_bytes=UPLOAD_LIMIT)
    demo.queue(default_concurrency_limit=1)
    _, local_url, _ = demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True,
                                  **launch_kwargs(work, max_upload_bytes=UPLOAD_LIMIT))
    yield local_url
    demo.close()


@pytest.fixture(scope="module")
def browser():
    with playwright_sync.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, url):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(HANG_GUARD_MS)
    pg = context.new_page()
    pg.errors = []
    pg.on("console", lambda m: pg.errors.append(f"console {m.type}: {m.text}")
          if m.type == "error" and not any(s in m.text for s in HEADLESS_NOISE) else None)
    pg.on("pageerror", lambda e: pg.errors.append(f"page error: {e}"))
    pg.goto(url)
    pg.wait_for_selector(".gtl-clip")
    yield pg
    context.close()


def spec_of(page) -> dict:
    return json.loads(page.locator(".gtl").get_attribute("data-spec"))


def visible_box(locator) -> dict:
    """The element's bounding box after scrolling it into view (clicking an example button scrolls the page).

    The editor redraws its clips after every edit (and after the server's status round trip), so the
    element found may be replaced during the scroll (playwright then raises "not attached to the DOM")
    or before the measurement (bounding_box() is then None): wait for the visible one, a few times."""
    for _ in range(10):
        locator.wait_for(state="visible")
        try:
            locator.scroll_into_view_if_needed()
        except playwright_sync.Error as e:
            if "not attached" not in str(e):
                raise
            continue
        box = locator.bounding_box()
        if box is not None:
            return box
    raise AssertionError(f"{locator} never stayed on the page long enough to be measured")


def example_status(name: str) -> str:
    """The timeline status the studio shows for an example (computed here as the server does)."""
    from app.examples import EXAMPLES_DIR, load_example as load
    from app.media import PathGuard
    from app.timeline import describe

    return describe(load(name), PathGuard([EXAMPLES_DIR]))[1]


def wait_for_status(page, text: str) -> None:
    """Wait until the timeline status shows ``text``, then for the layout of two animation frames."""
    page.wait_for_function(f"document.querySelector('#timeline-status').innerText.includes({json.dumps(text)})")
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def load_example(page, name: str, clips: int) -> None:
    """Click an example and wait until the editor holds its tracks and the status round trip is done."""
    kinds = json.dumps([t["kind"] for t in json.loads((EXAMPLES / f"{name}.json").read_text())["tracks"]], separators=(",", ":"))
    assert len(json.loads(kinds)) == clips
    page.click(f"#example-{name}")
    page.wait_for_function(
        f"JSON.stringify(JSON.parse(document.querySelector('.gtl').dataset.spec).tracks.map(t => t.kind)) === '{kinds}'")
    wait_for_status(page, example_status(name))


def test_page_loads_without_console_errors(page):
    wait_for_status(page, "8 s at 30 fps: 2 text clips")
    assert page.locator(".gtl-row").count() == 6  # ruler + five tracks
    assert "8 s at 30 fps: 2 text clips" in page.locator("#timeline-status").inner_text()
    assert page.errors == []


def test_add_drag_resize_and_delete_a_clip(page):
    load_example(page, "text_only", 1)
    lane = page.locator(".gtl-lane[data-kind='video']")
    box = visible_box(lane)
    px_per_s = box["width"] / spec_of(page)["duration"]
    page.mouse.click(box["x"] + 1.0 * px_per_s, box["y"] + box["height"] / 2)
    video = next(t for t in spec_of(page)["tracks"] if t["kind"] == "video")
    assert (video["start"], video["end"]) == (1.0, 3.0) and video["path"] == ""
    page.wait_for_function("document.querySelector('#timeline-status').innerText.includes('Video clip #2')")
    clip = visible_box(page.locator(".gtl-clip.gtl-c-video"))
    y = clip["y"] + clip["height"] / 2
    page.mouse.move(clip["x"] + clip["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(clip["x"] + clip["width"] / 2 + 1.0 * px_per_s, y, steps=8)
    page.mouse.up()
    video = next(t for t in spec_of(page)["tracks"] if t["kind"] == "video")
    assert (video["start"], video["end"]) == (2.0, 4.0)
    clip = visible_box(page.locator(".gtl-clip.gtl-c-video"))
    page.mouse.move(clip["x"] + clip["width"] - 2, y)
    page.mouse.down()
    page.mouse.move(clip["x"] + clip["width"] - 2 + 0.5 * px_per_s, y, steps=8)
    page.mouse.up()
    video = next(t for t in spec_of(page)["tracks"] if t["kind"] == "video")
    assert (video["start"], video["end"]) == (2.0, 4.5)
    page.keyboard.press("Delete")  # the clicked clip's editor has the focus
    assert [t["kind"] for t in spec_of(page)["tracks"]] == ["text"]
    page.wait_for_function("document.querySelector('#timeline-status').innerText.includes('1 text clip')")
    assert page.errors == []


def test_clips_of_one_kind_cannot_overlap_but_text_can(page):
    load_example(page, "text_then_music", 2)
    page.click(".gtl-add-text")
    kinds = [t["kind"] for t in spec_of(page)["tracks"]]
    assert kinds.count("text") == 2
    wait_for_status(page, "2 text clips, 1 music clip")  # the server's round trip redraws the clips
    music = visible_box(page.locator(".gtl-clip.gtl-c-music"))
    page.mouse.click(music["x"] + music["width"] / 2, music["y"] + music["height"] / 2)  # on the clip: selects
    assert [t["kind"] for t in spec_of(page)["tracks"]].count("music") == 1
    page.mouse.move(music["x"] + 20, music["y"] + 10)
    page.mouse.down()
    page.mouse.move(music["x"] - 400, music["y"] + 10, steps=10)  # into the text's time: allowed, music lane is free
    page.mouse.up()
    m = next(t for t in spec_of(page)["tracks"] if t["kind"] == "music")
    assert m["start"] >= 0.0 and m["end"] - m["start"] == pytest.approx(5.0)


def test_a_video_clip_switches_to_the_fast_front_end(page):
    load_example(page, "video_estimation", 1)
    page.locator(".gtl-clip.gtl-c-video").click()
    box = page.locator(".gtl-f-fast input")
    assert not box.is_checked()
    box.check()
    page.wait_for_function("JSON.parse(document.querySelector('.gtl').dataset.spec).tracks[0].fast === true")
    wait_for_status(page, "3 s at 30 fps: 1 video clip (fast)")
    assert page.locator(".gtl-clip.gtl-c-video .gtl-clip-label").inner_text().endswith("(fast)")
    assert page.locator(".gtl-f-fast input").is_checked()
    page.locator(".gtl-f-fast input").uncheck()  # the panel was redrawn: a new checkbox
    page.wait_for_function("JSON.parse(document.querySelector('.gtl').dataset.spec).tracks[0].fast === false")
    wait_for_status(page, example_status("video_estimation"))
    assert page.errors == []


def test_keyframe_diamond_from_the_pose_library(page):
    load_example(page, "text_only", 1)
    lane = visible_box(page.locator(".gtl-lane[data-kind='keyframe']"))
    px_per_s = lane["width"] / 6.0
    page.mouse.click(lane["x"] + 2.0 * px_per_s, lane["y"] + lane["height"] / 2)
    page.wait_for_selector(".gtl-diamond.gtl-selected")
    page.select_option(".gtl-pose-select", "squat")
    key = next(t for t in spec_of(page)["tracks"] if t["kind"] == "keyframe")
    assert key == {"kind": "keyframe", "time": 2.0, "path": "library:squat", "frame": 0}
    page.wait_for_function("document.querySelector('#timeline-status').innerText.includes('1 keyframe clip')")
    assert page.locator(".gtl-diamond").count() == 1


def test_script_in_a_prompt_is_shown_as_text_and_never_runs(page):
    load_example(page, "text_only", 1)
    page.locator(".gtl-clip.gtl-c-text").click()
    evil = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
    page.fill(".gtl-panel textarea", evil)
    page.locator(".gtl-f-start input").focus()  # blur commits the prompt
    page.wait_for_function(f"document.querySelector('.gtl').dataset.spec.includes({json.dumps(json.dumps(evil)[1:-1])})")
    assert page.locator(".gtl-clip.gtl-c-text .gtl-clip-label").inner_text() == evil
    assert spec_of(page)["tracks"][0]["text"] == evil
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#timeline img").count() == 0
    assert page.locator("#timeline script").count() == 0


def test_bad_upload_shows_an_error(page, tmp_path):
    load_example(page, "text_then_music", 2)
    page.locator(".gtl-clip.gtl-c-music").click()
    corrupt = tmp_path / "broken.wav"
    corrupt.write_bytes(b"RIFF not really a wave file" * 10)
    page.set_input_files(".gtl-file-input", str(corrupt))
    page.wait_for_selector(".gtl-error")
    assert "broken.wav" in page.locator(".gtl-error").inner_text()
    assert spec_of(page)["tracks"][1]["path"].endswith("chorale.ogg")  # the clip keeps its old file
    wrong = tmp_path / "notes.txt"
    wrong.write_text("hello")
    page.set_input_files(".gtl-file-input", str(wrong))
    page.wait_for_function("document.querySelector('.gtl-error').innerText.includes('unsupported format .txt')")
    big = tmp_path / "big.wav"
    big.write_bytes(b"\0" * (UPLOAD_LIMIT + 1))
    page.set_input_files(".gtl-file-input", str(big))
    page.wait_for_function("document.querySelector('.gtl-error').innerText.includes('over the 1 MiB upload limit')")


def test_example_generates_and_the_video_plays(page):
    load_example(page, "text_only", 1)
    page.click("#generate")
    page.wait_for_selector("#result-video video")
    page.wait_for_function("document.querySelector('#gen-message').innerText.includes('Done in')")
    page.evaluate("""async () => {
        const v = document.querySelector('#result-video video');
        v.muted = true;
        await v.play();
    }""")
    page.wait_for_function("document.querySelector('#result-video video').currentTime > 0.2")  # it plays on
    playing = page.evaluate("""() => {
        const v = document.querySelector('#result-video video');
        return {paused: v.paused, width: v.videoWidth};
    }""")
    assert not playing["paused"] and playing["width"] == 640
    DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_IMAGES / "studio.png"), full_page=True)
    assert page.errors == []


def test_cancel_keeps_the_timeline(page):
    load_example(page, "two_prompts", 2)
    before = spec_of(page)
    page.click("#generate")
    page.click("#cancel")
    page.wait_for_function("document.querySelector('#gen-message').innerText.includes('Cancelled')")
    assert spec_of(page) == before
    assert page.locator(".gtl-clip").count() == 2


def test_timeline_screenshot_with_media(page, tmp_path):
    load_example(page, "mix", 5)
    page.wait_for_function("document.querySelector('.gtl-clip.gtl-c-music canvas') !== null")
    page.locator(".gtl-clip.gtl-c-music").click()
    shot = tmp_path / "timeline.png"
    page.locator("#timeline").screenshot(path=str(shot))
    DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, DOCS_IMAGES / "studio_timeline.png")
    assert page.errors == []
