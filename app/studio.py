"""GENMO Studio: the Gradio Blocks app (timeline, generation panel, viewers, comparison, projects).

    demo = build_studio()
    demo.queue(default_concurrency_limit=1).launch(**launch_kwargs())
"""

from __future__ import annotations

import html
import logging
import secrets
import shutil
import threading
import uuid
from pathlib import Path
from collections.abc import Iterator
from typing import Any

import gradio as gr

from app.examples import EXAMPLES, EXAMPLES_DIR, load_example
from app.generation import GenerationCancelled, Generator, RunOutput, RunSettings
from app.live import live_tab
from app.media import MAX_UPLOAD_BYTES, PathGuard
from app.outputs import OutputStore, Retention, remove_older_than
from app.project import load_editor_state, load_project, save_project
from app.timeline import (KEPT_TIMELINE_JS, SAMPLER_TO_TIMELINE_JS, describe, fit_to_duration, guarded, panel_values,
                          problem_clip, timeline_editor, user_problem, valid_part)
from app.workdir import claim_work_dir
from genmo.constants import MODEL_FPS
from genmo.errors import GenmoUserError, one_line
from genmo.spec import ALLOWED_FPS, GUIDANCE_RANGE, MAX_DURATION_S, MAX_SEED, MIN_DURATION_S, STEPS_RANGE

log = logging.getLogger("genmo.studio")
MAX_SAMPLES = 3
COMPARE_MODES = {
    "steps": "DDIM steps 1 / 5 / 50",
    "seeds": "three seeds",
    "conditions": "with / without conditions",
    "smoothing": "raw / smoothed output",
}
START_EXAMPLE = "two_prompts"
# Generate scrolls the result (where the progress shows) into view; the inputs pass through unchanged.
SHOW_RESULT_JS = """(...inputs) => {
  const result = document.querySelector("#result-video");
  if (result) result.scrollIntoView({behavior: "smooth", block: "center"});
  return inputs;
}"""
DELETE_CACHE = (3600, 12 * 3600)  # gradio deletes its temp files (uploads) 12 h old, checking hourly
SWEEP_PERIOD_S = 60.0  # how often expired result folders are looked for when nothing else happens

PAGE_CSS = """
#studio-header h1 { font-size: 1.6rem; margin: 0; }
#studio-header p { margin: 2px 0 0; color: var(--body-text-color-subdued); }
.genmo-msg { padding: 8px 12px; border-radius: 8px; font-size: 14px; }
.genmo-msg.ok { background: #ecfdf5; color: #065f46; border: 1px solid #a7f3d0; }
.genmo-msg.info { background: #eef2ff; color: #3730a3; border: 1px solid #c7d2fe; }
.genmo-msg.error { background: #fef2f2; color: #b91c1c; border: 1px solid #fecaca; }
#timeline-status .genmo-msg { padding: 4px 10px; font-size: 13px; }
.example-row button { font-size: 13px; }
.genmo-compare { width: 100%; border-collapse: collapse; font-size: 13px; }
.genmo-compare td, .genmo-compare th { padding: 4px 8px; border-bottom: 1px solid var(--border-color-primary); text-align: left; }
"""


def _gpu(fn):
    """spaces.GPU when running on Hugging Face ZeroGPU, else the function itself."""
    try:
        import spaces
    except ImportError:
        return fn
    return spaces.GPU(duration=120)(fn)


def message(kind: str, text: str, clip: int | None = None) -> str:
    """A coloured one-line message box; the text is escaped. ``clip`` (from 1) names the clip it is about:
    the editor outlines that clip (timeline.js watches the status box's data-clip)."""
    about = f' data-clip="{int(clip)}"' if clip is not None else ""
    return f'<div class="genmo-msg {kind}" role="{"alert" if kind == "error" else "status"}"{about}>{html.escape(text)}</div>'


