import numpy as np
import pytest
import torch

from genmo.body.rotations import axis_angle_to_matrix
from genmo.cli import main
from genmo.conditions.pose_library import library_pose
from genmo.motion.representation import LAYOUT
from genmo.pipeline import GenmoPipeline
from genmo.spec import load_spec, spec_for_observation


@pytest.fixture(scope="module")
def pipe():
    return GenmoPipeline.tiny_random()


def _spec(tracks, duration=2.0, fps=30):
    return load_spec({"version": 1, "fps": fps, "duration": duration, "tracks": tracks}, check_files=False)


def test_unconditional_timeline_gives_motion_of_its_duration(pipe):
    result = pipe(_spec([], duration=1.5), steps=2, seed=1)
    m = result.motion
    assert m.poses.shape == (45, 72) and m.joints.shape == (45, 24, 3) and m.contacts.shape == (45, 6)
    assert np.isfinite(m.poses).all() and m.cam_R is None
    assert any("unconditional" in note for note in result.notes)


def test_same_seed_same_motion_other_seed_differs(pipe):
    spec = _spec([])
    a, b, c = (pipe(spec, steps=3, seed=s).motion.poses for s in (7, 7, 8))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-4


def test_keyframe_pose_is_reproduced_exactly(pipe):
    result = pipe(_spec([{"kind": "keyframe", "time": 1.0, "path": "library:arms_up"}]), steps=3)
    want = axis_angle_to_matrix(torch.from_numpy(library_pose("arms_up")).reshape(24, 3))[1:]
    got = axis_angle_to_matrix(torch.from_numpy(result.motion.poses[30]).reshape(24, 3))[1:]
    assert (want - got).abs().max() < 1e-4


def test_text_windows_and_output_fps(pipe):
    spec = _spec([{"kind": "text", "start": 0.0, "end": 1.0, "text": "a person waves"},
                  {"kind": "text", "start": 1.0, "end": 2.0, "text": "a person sits down"}], fps=20)
    result = pipe(spec, steps=1)
    assert result.text_windows.shape == (2, 60)
    assert result.text_windows[0, :30].all() and not result.text_windows[0, 30:].any()
    assert result.motion.fps == 20 and abs(result.motion.num_frames - 40) <= 1


def test_estimation_from_keypoints_file_has_a_camera(pipe, tmp_path):
    rng = np.random.default_rng(0)
    kp = np.concatenate([rng.uniform(300, 500, (45, 17, 2)), np.full((45, 17, 1), 0.9)], -1).astype(np.float32)
    path = tmp_path / "kp.npz"
    np.savez(path, keypoints=kp, image_size=np.array([800, 600]), fps=np.array(15.0))
    spec = spec_for_observation("keypoints2d", path)
    assert spec.duration == pytest.approx(3.0)
    result = pipe(spec, steps=1)
    assert result.motion.num_frames == 90
    assert result.motion.cam_R.shape == (90, 3, 3)
    assert result.condition_masks["kp2d"].sum() == 90


def test_cli_generate_writes_motion_and_reports_bad_input(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(GenmoPipeline, "from_pretrained", classmethod(lambda cls, path=None, device=None: cls.tiny_random()))
    spec = tmp_path / "spec.json"
    spec.write_text('{"version": 1, "duration": 1.0, "tracks": [{"kind": "keyframe", "time": 0.5, "path": "library:t_pose"}]}')
    assert main(["generate", str(spec), "--out", str(tmp_path / "m.npz"), "--steps", "2"]) == 0
    assert (tmp_path / "m.npz").is_file()
    spec.write_text('{"version": 1, "duration": 1.0, "tracks": [{"kind": "dance", "start": 0, "end": 1}]}')
    capsys.readouterr()
    assert main(["generate", str(spec), "--out", str(tmp_path / "m2.npz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "dance" in err[0]


def test_exported_half_precision_checkpoint_loads(tmp_path):
    from genmo.model.checkpoint import CONFIG_FILE, EMA_FILE, NORMALIZER_FILE, export_checkpoint, save_weights

    tiny = GenmoPipeline.tiny_random()
    run = tmp_path / "run"
    run.mkdir()
    tiny.config.save(run / CONFIG_FILE)
    save_weights(tiny.model, run / EMA_FILE)
    tiny.normalizer.save(run / NORMALIZER_FILE)
    loaded = GenmoPipeline.from_pretrained(export_checkpoint(run, tmp_path / "ship"))
    for name, param in tiny.model.state_dict().items():
        assert (loaded.model.state_dict()[name] - param).abs().max() < 1e-2 * (1 + param.abs().max())
    assert loaded.model.state_dict()[name].dtype == torch.float32


def test_export_keeps_the_sampler_of_the_checkpoint_it_is_told_to(tmp_path):
    from genmo.model.checkpoint import CONFIG_FILE, EMA_FILE, NORMALIZER_FILE, export_checkpoint, save_weights
    from genmo.model.config import GenmoConfig

    tiny = GenmoPipeline.tiny_random()
    run, shipped = tmp_path / "run", tmp_path / "shipped"
    for folder in (run, shipped):
        folder.mkdir()
    tiny.config.save(run / CONFIG_FILE)
    save_weights(tiny.model, run / EMA_FILE)
    tiny.normalizer.save(run / NORMALIZER_FILE)
    sampler = GenmoConfig.from_dict(tiny.config.to_dict())
    sampler.diffusion.smooth_sigma, sampler.diffusion.floor_lift, sampler.diffusion.music_guidance_scale = 2.0, True, 1.5
    sampler.diffusion.heading_guidance = 1.25
    sampler.model.d_model = tiny.config.model.d_model * 2  # only sampling settings may travel
    sampler.save(shipped / CONFIG_FILE)
    plain = GenmoConfig.load(export_checkpoint(run, tmp_path / "plain") / CONFIG_FILE)
    kept = GenmoConfig.load(export_checkpoint(run, tmp_path / "kept", sampler_from=shipped) / CONFIG_FILE)
    assert plain.diffusion == tiny.config.diffusion
    assert (kept.diffusion.smooth_sigma, kept.diffusion.floor_lift, kept.diffusion.music_guidance_scale) == (2.0, True, 1.5)
    assert kept.diffusion.heading_guidance == 1.25
    assert kept.model == tiny.config.model and kept.train == tiny.config.train
    assert GenmoPipeline.from_pretrained(tmp_path / "kept").sampler.guidance_caps == ((LAYOUT["yaw_vel"], 1.25),)
    assert GenmoPipeline.from_pretrained(tmp_path / "plain").sampler.guidance_caps == ()


def test_eta_is_honoured_and_defaults_to_the_checkpoint(pipe):
    spec = _spec([{"kind": "text", "start": 0.0, "end": 2.0, "text": "a person waves"}])
    default, zero = pipe(spec, steps=4, seed=3).motion.poses, pipe(spec, steps=4, seed=3, eta=0.0).motion.poses
    noisy, again = (pipe(spec, steps=4, seed=3, eta=1.0).motion.poses for _ in range(2))
    assert pipe.eta == pipe.config.diffusion.eta == 0.0
    np.testing.assert_array_equal(default, zero)
    np.testing.assert_array_equal(noisy, again)
    assert np.abs(noisy - zero).max() > 1e-4
