"""Motion clean-up: temporal smoothing of sampled motion, foot-skate removal with leg IK, and the
foot-sliding measure it is judged by."""

from genmo.cleanup.footskate import clean_foot_skate, two_bone_ik
from genmo.cleanup.sliding import contact_foot_sliding
from genmo.cleanup.smoothing import smooth_time

__all__ = ["clean_foot_skate", "contact_foot_sliding", "smooth_time", "two_bone_ik"]
