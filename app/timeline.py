"""The timeline editor widget (a Gradio 6 ``gr.HTML`` with its own JS and CSS) and its state helpers.

The widget's value is the timeline spec dict (docs/spec.md, version 1). The browser edits it and
fires ``change``; Python sets it to load examples and projects. Media summaries (waveforms,
beats, thumbnails) come from the ``inspect_media`` server function, restricted by a PathGuard.
Between the server and its clients (the page, gradio_client) the spec travels as JSON text:
gradio_client takes every dict with a "path" key for a file to download, so a spec dict would not
survive the API.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import gradio as gr

from app.media import MAX_UPLOAD_BYTES, PathGuard, inspect_media
from genmo.constants import MODEL_FPS
from genmo.errors import GenmoUserError, MediaError, SpecError, one_line
from genmo.conditions.pose_library import POSE_NAMES
from genmo.spec import (ALLOWED_FPS, EXCLUSIVE_KINDS, GUIDANCE_RANGE, MAX_DURATION_S, MAX_SEED, MAX_SPEC_BYTES,
                        MEDIA_EXTENSIONS, MIN_DURATION_S, SPEC_VERSION, STEPS_RANGE, Sampler, load_spec)

STATIC = Path(__file__).resolve().parent / "static"
TEMPLATE = '<div class="gtl" tabindex="0"></div>'
KIND_NAMES = {"text": "text", "music": "music", "video": "video", "keypoints2d": "2D keypoint", "keyframe": "keyframe"}


def empty_spec(duration: float = 8.0, fps: int = MODEL_FPS) -> dict[str, Any]:
    """A timeline with no tracks."""
    return {"version": SPEC_VERSION, "fps": fps, "duration": duration, "sampler": Sampler().to_dict(), "tracks": []}


def parse_timeline(payload: Any) -> Any:
    """The spec a client sent: JSON text parsed (at most MAX_SPEC_BYTES), anything else as it came."""
    if not isinstance(payload, str):
        return payload
    if len(payload) > MAX_SPEC_BYTES:
        raise gr.Error(f"the timeline is larger than {MAX_SPEC_BYTES // 1024} KiB")
    try:
        return json.loads(payload)
    except ValueError as err:
        raise gr.Error(f"the timeline is not valid JSON ({err})") from None


def timeline_text(value: Any) -> str | None:
    """The spec dict a callback returned -> JSON text for the page and API clients."""
    return value if value is None or isinstance(value, str) else json.dumps(value)


STORE_KEY = "genmo-studio-timeline-v1"  # the browser's localStorage key for the last timeline (timeline.js)
# The panel's sampler settings follow into the timeline in the browser (no server round trip, so an
# edit made meanwhile is never overwritten): saved projects and the kept timeline carry them.
SAMPLER_TO_TIMELINE_JS = """(text, steps, guidance, seed) => {
  let spec;
  try { spec = JSON.parse(text); } catch (err) { return text; }
  if (!spec || typeof spec !== "object") return text;
  const old = spec.sampler || {};
  const next = {steps: Math.round(Number(steps)), guidance: Number(guidance),
                seed: seed === null || seed === undefined || seed === "" ? old.seed ?? 0 : Math.round(Number(seed))};
  if (old.steps === next.steps && old.guidance === next.guidance && old.seed === next.seed) return text;
  spec.sampler = next;
  return JSON.stringify(spec);
}"""
KEPT_TIMELINE_JS = """(text, duration, fps, steps, guidance, seed) => {
  // after a reload: the timeline this browser kept, with the panel's settings taken from it
  const within = (v, lo, hi, d) => (typeof v === "number" && Number.isFinite(v) ? Math.min(Math.max(v, lo), hi) : d);
  try {
    const kept = localStorage.getItem(%s);
    const spec = kept ? JSON.parse(kept) : null;
    if (spec && typeof spec === "object" && Array.isArray(spec.tracks)) {
      const s = spec.sampler && typeof spec.sampler === "object" ? spec.sampler : {};
      return [kept, within(spec.duration, %s, %s, duration), %s.includes(spec.fps) ? spec.fps : fps,
              Math.round(within(s.steps, %s, %s, steps)), within(s.guidance, %s, %s, guidance),
              Math.round(within(s.seed, 0, %s, seed))];
    }
  } catch (err) { /* storage disabled or a damaged entry: keep the page's timeline */ }
  return [text, duration, fps, steps, guidance, seed];
}""" % (json.dumps(STORE_KEY), MIN_DURATION_S, MAX_DURATION_S, json.dumps(list(ALLOWED_FPS)), *STEPS_RANGE,
        *GUIDANCE_RANGE, MAX_SEED)


def panel_values(spec: dict[str, Any]) -> tuple[float, int, int, float, int]:
    """(duration, fps, steps, guidance, seed) of a timeline for the generation panel, each within its range
    (the defaults where a value is missing or malformed, e.g. in an unfinished project's editor state)."""
    defaults = empty_spec()
    sampler = spec.get("sampler") if isinstance(spec.get("sampler"), dict) else {}

    def number(value: Any, default: float, lo: float, hi: float) -> float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
        return min(max(float(value), lo), hi) if ok else default

    fps = spec.get("fps") if spec.get("fps") in ALLOWED_FPS else defaults["fps"]
    return (number(spec.get("duration"), defaults["duration"], MIN_DURATION_S, MAX_DURATION_S), int(fps),
            int(number(sampler.get("steps"), defaults["sampler"]["steps"], *STEPS_RANGE)),
            number(sampler.get("guidance"), defaults["sampler"]["guidance"], *GUIDANCE_RANGE),
            int(number(sampler.get("seed"), defaults["sampler"]["seed"], 0, MAX_SEED)))


TIMELINE_API_INFO = {"type": "string", "description": "the timeline spec (docs/spec.md, version 1) as JSON text"}


def timeline_editor(value: dict[str, Any], guard: PathGuard, max_upload_bytes: int = MAX_UPLOAD_BYTES) -> gr.HTML:
    """The editor component; ``guard`` limits which server files it may inspect."""

    def inspect_media_fn(payload: dict[str, Any]) -> dict[str, Any]:
        try:
            if not isinstance(payload, dict):
                raise MediaError("bad request")
            kind = str(payload.get("kind", ""))
            path = guard.check(str(payload.get("path", "")))
            return {"ok": True, "info": inspect_media(path, kind)}
        except (GenmoUserError, OSError) as err:
            return {"ok": False, "error": one_line(err)}

    inspect_media_fn.__name__ = "inspect_media"
    editor = gr.HTML(
        value=timeline_text(value),
        html_template=TEMPLATE,
        css_template=(STATIC / "timeline.css").read_text(encoding="utf-8"),
        js_on_load=(STATIC / "timeline.js").read_text(encoding="utf-8"),
        apply_default_css=False,
        server_functions=[inspect_media_fn],
        elem_id="timeline",
        max_upload_bytes=int(max_upload_bytes),
        schema=widget_schema(),
    )
    # The value travels as JSON text; callbacks still take and return dicts. (Set on the instance:
    # subclassing a gradio component makes gradio write a .pyi stub beside this module.)
    editor.preprocess = parse_timeline
    editor.postprocess = timeline_text
    editor.api_info = lambda: TIMELINE_API_INFO
    editor.example_payload = lambda: json.dumps(empty_spec())
    editor.example_value = lambda: json.dumps(empty_spec())
    return editor


def widget_schema() -> dict[str, Any]:
    """What the editor needs to know of the spec, from the Python that owns it (the widget's ``schema`` prop):
    media extensions per kind, the kinds whose clips may not overlap, the library poses, the sampler defaults."""
    return {"version": SPEC_VERSION, "fps": MODEL_FPS, "sampler": Sampler().to_dict(),
            "extensions": {kind: list(exts) for kind, exts in MEDIA_EXTENSIONS.items()},
            "exclusive": list(EXCLUSIVE_KINDS), "poses": list(POSE_NAMES)}


def fit_to_duration(spec: dict[str, Any], duration: float, fps: int | None = None) -> dict[str, Any]:
    """A copy with a new duration (and fps): clips past the end are trimmed, those starting after it dropped."""
    out = copy.deepcopy(spec) if isinstance(spec, dict) else empty_spec()
    out["duration"] = float(duration)
    if fps is not None:
        out["fps"] = int(fps)
    kept = []
    for track in out.get("tracks", []):
        if not isinstance(track, dict):
            continue
        if track.get("kind") == "keyframe":
            if float(track.get("time", 0.0)) <= duration:
                kept.append(track)
            continue
        start, end = float(track.get("start", 0.0)), float(track.get("end", 0.0))
        if start < duration - 0.05:
            track["end"] = min(end, float(duration))
            kept.append(track)
    out["tracks"] = kept
    return out


def guarded(spec: dict[str, Any], guard: PathGuard) -> dict[str, Any]:
    """A copy whose media paths are checked by ``guard`` (MediaError names the clip)."""
    if isinstance(spec, str):  # gradio can hand a callback the text it sent the page, not preprocessed
        spec = parse_timeline(spec)
    if not isinstance(spec, dict):  # the browser sends the editor state; a string would name a server file
        raise MediaError(f"the timeline must be a JSON object, got {type(spec).__name__}")
    out = copy.deepcopy(spec)
    for i, track in enumerate(out.get("tracks", []) if isinstance(out, dict) else []):
        if isinstance(track, dict) and track.get("path"):
            try:
                track["path"] = str(guard.check(str(track["path"])))
            except MediaError as err:
                raise MediaError(f"tracks[{i}] ({track.get('kind')}): {err}") from None
    return out


_TRACK_PREFIX = re.compile(r"^tracks\[\d+\]( \(\w+\))?:?\s*")
_TRACK_REF = re.compile(r"^tracks\[(\d+)\](?: \((\w+)\))?:?\s*")
_OTHER_REF = re.compile(r"tracks\[(\d+)\]")
UPLOAD_WORDS = {"music": "an audio file", "video": "a video", "keypoints2d": "a 2D keypoint file (.npz)",
                "keyframe": "a pose (a library pose or a motion .npz)"}


def user_problem(text: str) -> tuple[int | None, str]:
    """(clip number counted from 1 as the editor's panel does, or None; the problem in the user's words)
    of a validation message such as ``tracks[0] (music): path must be a non-empty string, got ""``."""
    match = _TRACK_REF.match(text)
    if not match:
        return None, text
    index, kind = int(match.group(1)), match.group(2) or ""
    rest = _OTHER_REF.sub(lambda m: f"clip #{int(m.group(1)) + 1}", text[match.end():])
    what = f"{KIND_NAMES.get(kind, kind)} clip #{index + 1}".strip().capitalize()
    if rest.startswith("path must be a non-empty string"):
        rest = f"has no file yet: select it on the timeline and upload {UPLOAD_WORDS.get(kind, 'a file')}"
    elif rest.startswith("file not found") or rest.endswith("file not found"):
        rest = ": its file is missing on the server: select the clip and upload it again"
    elif rest.endswith("not an uploaded or example file"):
        rest = ": its file was not uploaded here: select the clip and upload it"
    elif rest == "text is empty":
        rest = "has an empty prompt: select it and describe the motion"
    elif rest.startswith("overlaps"):
        rest += " (two clips of this kind cannot play at once: move or shorten one)"
    elif rest.startswith("window") and "outside the timeline" in rest:
        rest += ": drag it back inside, or lengthen the timeline (Duration)"
    else:
        rest = rest[:1].lower() + rest[1:] if rest[:2] != rest[:2].upper() else rest
        return index + 1, f"{what}: {rest}"
    return index + 1, f"{what}{'' if rest.startswith(':') else ' '}{rest}"


def problem_clip(text: str) -> int | None:
    """The clip number (from 1) a ``user_problem`` text starts with, or None."""
    match = re.match(r"^[\w ]+? clip #(\d+)", text)
    return int(match.group(1)) if match else None



def valid_part(spec: dict[str, Any], guard: PathGuard) -> tuple[dict[str, Any], list[str]]:
    """The editor spec without the clips that keep it from validating, and one line per clip left out.

    Clips are added in order; one that is invalid on its own, or clashes with those kept, is left
    out. SpecError / MediaError when even the empty timeline (duration, fps, sampler) is invalid.
    """
    if not isinstance(spec, dict):
        raise MediaError(f"the timeline must be a JSON object, got {type(spec).__name__}")
    base = {k: v for k, v in spec.items() if k != "tracks"}
    base["tracks"] = []
    load_spec(base, check_files=True)
    kept: list[dict[str, Any]] = []
    problems: list[str] = []
    tracks = spec.get("tracks", [])
    for i, track in enumerate(tracks if isinstance(tracks, list) else []):
        kind = track.get("kind", "?") if isinstance(track, dict) else "?"
        try:
            candidate = guarded({**base, "tracks": [*kept, track]}, guard)
            load_spec(candidate, check_files=True)
        except (SpecError, MediaError) as err:
            problems.append(f"clip #{i + 1} ({kind}): {_TRACK_PREFIX.sub('', one_line(err))}")
            continue
        kept.append(track)
    return {**base, "tracks": kept}, problems


def describe(spec: dict[str, Any], guard: PathGuard) -> tuple[bool, str]:
    """(ok, one-line summary or the first problem, in the user's words) of the editor's timeline."""
    try:
        parsed = load_spec(guarded(spec, guard), check_files=True)
    except (SpecError, MediaError) as err:
        return False, user_problem(one_line(err))[1]
    counts = Counter(t.kind for t in parsed.tracks)
    if not counts:
        return True, f"{parsed.duration:g} s, empty: Generate makes unconditional motion"
    fast = sum(1 for t in parsed.tracks_of("video") if t.fast)
    parts = [f"{n} {KIND_NAMES[k]} clip{'s' if n != 1 else ''}" + (fast_note(fast, n) if k == "video" else "")
             for k, n in counts.items()]
    return True, f"{parsed.duration:g} s at {parsed.fps} fps: " + ", ".join(parts)


def fast_note(fast: int, clips: int) -> str:
    """The status's note on video clips set to the fast front end: " (fast)" when all are, " (k fast)" for some."""
    if not fast:
        return ""
    return " (fast)" if fast == clips else f" ({fast} fast)"
