"""Matplotlib stick-figure previews of SMPL-24 joint sequences (for docs and eyeballing data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genmo.body.skeleton import PARENTS

_LEFT = {1, 4, 7, 10, 13, 16, 18, 20, 22}
_RIGHT = {2, 5, 8, 11, 14, 17, 19, 21, 23}


def stick_grid(rows: list[tuple[str, np.ndarray]], path: str | Path, frames_per_row: int = 6) -> Path:
    """Draw each (title, joints (N, 24, 3)) row as ``frames_per_row`` evenly spaced side views.

    Left limbs are blue, right limbs red, the floor (y = 0) grey; the camera looks along -X
    at the Y-Z plane so forward (+Z) runs to the right.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(2.0 * frames_per_row, 2.4 * len(rows)))
    for r, (title, joints) in enumerate(rows):
        idx = np.linspace(0, len(joints) - 1, frames_per_row).round().astype(int)
        for c, f in enumerate(idx):
            ax = fig.add_subplot(len(rows), frames_per_row, r * frames_per_row + c + 1, projection="3d")
            j = joints[f]
            centre = j[0]
            for k, p in enumerate(PARENTS):
                if p < 0:
                    continue
                col = "tab:blue" if k in _LEFT else "tab:red" if k in _RIGHT else "k"
                ax.plot([j[k, 2], j[p, 2]], [j[k, 0], j[p, 0]], [j[k, 1], j[p, 1]], color=col, lw=2)
            g = np.linspace(-0.9, 0.9, 7)
            for v in g:
                ax.plot([centre[2] - 0.9, centre[2] + 0.9], [centre[0] + v, centre[0] + v], [0, 0], color="0.8", lw=0.5)
                ax.plot([centre[2] + v, centre[2] + v], [centre[0] - 0.9, centre[0] + 0.9], [0, 0], color="0.8", lw=0.5)
            ax.set_xlim(centre[2] - 0.9, centre[2] + 0.9)
            ax.set_ylim(centre[0] - 0.9, centre[0] + 0.9)
            ax.set_zlim(0, 1.8)
            ax.set_box_aspect((1, 1, 1))
            ax.dist = 6
            ax.view_init(elev=12, azim=-70)
            ax.set_axis_off()
            ax.set_title(f"{title} f{f}" if c == 0 else f"f{f}", fontsize=7)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
