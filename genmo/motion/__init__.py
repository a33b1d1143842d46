"""Motion representation, normalisation, contacts and the motion file."""

from genmo.motion.motion import Motion
from genmo.motion.normalizer import Normalizer
from genmo.motion.representation import LAYOUT, MOTION_DIM, decode, encode

__all__ = ["LAYOUT", "MOTION_DIM", "Motion", "Normalizer", "decode", "encode"]
