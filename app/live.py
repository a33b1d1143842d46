"""The studio's Live tab: the browser's webcam streams frames, the server estimates the body over a
sliding window (genmo.live) and streams back the rendered body and the 2D overlay with the latency
and frame rate; Record / Stop puts the recorded motion on the timeline as a 2D keypoint clip.

Each browser session has one LiveSession (at most MAX_LIVE_SESSIONS at a time; one idle for
IDLE_CLOSE_S is closed). The stream handler only hands the frame over and returns the newest
result, so a slow estimate drops frames instead of queueing them.
"""

from __future__ import annotations

import html
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from genmo.spec import MAX_DURATION_S

STREAM_EVERY_S = 1 / 15      # the page sends a frame this often
STREAM_TIME_LIMIT_S = 600    # one stream runs at most this long (the user restarts it)
MAX_LIVE_SESSIONS = 2        # webcam streams estimated at the same time
IDLE_CLOSE_S = 15.0          # a session without frames for this long is closed
MIN_CLIP_S = 0.5             # shorter recordings are not added to the timeline
OBSERVATION_KINDS = ("video", "keypoints2d")  # clips the recording goes after (both observe the body)


class LiveSessions:
    """The live sessions by browser session, bounded in number and closed when idle."""

    def __init__(self, pipeline: Callable[[], Any], folder: Path) -> None:
        self.pipeline = pipeline
        self.folder = folder
        self._sessions: dict[str, tuple[Any, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        """The session of ``key``, started on first use; gr.Error when too many are running."""
        from genmo.live import LiveSession

        now = time.monotonic()
        self.sweep(now)
        with self._lock:
            if key in self._sessions:
                session = self._sessions[key][0]
            elif len(self._sessions) >= MAX_LIVE_SESSIONS:
                raise gr.Error(f"{MAX_LIVE_SESSIONS} live streams are running on this server; try again later")
            else:
                session = LiveSession(self.pipeline())
            self._sessions[key] = (session, now)
            return session

    def find(self, key: str) -> Any | None:
        with self._lock:
            entry = self._sessions.get(key)
            return entry[0] if entry else None

    def close(self, key: str) -> None:
        with self._lock:
            entry = self._sessions.pop(key, None)
        if entry is not None:
            entry[0].close()

    def sweep(self, now: float) -> None:
        with self._lock:
            idle = [k for k, (_, seen) in self._sessions.items() if now - seen > IDLE_CLOSE_S]
        for key in idle:
            self.close(key)


def stats_html(result: Any, error: str | None) -> str:
    """The line under the live view: frame rate, latency, dropped frames, person, recording."""
    if result is None:
        return "<div class='live-stats'>waiting for the first estimate…</div>"
    parts = [f"<b id='live-fps'>{result.fps:.1f}</b> fps", f"<b id='live-latency'>{result.latency_ms:.0f}</b> ms latency",
             f"{result.dropped} frames dropped", "person found" if result.person else "no person in view"]
    if result.recording_s is not None:
        parts.append(f"<span class='live-rec'>● recording {result.recording_s:.1f} s</span>")
    if error:
        parts.append(f"<span class='live-error'>{html.escape(error)}</span>")
    return "<div class='live-stats'>" + " · ".join(parts) + "</div>"


def add_recording(spec: dict[str, Any], path: Path, seconds: float) -> tuple[dict[str, Any], str]:
    """The timeline with a keypoints2d clip of ``path`` after the last video / 2D clip (the timeline
    grows up to MAX_DURATION_S); and a message. The spec is unchanged when there is no room."""
    spec = dict(spec)
    tracks = list(spec.get("tracks", []))
    start = max((float(t.get("end", 0.0)) for t in tracks if t.get("kind") in OBSERVATION_KINDS), default=0.0)
    end = min(start + seconds, MAX_DURATION_S)
    if end - start < MIN_CLIP_S:
        return spec, f"No room on the timeline: it is at its {MAX_DURATION_S:g} s limit."
    tracks.append({"kind": "keypoints2d", "start": round(start, 3), "end": round(end, 3), "path": str(path),
                   "offset": 0.0})
    spec["tracks"] = tracks
    spec["duration"] = max(float(spec.get("duration", 0.0)), round(end, 3))
    return spec, f"Added the recording ({end - start:.1f} s) to the timeline at {start:.1f} s as a 2D keypoint clip."


def live_tab(pipeline: Callable[[], Any], timeline: gr.components.Component, work: Path,
             message: Callable[[str, str], str]) -> LiveSessions:
    """The Live tab (inside an open gr.Tabs); recordings go to ``work``/live and onto ``timeline``.
    Returns the sessions (close one when its page closes)."""
    sessions = LiveSessions(pipeline, work / "live")
    with gr.Tab("Live", id="live"):
        gr.Markdown("Start the webcam: the body is estimated from the last few seconds and redrawn for every frame "
                    "the server keeps up with. **Record** keeps the motion; **Stop** adds it to the timeline.")
        with gr.Row():
            camera = gr.Image(sources=["webcam"], streaming=True, type="numpy", label="Webcam",
                              elem_id="live-camera", height=300)
            body = gr.Image(label="Estimated body", interactive=False, elem_id="live-body", height=300)
            overlay = gr.Image(label="2D keypoints", interactive=False, elem_id="live-overlay", height=300)
        stats = gr.HTML(stats_html(None, None), elem_id="live-stats")
        with gr.Row():
            record_btn = gr.Button("Record", variant="primary", elem_id="live-record")
            stop_btn = gr.Button("Stop and add to the timeline", elem_id="live-stop")
        live_msg = gr.HTML(elem_id="live-message")

    def on_frame(frame: Any, request: gr.Request) -> Any:
        if frame is None:
            return gr.skip(), gr.skip(), gr.skip()
        session = sessions.get(request.session_hash or "anonymous")
        session.push(frame[..., ::-1])  # RGB from the page -> BGR
        result = session.latest
        if result is None:
            return gr.skip(), gr.skip(), stats_html(None, session.error)
        return result.body, result.overlay, stats_html(result, session.error)

    camera.stream(on_frame, camera, [body, overlay, stats], stream_every=STREAM_EVERY_S,
                  time_limit=STREAM_TIME_LIMIT_S, concurrency_limit=MAX_LIVE_SESSIONS, concurrency_id="live",
                  show_progress="hidden", api_visibility="private")

    def on_record(request: gr.Request) -> str:
        session = sessions.find(request.session_hash or "anonymous")
        if session is None:
            return message("error", "Start the webcam first.")
        session.record()
        return message("info", "Recording… press Stop to add it to the timeline.")

    def on_stop(spec: dict, request: gr.Request) -> tuple[Any, str]:
        session = sessions.find(request.session_hash or "anonymous")
        if session is None or not session.estimator.recording:
            return gr.skip(), message("error", "Nothing is being recorded: press Record first.")
        key = (request.session_hash or "anonymous")[:16]
        recorded = session.stop_recording(work / "live" / key / f"live-{uuid.uuid4().hex[:8]}.npz")
        if recorded is None:
            return gr.skip(), message("error", "No person was seen while recording: nothing was added.")
        path, seconds = recorded
        if seconds < MIN_CLIP_S:
            return gr.skip(), message("error", f"The recording is shorter than {MIN_CLIP_S:g} s: nothing was added.")
        new_spec, text = add_recording(spec, path, seconds)
        return new_spec, message("ok" if new_spec != spec else "error", text)

    record_btn.click(on_record, None, live_msg, concurrency_limit=None, api_visibility="private")
    stop_btn.click(on_stop, timeline, [timeline, live_msg], concurrency_limit=None, api_visibility="private")
    return sessions