def launch_kwargs(work_dir: Path | None = None, max_upload_bytes: int = MAX_UPLOAD_BYTES) -> dict[str, Any]:
    """Arguments for ``demo.launch`` (Gradio 6 takes theme and css here)."""
    allowed = [str(EXAMPLES_DIR)] + ([str(work_dir)] if work_dir else [])
    return {"theme": gr.themes.Soft(primary_hue="indigo", neutral_hue="slate"), "css": PAGE_CSS,
            "max_file_size": int(max_upload_bytes), "allowed_paths": allowed}


def build_studio(checkpoint: Path | None = None, pipeline: Any = None, work_dir: Path | None = None,
                 max_upload_bytes: int = MAX_UPLOAD_BYTES, retention: Retention = Retention(),
                 delete_cache: tuple[int, int] | None = DELETE_CACHE) -> gr.Blocks:
    """The studio Blocks; ``pipeline`` overrides the checkpoint (tests pass the tiny random one).

    ``max_upload_bytes`` is checked in the browser before uploading; pass the same value to
    ``launch_kwargs`` so the server enforces it too. Results (runs, saved projects) go to one folder
    per browser session under ``work_dir/runs`` and stay while that page may fetch them
    (``app.outputs``: removed after the page closes, when idle, or under the ``retention`` cap).
    They are served in place as static files, so gradio neither copies them nor ages them out;
    gradio deletes its own temp files (uploads) by ``delete_cache`` (frequency, age) seconds.
    The default ``work_dir`` is a new locked folder in gradio's cache folder; folders left there by
    studios that are no longer running (killed, crashed) are removed at start.
    A missing or unloadable checkpoint falls back to the tiny untrained model with a banner.
    The result store is ``demo.genmo_outputs``.
    """
    work = Path(work_dir) if work_dir is not None else claim_work_dir(Path(gr.utils.get_upload_folder()))
    work.mkdir(parents=True, exist_ok=True)
    store = OutputStore(work / "runs", retention)
    threading.Thread(target=store.sweep_every, args=(SWEEP_PERIOD_S,), daemon=True, name="genmo-sweeper").start()
    gr.set_static_paths([store.root])
    guard = PathGuard([Path(gr.utils.get_upload_folder()), EXAMPLES_DIR, work])
    generator = Generator(checkpoint=checkpoint, pipeline=pipeline)
    generator.pipeline()  # load now: a broken checkpoint is reported at start-up, not at the first Generate
    cancel_flags: dict[str, threading.Event] = {}
    start = load_example(START_EXAMPLE)

    def flag(request: gr.Request | None, new: bool = False) -> threading.Event:
        """The session's cancel flag; ``new`` gives each run its own (a cancelled run that is still
        winding down keeps its set flag while the next run starts)."""
        key = _session(request)
        if new or key not in cancel_flags:
            cancel_flags[key] = threading.Event()
        return cancel_flags[key]

    with gr.Blocks(title="GENMO Studio", delete_cache=delete_cache) as demo:
        gr.HTML(
            "<div id='studio-header'><h1>GENMO Studio</h1><p>One diffusion model for human motion: estimate it from "
            "video and 2D keypoints, generate it from text, music and keyframes, all on one timeline.</p></div>"
        )
        if generator.fallback:
            gr.HTML(message("error", generator.model_note), elem_id="model-banner")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=560):
                timeline = timeline_editor(start, guard, max_upload_bytes)
                tl_status = gr.HTML(message("ok", describe(start, guard)[1]), elem_id="timeline-status")
                gr.Markdown("**Examples** (one click loads the timeline):")
                with gr.Row(elem_classes="example-row"):
                    example_buttons = {name: gr.Button(title, size="sm", variant="secondary",
                                                       elem_id=f"example-{name}") for name, (title, _) in EXAMPLES.items()}
                with gr.Accordion("Project: save or load the timeline with its media", open=False):
                    with gr.Row():
                        project_in = gr.File(label="Load a project (.zip) or timeline (.json)",
                                             file_types=[".zip", ".json"], elem_id="project-in")
                        with gr.Column():
                            save_btn = gr.Button("Save project (.zip)", elem_id="save-project")
                            project_out = gr.File(label="Project file", interactive=False)
            with gr.Column(scale=1, min_width=300):
                gr.Markdown("### Generate")
                duration = gr.Slider(MIN_DURATION_S, MAX_DURATION_S, value=start["duration"], step=0.5,
                                     label="Duration (s)", elem_id="duration")
                fps = gr.Dropdown(list(ALLOWED_FPS), value=start["fps"], label=f"Output fps (the model runs at {MODEL_FPS})",
                                  elem_id="fps")
                steps = gr.Slider(*STEPS_RANGE, value=start["sampler"]["steps"], step=1, label="DDIM steps",
                                  elem_id="steps")
                guidance = gr.Slider(*GUIDANCE_RANGE, value=start["sampler"]["guidance"], step=0.1,
                                     label="Guidance (classifier-free)", elem_id="guidance")
                with gr.Row():
                    seed = gr.Number(value=start["sampler"]["seed"], precision=0, minimum=0, maximum=MAX_SEED,
                                     label="Seed", elem_id="seed", scale=2)
                    random_seed = gr.Checkbox(False, label="Random", elem_id="random-seed", scale=1)
                samples = gr.Slider(1, MAX_SAMPLES, value=1, step=1, label="Samples", elem_id="samples")
                researcher = gr.Checkbox(False, label="Researcher mode (condition masks, text windows)",
                                         elem_id="researcher")
                with gr.Row():
                    generate_btn = gr.Button("Generate", variant="primary", elem_id="generate", scale=2)
                    cancel_btn = gr.Button("Cancel", variant="stop", elem_id="cancel", scale=1)
                gen_msg = gr.HTML(message("info", "Edit the timeline, then Generate."), elem_id="gen-message")
        with gr.Tabs():
            with gr.Tab("Result", id="result"):
                with gr.Row():
                    video = gr.Video(label="Render", autoplay=True, loop=True, elem_id="result-video",
                                     interactive=False, height=420, scale=3)
                    overlay = gr.Video(label="Estimated body over the video clip", visible=False, autoplay=True,
                                       loop=True, elem_id="overlay-video", interactive=False, height=420, scale=3)
                    viewer = gr.Model3D(label="3D viewer (animated GLB)", elem_id="viewer", height=420, scale=2)
                with gr.Row():
                    extra_videos = [gr.Video(label=f"Sample {i + 2}", visible=False, autoplay=True, loop=True,
                                             interactive=False, height=320, elem_id=f"sample-{i + 2}")
                                    for i in range(MAX_SAMPLES - 1)]
                masks = gr.Image(label="Condition masks and text windows", visible=False, type="filepath",
                                 interactive=False, elem_id="masks")
                downloads = gr.File(label="Downloads: motion npz, GLB, BVH, mp4 (every sample, and the overlay)", file_count="multiple",
                                    interactive=False, elem_id="downloads")
            with gr.Tab("Compare settings", id="compare"):
                with gr.Row():
                    compare_mode = gr.Radio(list(COMPARE_MODES.values()), value=COMPARE_MODES["steps"],
                                            label="Generate the same timeline with", elem_id="compare-mode")
                    compare_btn = gr.Button("Compare", variant="primary", elem_id="compare")
                with gr.Row():
                    compare_videos = [gr.Video(label=f"Setting {i + 1}", autoplay=True, loop=True, interactive=False,
                                               height=320, elem_id=f"compare-{i + 1}") for i in range(3)]
                compare_table = gr.HTML(elem_id="compare-table")
            live = live_tab(generator.pipeline, timeline, work, message)

        # -- timeline ---------------------------------------------------------------------------
        def on_timeline(spec: dict) -> str:
            ok, text = describe(spec, guard)
            return message("ok" if ok else "error", text, None if ok else problem_clip(text))

        timeline.change(on_timeline, timeline, tl_status, show_progress="hidden", concurrency_limit=None, api_name="check",
                        trigger_mode="always_last")

        def on_settings(spec: dict, dur: float, rate: int) -> dict:
            return fit_to_duration(spec, float(dur), int(rate))

        duration.release(on_settings, [timeline, duration, fps], timeline, show_progress="hidden",
                         concurrency_limit=None, api_name="set_duration")
        fps.input(on_settings, [timeline, duration, fps], timeline, show_progress="hidden", concurrency_limit=None,
                  api_visibility="private")

        loaded_outputs = [timeline, duration, fps, steps, guidance, seed, gen_msg]

        panel = [duration, fps, steps, guidance, seed]

        def loaded(spec: dict, note: str) -> dict:
            return {timeline: spec, **dict(zip(panel, panel_values(spec))), gen_msg: message("info", note)}

        for box in (steps, guidance, seed):
            box.change(None, [timeline, steps, guidance, seed], timeline, js=SAMPLER_TO_TIMELINE_JS,
                       show_progress="hidden", api_visibility="private")

        # after a reload, the browser brings back the timeline it kept, and the panel follows it
        demo.load(None, [timeline, *panel], [timeline, *panel], js=KEPT_TIMELINE_JS, show_progress="hidden",
                  api_visibility="private")

        def clear_compare() -> dict:
            """A comparison belongs to the timeline it was made from: it goes when another one is loaded."""
            return {**{v: gr.update(value=None, label=f"Setting {i + 1}") for i, v in enumerate(compare_videos)},
                    compare_table: ""}

        for name, button in example_buttons.items():
            def load(name: str = name) -> dict:
                title, blurb = EXAMPLES[name]
                return loaded(load_example(name), f"Loaded example “{title}”: {blurb}.")

            button.click(load, None, loaded_outputs, show_progress="hidden", concurrency_limit=None,
                         api_name=f"example_{name}").then(clear_compare, None, [*compare_videos, compare_table],
                                                          show_progress="hidden", api_visibility="private")

        # -- projects ---------------------------------------------------------------------------
        def on_project(file: str | None) -> dict:
            if not file:
                return {gen_msg: message("info", "No project loaded.")}
            remove_older_than(work / "projects", retention.idle_s)  # project media live as long as uploads
            dest = work / "projects" / uuid.uuid4().hex[:8]
            try:
                spec = load_project(file, dest, media_roots=[EXAMPLES_DIR])
                state = load_editor_state(dest)  # an unfinished timeline comes back whole
                guard.add(dest)
                guarded(state or spec, guard)
            except (GenmoUserError, OSError) as err:
                shutil.rmtree(dest, ignore_errors=True)
                return {gen_msg: message("error", f"Could not load the project: {one_line(err)}")}
            if state is not None:
                return loaded(state, f"Loaded {Path(file).name}: the unfinished timeline as it was saved.")
            return loaded(spec, f"Loaded {Path(file).name}.")

        project_in.upload(on_project, project_in, loaded_outputs, concurrency_limit=None, api_name="load_project")

        def on_save(spec: dict, request: gr.Request) -> Iterator[dict]:
            """Save the timeline; an unfinished one is saved without its incomplete clips, with a warning."""
            with store.event(_session(request), "save") as event:
                try:
                    ok, _text = describe(spec, guard)
                    valid, problems = (spec, []) if ok else valid_part(spec, guard)
                    path = save_project(guarded(valid, guard), event.new_folder() / "genmo-project.zip",
                                        editor_state=None if ok else spec, resolve_state=guard.check)
                except (GenmoUserError, OSError) as err:
                    yield {gen_msg: message("error", f"Could not save: {one_line(err)}")}
                    return
                if problems:
                    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                    yield {project_out: str(path),
                           gen_msg: message("info", f"Saved with a warning: {problems[0]}{more} was left out of "
                                                    "timeline.json; the zip keeps the whole timeline, which loads back as it is.")}
                else:
                    yield {project_out: str(path),
                           gen_msg: message("ok", "Project saved: timeline.json plus its media in one zip.")}
                event.delivered()  # after the yield: the page has been sent the new file

        save_btn.click(on_save, timeline, [project_out, gen_msg], concurrency_limit=None, api_name="save_project")

        # -- generation -------------------------------------------------------------------------
        @_gpu
        def generate(spec: dict, n_steps: float, weight: float, seed_value: float | None, randomise: bool,
                     n_samples: float, researcher_mode: bool, request: gr.Request,
                     progress: gr.Progress = gr.Progress()) -> Iterator[dict]:
            """Sample each requested seed; the first one's 3D view is shown as soon as its GLB exists,
            before its video renders. Errors become a message; the timeline is never touched."""
            cancel = flag(request, new=True)
            base_seed = secrets.randbelow(MAX_SEED) if randomise or seed_value is None else int(seed_value)
            n = max(1, min(MAX_SAMPLES, int(n_samples)))
            yield {gen_msg: message("info", f"Generating{f' {n} samples' if n > 1 else ''}…")}
            with store.event(_session(request), "generate") as event:
                try:
                    outs = []
                    for i in range(n):
                        settings = RunSettings(int(n_steps), float(weight), (base_seed + i) % (MAX_SEED + 1))
                        report = _slice(progress, i / n, (i + 1) / n)
                        sampled = generator.sample(guarded(spec, guard), settings, event.new_folder(), report, cancel)
                        if i == 0 and sampled.output.glb:
                            yield preview(sampled.output, base_seed)
                        generator.render(sampled, report, cancel)
                        outs.append(generator.finish(sampled, report))
                except Exception as err:  # shown in the page, never as a traceback
                    yield {gen_msg: _error_message(err)}
                    return
                yield result(outs, researcher_mode, base_seed)
                event.delivered()  # after the yield: the page has been sent the new files

        def result(outs: list[RunOutput], researcher_mode: bool, base_seed: int) -> dict:
            """What ``generate`` shows once every sample is done: videos, masks, 3D view, downloads, message."""
            first = outs[0]
            notes = [generator.model_note] + first.notes if generator.model_note else first.notes
            timing = f"Done in {sum(o.timings.get('generate_s', 0) + o.timings.get('render_s', 0) for o in outs):.1f} s"
            text = "; ".join([timing + f" ({first.caption})", *notes])
            render_label = f"Render: {first.settings.label}" if first.video else "Render unavailable (see the message)"
            update = {
                video: gr.update(value=_path(first.video), label=render_label),
                overlay: gr.update(value=str(first.overlay) if first.overlay else None, visible=first.overlay is not None),
                masks: gr.update(value=str(first.masks_png) if first.masks_png else None, visible=bool(researcher_mode)),
                viewer: _viewer_update(first),
                downloads: [f for o in outs for f in _downloads(o)],
                gen_msg: message("ok", text),
                seed: base_seed,
            }
            for i, player in enumerate(extra_videos):
                out = outs[i + 1] if i + 1 < len(outs) else None
                update[player] = (gr.update(value=None, visible=False) if out is None else
                                  gr.update(value=_path(out.video), visible=out.video is not None,
                                            label=f"Sample {i + 2}: {out.settings.label}"))
            return update

        def preview(out: RunOutput, seed_used: int) -> dict:
            """What ``generate`` shows once the first sample's GLB exists: the 3D viewer and downloads only."""
            seconds = out.timings.get("generate_s", 0.0)
            text = f"3D motion ready in {seconds:.1f} s ({out.settings.label}); rendering the video…"
            return {viewer: _viewer_update(out), downloads: _downloads(out), gen_msg: message("info", text), seed: seed_used}

        generate_btn.click(
            generate, [timeline, steps, guidance, seed, random_seed, samples, researcher],
            [video, overlay, *extra_videos, masks, viewer, downloads, gen_msg, seed], concurrency_limit=1,
            concurrency_id="gpu", show_progress_on=[video, gen_msg], js=SHOW_RESULT_JS)

        @_gpu
        def compare(spec: dict, mode: str, n_steps: float, weight: float, seed_value: float | None,
                    request: gr.Request, progress: gr.Progress = gr.Progress()) -> Iterator[dict]:
            cancel = flag(request, new=True)
            base = int(seed_value or 0)
            if mode == COMPARE_MODES["seeds"]:
                runs = [RunSettings(int(n_steps), float(weight), base + i) for i in range(3)]
            elif mode == COMPARE_MODES["conditions"]:
                runs = [RunSettings(int(n_steps), float(weight), base),
                        RunSettings(int(n_steps), float(weight), base, drop_conditions=True)]
            elif mode == COMPARE_MODES["smoothing"]:
                runs = [RunSettings(int(n_steps), float(weight), base, smooth=0.0),
                        RunSettings(int(n_steps), float(weight), base, smooth=generator.default_smoothing())]
            else:
                runs = [RunSettings(s, float(weight), base) for s in (1, 5, 50)]
            with store.event(_session(request), "compare") as event:
                try:
                    outs = [generator.run(guarded(spec, guard), r, event.new_folder(),
                                          _slice(progress, i / len(runs), (i + 1) / len(runs)), cancel,
                                          export_glb=False) for i, r in enumerate(runs)]
                except Exception as err:
                    yield {compare_table: _error_message(err)}
                    return
                update = {player: gr.update(value=None, visible=False) for player in compare_videos}
                update.update({player: gr.update(value=_path(o.video), label=f"{o.settings.label}", visible=True)
                               for player, o in zip(compare_videos, outs)})
                rows = "".join(
                    f"<tr><td>{html.escape(o.settings.label)}</td>"
                    f"<td>{o.timings.get('sampling_s', 0):.2f}</td><td>{o.timings.get('generate_s', 0):.2f}</td>"
                    f"<td>{o.timings.get('render_s', 0):.2f}</td></tr>" for o in outs)
                table = ("<table class='genmo-compare'><tr><th>setting</th><th>sampling s</th><th>generate s</th>"
                         f"<th>render s</th></tr>{rows}</table>")
                notes = sorted({n for o in outs for n in o.notes if n.startswith("no video")})
                table += "".join(message("error", n) for n in notes)
                yield {**update, compare_table: table}
                event.delivered()  # after the yield: the page has been sent the new videos

        compare_btn.click(compare, [timeline, compare_mode, steps, guidance, seed],
                          [*compare_videos, compare_table], concurrency_limit=1, concurrency_id="gpu")

        def cancel(request: gr.Request) -> str:
            """Ask the session's run to stop: it checks the flag between steps and between rendered frames,
            then ends with its own "cancelled" message, so the worker is free for the next run at once
            (gradio's ``cancels`` leaves a sync worker thread running and blocks the next Generate)."""
            flag(request).set()
            return message("info", "Cancelled; stopping the run (the timeline is unchanged)…")

        cancel_btn.click(cancel, None, gen_msg, concurrency_limit=None, queue=False)

        def closed(request: gr.Request) -> None:
            """A closed page's results and cancel flag go with it."""
            store.close(_session(request))
            cancel_flags.pop(_session(request), None)
            live.close(request.session_hash or "anonymous")

        demo.unload(closed)
    demo.genmo_outputs = store
    return demo


