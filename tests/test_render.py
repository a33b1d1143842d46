"""Offscreen body rendering, camera conventions and MP4 writing."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import imageio
import imageio_ffmpeg
import numpy as np
import pytest
import torch

from genmo.body import DefaultBody
from genmo.body.skeleton import joint_index
from genmo.render import BodyRenderer, FollowView, follow_camera_poses, render_motion, write_mp4
from genmo.render.renderer import BACKGROUND, SHADOW_STRENGTH, screen_box

W, H = 320, 240


@pytest.fixture(scope="module")
def body() -> DefaultBody:
    return DefaultBody()


@pytest.fixture(scope="module")
def renderer(body: DefaultBody):
    with BodyRenderer(body.faces, body.num_vertices, W, H, ground=False) as r:
        yield r


def _standing(body: DefaultBody, pose: torch.Tensor | None = None) -> np.ndarray:
    """Posed vertices lifted so the rest-pose soles touch y = 0."""
    lift = -float(body.rest_vertices()[:, 1].min())
    out = body(pose if pose is not None else torch.zeros(72), trans=torch.tensor([0.0, lift, 0.0]))
    return out.vertices.numpy()


def _body_mask(img: np.ndarray) -> np.ndarray:
    return np.abs(img.astype(int) - np.array(BACKGROUND) * 255).sum(-1) > 30


def test_front_view_shows_body_in_the_middle(renderer: BodyRenderer, body: DefaultBody) -> None:
    verts = _standing(body)
    cam = follow_camera_poses(verts.mean(0)[None], 30.0)[0]
    img = renderer.render(verts, cam)
    assert img.shape == (H, W, 3) and img.dtype == np.uint8
    mask = _body_mask(img)
    assert mask[H // 3 : 2 * H // 3, W // 2 - 10 : W // 2 + 10].mean() > 0.5
    assert not mask[:, :20].any() and not mask[:5].any()  # background at the borders


def test_left_arm_appears_on_image_right_from_the_front(renderer: BodyRenderer, body: DefaultBody) -> None:
    pose = torch.zeros(72)
    pose[3 * joint_index("left_shoulder") + 2] = 1.2  # raise the left arm (at +X) upwards
    pose[3 * joint_index("right_shoulder") + 2] = 1.2  # lower the right arm
    verts = _standing(body, pose)
    cam = follow_camera_poses(verts.mean(0)[None], 30.0)[0]
    mask = _body_mask(renderer.render(verts, cam))
    top = mask[: H // 4]
    assert top[:, W // 2 + 15 :].sum() > 50  # raised left hand: upper right of the image
    assert top[:, : W // 2 - 15].sum() == 0


def test_overlay_uses_opencv_extrinsics(renderer: BodyRenderer, body: DefaultBody) -> None:
    verts = _standing(body)
    pelvis = body.rest_joints()[0].numpy() + np.array([0.0, -float(body.rest_vertices()[:, 1].min()), 0.0])
    # camera 4 m in front of the body (at +Z), looking back at it: OpenCV axes x right, y down, z forward
    cam_R = np.diag([1.0, -1.0, -1.0])  # rows: camera right (+X), down (-Y), forward (-Z) in world axes
    centre = np.array([0.0, 1.0, 4.0])
    cam_t = -cam_R @ centre
    focal = 300.0
    rgba = renderer.render_overlay(verts, cam_R, cam_t, focal)
    assert rgba.shape == (H, W, 4)
    p = cam_R @ pelvis + cam_t
    u, v = focal * p[0] / p[2] + W / 2, focal * p[1] / p[2] + H / 2
    assert rgba[int(v), int(u), 3] == 255
    assert rgba[:10, :10, 3].max() == 0
    image = np.full((H, W, 3), 17, np.uint8)
    blended = renderer.render_overlay(verts, cam_R, cam_t, focal, image)
    assert (blended[:10, :10] == 17).all() and (blended[int(v), int(u)] != 17).any()
    # raise the left arm only: its hand shows on the image's right, nothing at the mirrored pixel
    pose = torch.zeros(72)
    pose[3 * joint_index("left_shoulder") + 2] = 1.0
    pose[3 * joint_index("right_shoulder") + 2] = 1.2
    lift = -float(body.rest_vertices()[:, 1].min())
    posed = body(pose, trans=torch.tensor([0.0, lift, 0.0]))
    rgba = renderer.render_overlay(posed.vertices.numpy(), cam_R, cam_t, focal)
    q = cam_R @ posed.joints[joint_index("left_wrist")].numpy() + cam_t
    u, v = focal * q[0] / q[2] + W / 2, focal * q[1] / q[2] + H / 2
    assert u > W / 2 + 20 and rgba[int(v), int(u), 3] == 255 and rgba[int(v), int(W - u), 3] == 0


def test_ground_and_shadows_render(body: DefaultBody) -> None:
    verts = _standing(body)
    cam = follow_camera_poses(verts.mean(0)[None], 30.0, FollowView(azimuth_deg=30))[0]
    images = {}
    for shadows in (False, True):
        with BodyRenderer(body.faces, body.num_vertices, W, H, shadows=shadows) as r:
            images[shadows] = r.render(verts, cam).astype(int)
    bottom = images[False][-20:].reshape(-1, 3)
    assert len(np.unique(bottom // 8, axis=0)) >= 2  # checkerboard tiles below the body
    assert (images[False][:10] == np.round(np.array(BACKGROUND) * 255)).all()  # backdrop above the horizon
    darker = images[True].sum(-1) < images[False].sum(-1) - 40
    assert darker.sum() > 200 and not darker[: H // 2].any()  # the shadow lies on the ground only
    with BodyRenderer(body.faces, body.num_vertices, W, H) as r, pytest.raises(ValueError, match="vertices"):
        r.render(verts[:10], cam)


def test_screen_box_holds_every_body_pixel(renderer: BodyRenderer, body: DefaultBody) -> None:
    verts = _standing(body)
    for view in (FollowView(), FollowView(azimuth_deg=70, distance=2.0)):
        cam = follow_camera_poses(verts.mean(0)[None], 30.0, view)[0]
        mask = _body_mask(renderer.render(verts, cam, view.yfov_deg))
        rows, cols = screen_box(verts, cam, np.radians(view.yfov_deg), W, H)
        inside = np.zeros_like(mask)
        inside[rows, cols] = True
        assert mask.sum() > 100 and not (mask & ~inside).any()
        assert inside.mean() < 0.5  # a box around the body, not the whole image


def test_screen_box_out_of_view_and_through_the_near_plane(body: DefaultBody) -> None:
    verts = _standing(body)
    cam = follow_camera_poses(verts.mean(0)[None], 30.0)[0]
    behind = cam.copy()
    behind[:3, 3] = verts.mean(0) - 3.0 * cam[:3, 2]  # the camera looks away from the body
    assert screen_box(verts, behind, np.radians(40.0), W, H) is None
    aside = verts + 50.0 * cam[:3, 0]  # far to the camera's right
    assert screen_box(aside, cam, np.radians(40.0), W, H) is None
    inside = cam.copy()
    inside[:3, 3] = verts.mean(0)  # some vertices in front, some behind: anything may show
    assert screen_box(verts, inside, np.radians(40.0), W, H) == (slice(0, H), slice(0, W))


def test_ground_render_matches_a_whole_image_composite(body: DefaultBody) -> None:
    """The boxed draw gives the pixels of drawing the whole image and pasting the body over the ground."""
    verts = _standing(body)
    cam = follow_camera_poses(verts.mean(0)[None], 30.0, FollowView(azimuth_deg=-40))[0]
    with BodyRenderer(body.faces, body.num_vertices, W, H, shadows=True) as r:
        got = r.render(verts, cam)
        color, depth = r._renderer.render(r.scene)  # the whole image, as pyrender draws it
        expected = r._ground.paint(cam, np.radians(40.0))
        r._ground.darken(expected, verts, r._light_dir, cam, np.radians(40.0), SHADOW_STRENGTH)
        np.copyto(expected, color, where=(depth > 0)[..., None])
    assert (depth > 0).sum() > 500 and np.array_equal(got, expected)


def test_close_skips_a_full_garbage_collection(body: DefaultBody, monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    collections = []
    monkeypatch.setattr(gc, "collect", lambda *a: collections.append(a) or 0)
    r = BodyRenderer(body.faces, body.num_vertices, W, H)
    r.render(_standing(body), follow_camera_poses(np.zeros((1, 3)), 30.0)[0])
    r.close()
    r.close()
    del r
    assert collections == []


def _tone(path: Path, seconds: float, rate: int = 16000) -> None:
    t = np.arange(int(seconds * rate)) / rate
    data = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(data.tobytes())


def _streams(path: Path) -> str:
    proc = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    return proc.stderr


def test_write_mp4_frame_count_fps_and_audio(tmp_path: Path) -> None:
    frames = [np.full((H, W, 3), i * 10, np.uint8) for i in range(25)]
    out = tmp_path / "clip.mp4"
    assert write_mp4(frames, 25.0, out) == 25
    reader = imageio.get_reader(out)
    assert reader.get_meta_data()["fps"] == pytest.approx(25.0)
    assert reader.count_frames() == 25
    info = _streams(out)
    assert "h264" in info and "yuv420p" in info and "Audio" not in info

    audio = tmp_path / "tone.wav"
    _tone(audio, 3.0)
    out_audio = tmp_path / "clip_audio.mp4"
    write_mp4(iter(frames), 25.0, out_audio, audio_path=audio, audio_offset=0.5)
    info = _streams(out_audio)
    assert "Audio: aac" in info
    assert imageio.get_reader(out_audio).count_frames() == 25
    with pytest.raises(ValueError, match="fps"):
        write_mp4(frames, 0, out)
    with pytest.raises(ValueError, match="frame 1"):
        write_mp4([frames[0], np.zeros((10, 10, 3), np.uint8)], 25, out)


def test_render_motion_writes_video(tmp_path: Path, body: DefaultBody) -> None:
    from genmo.motion.motion import Motion

    n = 8
    poses = np.zeros((n, 72), np.float32)
    poses[:, 3 * joint_index("left_hip")] = np.linspace(-0.4, 0.4, n)
    trans = np.zeros((n, 3), np.float32)
    trans[:, 1] = -float(body.rest_vertices()[:, 1].min()) - float(body.rest_joints()[0, 1])
    trans[:, 2] = np.linspace(0, 0.5, n)
    cam_R = np.repeat(np.diag([1.0, -1.0, -1.0])[None], n, axis=0)
    cam_t = np.repeat(-(cam_R[0] @ np.array([0.0, 1.0, 4.0]))[None], n, axis=0)
    motion = Motion(poses=poses, trans=trans, betas=np.zeros(10), fps=20.0, cam_R=cam_R, cam_t=cam_t)
    out = tmp_path / "motion.mp4"
    assert render_motion(motion, body, out, width=W, height=H, shadows=True) == n
    reader = imageio.get_reader(out)
    assert reader.count_frames() == n and reader.get_meta_data()["fps"] == pytest.approx(20.0)
    frame = reader.get_data(n // 2)
    assert _body_mask(frame)[H // 3 : 2 * H // 3, W // 2 - 8 : W // 2 + 8].mean() > 0.4

    video = [np.full((H, W, 3), 30, np.uint8)] * n
    out = tmp_path / "overlay.mp4"
    assert render_motion(motion, body, out, width=W, height=H, camera="motion", focal=300.0, background=video) == n
    frame = imageio.get_reader(out).get_data(0)
    assert np.abs(frame[:10, :10].astype(int) - 30).max() < 6  # the video frame shows around the body
    body_px = np.abs(frame.astype(int) - 30).sum(-1) > 60
    assert body_px.sum() > 1500 and body_px[:, W // 4 : 3 * W // 4].sum() > 0.95 * body_px.sum()
    with pytest.raises(ValueError, match="focal"):
        render_motion(motion, body, out, camera="motion")
