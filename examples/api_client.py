"""Generate a motion through the studio's API (a running `python app.py` or the Space) and save the npz.

    pip install gradio_client
    python examples/api_client.py http://127.0.0.1:7860 --example text_only --out motion.npz
    python examples/api_client.py https://USER-genmo-studio.hf.space --timeline my.json --out motion.npz

--example loads one of the studio's examples on the server (text_only, two_prompts, text_then_music,
video_estimation, inbetweening, mix). --timeline sends a timeline JSON file of your own: the media
it names (music, video, 2D keypoints, keyframe poses; paths relative to the file) are uploaded with
it as a project zip. The timeline travels as JSON text (see README "API"). Needs only gradio_client.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from gradio_client import Client, handle_file

LIBRARY_PREFIX = "library:"


def project_zip(timeline: Path, out: Path) -> Path:
    """Bundle a timeline file and the media it names into a studio project zip at ``out``."""
    spec = json.loads(timeline.read_text(encoding="utf-8"))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, track in enumerate(spec.get("tracks", [])):
            path = track.get("path")
            if not path or str(path).startswith(LIBRARY_PREFIX):
                continue
            source = (timeline.parent / path).resolve()
            name = f"media/{i:02d}_{source.name}"
            zf.write(source, name)
            track["path"] = name
        zf.writestr("timeline.json", json.dumps(spec, indent=1))
    return out


def text_of(message: str) -> str:
    """The plain text of one of the studio's message boxes."""
    return html.unescape(re.sub(r"<[^>]+>", "", message)).strip()


def generate(url: str, out: Path, example: str | None = None, timeline: Path | None = None,
             steps: int | None = None, guidance: float | None = None, seed: int | None = None) -> str:
    """Generate over the API into ``out`` (npz); returns the studio's message. ValueError on failure."""
    client = Client(url, verbose=False)
    try:
        if timeline is not None:
            with tempfile.TemporaryDirectory() as tmp:
                bundle = project_zip(timeline, Path(tmp) / "project.zip")
                spec_json, *_settings, note = client.predict(handle_file(str(bundle)), api_name="/load_project")
        else:
            spec_json, *_settings, note = client.predict(api_name=f"/example_{example}")
        if "genmo-msg error" in note:
            raise ValueError(text_of(note))
        sampler = json.loads(spec_json)["sampler"]
        outputs = client.predict(spec_json, steps or sampler["steps"], sampler["guidance"] if guidance is None else guidance,
                                 sampler["seed"] if seed is None else seed, False, 1, False, api_name="/generate")
    finally:
        client.close()
    files, message = outputs[6], outputs[7]
    if "genmo-msg error" in message:
        raise ValueError(text_of(message))
    npz = next((Path(f) for f in files or [] if str(f).endswith(".npz")), None)
    if npz is None:
        raise ValueError(f"the studio returned no motion file ({text_of(message)})")
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(npz, out)
    return text_of(message)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the studio's address, e.g. http://127.0.0.1:7860")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--example", help="a studio example by name, e.g. text_only")
    source.add_argument("--timeline", type=Path, help="a timeline JSON file; its media are uploaded")
    parser.add_argument("--out", type=Path, default=Path("motion.npz"))
    parser.add_argument("--steps", type=int)
    parser.add_argument("--guidance", type=float)
    parser.add_argument("--seed", type=int)
    args = parser.parse_args(argv)
    try:
        note = generate(args.url, args.out, args.example, args.timeline, args.steps, args.guidance, args.seed)
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{args.out}: {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