def _path(path: Path | None) -> str | None:
    return str(path) if path is not None else None


def _viewer_update(out: RunOutput) -> dict:
    """The 3D viewer showing the run's GLB, its orbit camera far enough back for the whole motion
    at phone width too (Babylon's own framing crops a walking body in a narrow view)."""
    if out.glb is None:
        return gr.update(value=None)
    return gr.update(value=str(out.glb), camera_position=out.orbit or (None, None, None))


def _downloads(out: RunOutput) -> list[str]:
    """The run's files offered for download: motion npz, video, GLB, BVH, overlay (those that exist)."""
    return [str(p) for p in (out.motion, out.video, out.glb, out.bvh, out.overlay) if p]


def _session(request: gr.Request | None) -> str:
    """The browser session a request belongs to (gradio's session hash)."""
    return getattr(request, "session_hash", None) or "default"


def _slice(progress: gr.Progress, lo: float, hi: float):
    def report(fraction: float, text: str) -> None:
        progress(lo + (hi - lo) * fraction, desc=text)

    return report


def _error_message(err: Exception) -> str:
    if isinstance(err, GenerationCancelled):
        return message("info", "Cancelled: generation stopped; the timeline is unchanged.")
    if isinstance(err, (GenmoUserError, FileNotFoundError)):
        return message("error", f"Cannot generate: {user_problem(one_line(err))[1]}")
    log.exception("generation failed")
    return message("error", f"Generation failed ({type(err).__name__}: {one_line(err)}); the timeline is unchanged.")
