"""Nothing lost, nothing run, in a real browser (Debian chromium): the timeline survives a reload
and a failed generation; hostile text shows as text in the error and result panels and the
comparison.

Run: .venv/bin/python -m pytest tests/test_reliability_browser.py -m browser -q
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.browser
from tests.test_browser_studio import (browser, example_status, load_example, page, spec_of, url,  # noqa: E402,F401
                                       wait_for_status)

EVIL_TEXT = '<img src=x onerror="window.__pwned=1">a person <b>waves</b><script>window.__pwned=2</script>'
EVIL_POSE = 'library:<img src=x onerror="window.__pwned=3">'


# Reloading a page aborts gradio's open connections; the browser logs that, and it is the test's doing.
RELOAD_NOISE = ("AbortError: signal is aborted", "Connection errored out")


def _errors_besides_reload_noise(page) -> list[str]:
    return [e for e in page.errors if not any(noise in e for noise in RELOAD_NOISE)]


def _status(page) -> str:
    return page.locator("#timeline-status").inner_text()


def _add_prompt(page, text: str) -> None:
    page.click(".gtl-add-text")
    page.wait_for_selector(".gtl-panel textarea")
    page.fill(".gtl-panel textarea", text)
    page.locator(".gtl-f-start input").focus()  # blur commits the prompt
    page.wait_for_function(f"document.querySelector('.gtl').dataset.spec.includes({json.dumps(text)})")


def test_the_timeline_survives_a_page_reload(page):
    load_example(page, "text_then_music", 2)
    _add_prompt(page, "kept after a reload")
    before = spec_of(page)
    page.reload()
    page.wait_for_selector(".gtl-clip")
    page.wait_for_function("JSON.parse(document.querySelector('.gtl').dataset.spec).tracks.length === 3")
    assert spec_of(page)["tracks"] == before["tracks"]
    assert any(c.inner_text() == "kept after a reload" for c in page.locator(".gtl-clip-label").all())
    page.wait_for_function("document.querySelector('#timeline-status').innerText.includes('2 text clips, 1 music clip')")
    load_example(page, "text_only", 1)  # loading an example replaces the kept timeline
    page.reload()
    page.wait_for_selector(".gtl-clip")
    wait_for_status(page, example_status("text_only"))  # the kept timeline (the start example has 2 prompts)
    assert [t["kind"] for t in spec_of(page)["tracks"]] == ["text"]
    assert _errors_besides_reload_noise(page) == []


def test_a_failed_generation_keeps_the_timeline(page):
    load_example(page, "text_only", 1)
    page.click(".gtl-add-video")  # a video clip with no file yet: generation must fail
    broken = spec_of(page)
    page.click("#generate")
    page.wait_for_function("document.querySelector('#gen-message .genmo-msg.error') !== null")
    assert "Video clip #2" in page.locator("#gen-message").inner_text()
    assert spec_of(page) == broken
    page.reload()
    page.wait_for_selector(".gtl-clip")
    page.wait_for_function("document.querySelector('#timeline-status').innerText.includes('Video clip #2')")
    assert spec_of(page)["tracks"] == broken["tracks"]


def _load_project_json(page, path) -> None:
    """Upload a timeline JSON through the (collapsed) project accordion."""
    if page.locator("#project-in").count() == 0:
        page.click("text=Project: save or load the timeline")
    clear = page.locator("#project-in button[aria-label='Clear']")
    if clear.count():
        clear.first.click()  # the previous project file
    page.set_input_files("#project-in input[type=file]", str(path))


def test_hostile_text_is_shown_as_text_in_errors_results_and_compare(page, tmp_path):
    bad = tmp_path / "bad_pose.json"
    bad.write_text(json.dumps({"version": 1, "fps": 30, "duration": 1.0, "tracks": [
        {"kind": "keyframe", "time": 0.5, "path": EVIL_POSE, "frame": 0}]}))
    _load_project_json(page, bad)
    page.wait_for_function("document.querySelector('#gen-message').innerText.includes('unknown library pose')")
    assert "<img src=x" in page.locator("#gen-message").inner_text()
    assert page.locator("#gen-message img").count() == 0

    good = tmp_path / "evil_prompt.json"
    good.write_text(json.dumps({"version": 1, "fps": 30, "duration": 1.0,
                                "sampler": {"steps": 1, "guidance": 0.0, "seed": 7},
                                "tracks": [{"kind": "text", "start": 0.0, "end": 1.0, "text": EVIL_TEXT}]}))
    _load_project_json(page, good)
    page.wait_for_function("document.querySelector('#gen-message').innerText.includes('Loaded evil_prompt.json')")
    assert page.locator(".gtl-clip.gtl-c-text .gtl-clip-label").inner_text() == EVIL_TEXT
    page.click("#researcher label")
    page.click("#generate")
    page.wait_for_function("document.querySelector('#gen-message').innerText.includes('Done in')")
    page.click("button[role=tab]:has-text('Compare settings')")
    page.click("#compare-mode label:has-text('three seeds')")
    page.click("#compare")
    page.wait_for_function("document.querySelector('#compare-table table') !== null")
    table = page.locator("#compare-table").inner_text()
    assert "seed 7" in table and "seed 9" in table
    for panel in ("#gen-message", "#compare-table", "#timeline", "#timeline-status"):
        assert page.locator(f"{panel} img, {panel} script, {panel} b").count() == 0, panel
    assert page.evaluate("window.__pwned") is None
    assert page.errors == []
