"""Motion clean-up: foot-skate removal with leg IK, and the foot-sliding measure it is judged by."""

from genmo.cleanup.footskate import clean_foot_skate, two_bone_ik
from genmo.cleanup.sliding import contact_foot_sliding

__all__ = ["clean_foot_skate", "contact_foot_sliding", "two_bone_ik"]
