"""Offscreen rendering of posed bodies (pyrender + OSMesa) and MP4 writing."""

from genmo.render.motion_video import motion_vertices, render_motion
from genmo.render.renderer import BodyRenderer, FollowView, cv_extrinsics_to_gl_pose, follow_camera_poses, look_at
from genmo.render.video import write_mp4

__all__ = [
    "BodyRenderer",
    "FollowView",
    "cv_extrinsics_to_gl_pose",
    "follow_camera_poses",
    "look_at",
    "motion_vertices",
    "render_motion",
    "write_mp4",
]
