"""BVH export: the SMPL-24 skeleton with the body's rest offsets, root position + Euler channels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from genmo.body.model import BodyModel
from genmo.body.rotations import axis_angle_to_matrix
from genmo.body.skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS
from genmo.motion.bvh import write_bvh
from genmo.motion.motion import Motion

UNITS = {"m": 1.0, "cm": 100.0}
END_SITE_FRACTION = 0.5  # leaf bones get an End Site this fraction of their own length further on


def motion_to_bvh(
    motion: Motion,
    path: str | Path,
    body: BodyModel | None = None,
    units: str = "m",
    order: str = "ZXY",
) -> Path:
    """Write ``motion`` as a BVH file; return the path.

    Joints are the SMPL-24 tree with SMPL names, offsets from ``body.rest_joints(motion.betas)``
    (T-pose, Y up, facing +Z), so local joint rotations are the SMPL ones unchanged. The root
    carries world position channels (absolute pelvis position, replacing its OFFSET) and every
    joint ``order`` intrinsic Euler angles in degrees. units: "m" (Blender's importer at scale 1)
    or "cm" (MotionBuilder / Maya convention). Frame Time is 1 / motion.fps.
    """
    if units not in UNITS:
        raise ValueError(f"BVH units must be one of {', '.join(UNITS)}, got {units!r}")
    if sorted(order.upper()) != ["X", "Y", "Z"]:
        raise ValueError(f"BVH rotation order must be a permutation of XYZ, got {order!r}")
    if body is None:
        from genmo.body import load_body

        body = load_body()
    scale = UNITS[units]
    betas = torch.from_numpy(motion.betas)
    rest = body.rest_joints(betas).double().numpy()
    offsets = rest - rest[[max(p, 0) for p in PARENTS]]
    offsets[0] = rest[0]
    end_sites = {j: END_SITE_FRACTION * offsets[j] * scale for j in range(NUM_JOINTS) if j not in PARENTS}
    local = axis_angle_to_matrix(torch.from_numpy(motion.poses).double().reshape(-1, NUM_JOINTS, 3)).numpy()
    root = (motion.trans.astype(np.float64) + rest[0]) * scale
    return write_bvh(path, list(JOINT_NAMES), list(PARENTS), offsets * scale, local, root, motion.fps,
                     order=order.upper(), end_sites=end_sites)
