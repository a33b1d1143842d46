"""BVH motion capture files: a general reader (any hierarchy, channel order and units), forward
kinematics of the source skeleton, and a writer (the BVH export; the data importer reads with it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genmo.body.rotations import euler_to_matrix_np, matrix_to_euler_np
from genmo.errors import GenmoUserError

_CHANNELS = ("Xposition", "Yposition", "Zposition", "Xrotation", "Yrotation", "Zrotation")


class BvhError(GenmoUserError):
    """A malformed BVH file; the message names the file and line."""


@dataclass
class Bvh:
    """A parsed BVH file.

    names (J,), parents (J,) (-1 for the root), offsets (J, 3) in file units,
    channels: per joint the list of channel names, motion (F, C) raw channel values,
    frame_time seconds, end_sites: joint index -> End Site offset (file units).
    """

    names: list[str]
    parents: list[int]
    offsets: np.ndarray
    channels: list[list[str]]
    motion: np.ndarray
    frame_time: float
    end_sites: dict[int, np.ndarray]
    source: str = "<bvh>"

    @property
    def num_frames(self) -> int:
        return int(self.motion.shape[0])

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    def channel_slices(self) -> list[slice]:
        """Column range of each joint's channels in ``motion``."""
        out, start = [], 0
        for ch in self.channels:
            out.append(slice(start, start + len(ch)))
            start += len(ch)
        return out

    def local_transforms(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-frame local rotations (F, J, 3, 3) and local translations (F, J, 3) in file units.

        A joint's translation is its OFFSET unless it carries position channels, which then
        replace the offset (the usual convention of BVH exporters).
        """
        frames, num = self.num_frames, len(self.names)
        rots = np.broadcast_to(np.eye(3), (frames, num, 3, 3)).copy()
        trans = np.broadcast_to(self.offsets, (frames, num, 3)).copy()
        for j, (ch, sl) in enumerate(zip(self.channels, self.channel_slices())):
            values = self.motion[:, sl]
            rot_axes = [c[0].upper() for c in ch if c.endswith("rotation")]
            rot_cols = [i for i, c in enumerate(ch) if c.endswith("rotation")]
            pos_cols = {c[0].upper(): i for i, c in enumerate(ch) if c.endswith("position")}
            if rot_cols:
                rots[:, j] = euler_to_matrix_np(values[:, rot_cols], "".join(rot_axes))
            for axis, col in pos_cols.items():
                trans[:, j, "XYZ".index(axis)] = values[:, col]
        return rots, trans

    def forward_kinematics(self, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Global rotations (F, J, 3, 3) and world positions (F, J, 3) (file units times ``scale``)."""
        local_r, local_t = self.local_transforms()
        glob_r = np.empty_like(local_r)
        glob_p = np.empty_like(local_t)
        for j, p in enumerate(self.parents):
            if p < 0:
                glob_r[:, j] = local_r[:, j]
                glob_p[:, j] = local_t[:, j]
            else:
                glob_r[:, j] = glob_r[:, p] @ local_r[:, j]
                glob_p[:, j] = glob_p[:, p] + np.einsum("fab,fb->fa", glob_r[:, p], local_t[:, j])
        return glob_r, glob_p * scale

    def end_site_positions(self, glob_r: np.ndarray, glob_p: np.ndarray, scale: float = 1.0) -> dict[int, np.ndarray]:
        """World positions (F, 3) of the End Sites, keyed by their parent joint."""
        return {
            j: glob_p[:, j] + np.einsum("fab,b->fa", glob_r[:, j], off * scale) for j, off in self.end_sites.items()
        }

    def guess_scale(self) -> float:
        """Factor to metres: 0.01 when the skeleton looks like centimetres, 1 for metres."""
        _, pos = _rest_positions(self)
        height = float(np.ptp(pos, axis=0).max()) if len(pos) else 0.0
        if height > 20.0:
            return 0.01
        return 1.0


def _rest_positions(bvh: Bvh) -> tuple[np.ndarray, np.ndarray]:
    pos = np.zeros((len(bvh.names), 3))
    for j, p in enumerate(bvh.parents):
        pos[j] = bvh.offsets[j] + (pos[p] if p >= 0 else 0)
    return bvh.offsets, pos


class _Tokens:
    """Whitespace tokens with their line numbers, for error messages."""

    def __init__(self, lines: list[str], source: str) -> None:
        self.items: list[tuple[str, int]] = []
        self.source = source
        for n, line in enumerate(lines, 1):
            for tok in line.split():
                self.items.append((tok, n))
        self.pos = 0

    def error(self, msg: str, line: int | None = None) -> BvhError:
        if line is None:
            line = self.items[min(self.pos, len(self.items) - 1)][1] if self.items else 1
        return BvhError(f"{self.source}:{line}: {msg}")

    def next(self, what: str) -> tuple[str, int]:
        if self.pos >= len(self.items):
            raise self.error(f"unexpected end of file, expected {what}")
        tok = self.items[self.pos]
        self.pos += 1
        return tok

    def expect(self, word: str) -> int:
        tok, line = self.next(repr(word))
        if tok != word:
            raise self.error(f"expected {word!r}, got {tok!r}", line)
        return line

    def number(self, what: str) -> float:
        tok, line = self.next(what)
        try:
            return float(tok)
        except ValueError:
            raise self.error(f"expected a number for {what}, got {tok!r}", line) from None


def parse_bvh(text: str, source: str = "<bvh>") -> Bvh:
    """Parse BVH text. Raises BvhError naming ``source`` and the line on malformed input."""
    lines = text.splitlines()
    motion_line = next((i for i, l in enumerate(lines) if l.strip().upper() == "MOTION"), None)
    if motion_line is None:
        raise BvhError(f"{source}:{len(lines)}: no MOTION section")
    tok = _Tokens(lines[:motion_line], source)
    tok.expect("HIERARCHY")
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[list[str]] = []
    end_sites: dict[int, np.ndarray] = {}

    def parse_joint(parent: int) -> None:
        name, _ = tok.next("joint name")
        index = len(names)
        names.append(name)
        parents.append(parent)
        tok.expect("{")
        tok.expect("OFFSET")
        offsets.append([tok.number("OFFSET") for _ in range(3)])
        chans: list[str] = []
        word, line = tok.next("CHANNELS")
        if word == "CHANNELS":
            count_tok, line = tok.next("channel count")
            if not count_tok.isdigit():
                raise tok.error(f"bad channel count {count_tok!r} for joint {name!r}", line)
            for _ in range(int(count_tok)):
                ch, cline = tok.next("channel name")
                if ch not in _CHANNELS:
                    raise tok.error(f"joint {name!r}: unknown channel {ch!r} (channel count {count_tok} too large?)", cline)
                chans.append(ch)
            word, line = tok.next("JOINT, End Site or '}'")
        channels.append(chans)
        while word != "}":
            if word == "JOINT":
                parse_joint(index)
            elif word == "End":
                tok.expect("Site")
                tok.expect("{")
                tok.expect("OFFSET")
                end_sites[index] = np.array([tok.number("End Site OFFSET") for _ in range(3)])
                tok.expect("}")
            else:
                raise tok.error(f"joint {name!r}: expected JOINT, End Site or '}}', got {word!r}", line)
            word, line = tok.next("JOINT, End Site or '}'")

    word, _ = tok.next("ROOT")
    if word != "ROOT":
        raise tok.error(f"expected ROOT, got {word!r}")
    parse_joint(-1)
    if tok.pos != len(tok.items):
        raise tok.error(f"unexpected {tok.items[tok.pos][0]!r} after the hierarchy")

    num_frames, frame_time, data_start = _parse_motion_header(lines, motion_line, source)
    num_channels = sum(len(c) for c in channels)
    body = lines[data_start:]
    rows = [l for l in body if l.strip()]
    if len(rows) < num_frames:
        raise BvhError(f"{source}:{len(lines)}: truncated: {len(rows)} frames of motion, header says {num_frames}")
    values = np.fromstring(" ".join(rows[:num_frames]), sep=" ") if num_frames else np.zeros(0)
    if values.size != num_frames * num_channels:
        for k, row in enumerate(rows[:num_frames]):
            if len(row.split()) != num_channels:
                line = data_start + body.index(row) + 1
                raise BvhError(f"{source}:{line}: frame {k} has {len(row.split())} values, expected {num_channels} channels")
        raise BvhError(f"{source}:{data_start + 1}: motion data is not numeric")
    motion = values.reshape(num_frames, num_channels)
    if not np.isfinite(motion).all():
        raise BvhError(f"{source}:{data_start + 1}: motion data contains NaN or infinite values")
    return Bvh(names, parents, np.array(offsets, dtype=np.float64), channels, motion, frame_time, end_sites, source)


def _parse_motion_header(lines: list[str], motion_line: int, source: str) -> tuple[int, float, int]:
    i = motion_line + 1
    frames = frame_time = None
    while i < len(lines) and (frames is None or frame_time is None):
        line = lines[i].strip()
        try:
            if line.startswith("Frames:"):
                frames = int(line.split(":", 1)[1])
            elif line.startswith("Frame Time:"):
                frame_time = float(line.split(":", 1)[1])
            elif line:
                break
        except ValueError:
            raise BvhError(f"{source}:{i + 1}: bad motion header {line!r}") from None
        i += 1
    if frames is None or frame_time is None:
        raise BvhError(f"{source}:{i + 1}: MOTION needs 'Frames:' and 'Frame Time:' lines")
    if frames < 0 or not frame_time > 0:
        raise BvhError(f"{source}:{i}: bad frame count {frames} or frame time {frame_time}")
    return frames, frame_time, i


def read_bvh(path: str | Path) -> Bvh:
    """Read a BVH file from disk."""
    path = Path(path)
    try:
        text = path.read_text(errors="replace")
    except OSError as err:
        raise BvhError(f"{path}: cannot read ({err.strerror})") from None
    return parse_bvh(text, str(path))


def write_bvh(
    path: str | Path,
    names: list[str],
    parents: list[int],
    offsets: np.ndarray,
    local_rots: np.ndarray,
    root_pos: np.ndarray,
    fps: float,
    order: str = "ZXY",
    end_sites: dict[int, np.ndarray] | None = None,
) -> Path:
    """Write a BVH with position channels on the root and ``order`` Euler rotations on every joint.

    offsets (J, 3), local_rots (F, J, 3, 3), root_pos (F, 3), all in the file's units.
    Parents must precede children.
    """
    path = Path(path)
    end_sites = end_sites or {}
    kids: dict[int, list[int]] = {j: [] for j in range(len(names))}
    for j, p in enumerate(parents):
        if p >= 0:
            kids[p].append(j)
    rot_ch = " ".join(f"{a}rotation" for a in order)
    out = ["HIERARCHY"]

    def emit(j: int, depth: int) -> None:
        pad = "  " * depth
        kind = "ROOT" if parents[j] < 0 else "JOINT"
        out.append(f"{pad}{kind} {names[j]}")
        out.append(f"{pad}{{")
        out.append(f"{pad}  OFFSET {' '.join(f'{v:.6f}' for v in offsets[j])}")
        pos_ch = "Xposition Yposition Zposition " if parents[j] < 0 else ""
        out.append(f"{pad}  CHANNELS {6 if parents[j] < 0 else 3} {pos_ch}{rot_ch}")
        for c in kids[j]:
            emit(c, depth + 1)
        if not kids[j]:
            site = end_sites.get(j, np.zeros(3))
            out.extend([f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET {' '.join(f'{v:.6f}' for v in site)}", f"{pad}  }}"])
        out.append(f"{pad}}}")

    order_idx: list[int] = []

    def visit(j: int) -> None:
        order_idx.append(j)
        for c in kids[j]:
            visit(c)

    for r in [j for j, p in enumerate(parents) if p < 0]:
        emit(r, 0)
        visit(r)
    eulers = matrix_to_euler_np(local_rots, order)
    frames = len(local_rots)
    out += ["MOTION", f"Frames: {frames}", f"Frame Time: {1.0 / fps:.8f}"]
    for f in range(frames):
        vals = [*root_pos[f]] + [v for j in order_idx for v in eulers[f, j]]
        out.append(" ".join(f"{v:.6f}" for v in vals))
    path.write_text("\n".join(out) + "\n")
    return path
