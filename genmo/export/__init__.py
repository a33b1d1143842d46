"""Exports of a Motion to the tools users work in: BVH, animated GLB, mp4 (with music)."""
