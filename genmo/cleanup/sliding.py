"""Foot sliding on labelled contact frames (mm/frame), the measure the foot-skate clean-up is judged by."""

from __future__ import annotations

import numpy as np

from genmo.body.skeleton import CONTACT_JOINTS

FOOT_CHANNELS = (0, 1, 2, 3)  # left heel, left toe, right heel, right toe
CONTACT_THRESHOLD = 0.5


def contact_foot_sliding(joints: np.ndarray, contacts: np.ndarray, threshold: float = CONTACT_THRESHOLD,
                         up: int = 1) -> float:
    """Mean horizontal displacement (mm/frame) of heel and toe joints between consecutive frames
    both labelled in contact (contact channel > ``threshold``).

    joints (N, 24, 3) metres, contacts (N, 6) in the Motion channel order. Returns NaN when no
    foot is in contact on two consecutive frames.
    """
    joints = np.asarray(joints, dtype=np.float64)
    contacts = np.asarray(contacts, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (24, 3):
        raise ValueError(f"joints: expected shape (N, 24, 3), got {joints.shape}")
    if contacts.shape != (len(joints), 6):
        raise ValueError(f"contacts: expected shape ({len(joints)}, 6), got {contacts.shape}")
    feet = joints[:, [CONTACT_JOINTS[c] for c in FOOT_CHANNELS]]
    step = np.delete(np.diff(feet, axis=0), up, axis=-1)
    on = contacts[:, list(FOOT_CHANNELS)] > threshold
    both = on[1:] & on[:-1]
    if not both.any():
        return float("nan")
    return float(np.linalg.norm(step, axis=-1)[both].mean() * 1000.0)
