import numpy as np
import pytest

from genmo.cli import main
from genmo.export.glb import validate_glb
from genmo.motion.bvh import read_bvh
from genmo.motion.motion import Motion
from tests.test_export_glb import _motion


@pytest.fixture()
def motion_file(tmp_path):
    motion = _motion(frames=20)
    motion.contacts = np.zeros((20, 6), np.float32)
    motion.contacts[5:15, :4] = 1
    return motion.save(tmp_path / "m.npz")


@pytest.mark.parametrize("fmt", ["bvh", "glb", "npz"])
def test_cli_exports_each_format(tmp_path, motion_file, fmt, capsys):
    out = tmp_path / f"out.{fmt}"
    assert main(["export", str(motion_file), "--to", fmt, "--out", str(out), "--body", "default"]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    if fmt == "bvh":
        assert read_bvh(out).num_frames == 20
    elif fmt == "glb":
        assert validate_glb(out)["frames"] == 20
    else:
        assert Motion.load(out).num_frames == 20


def test_cli_cleanup_reports_sliding_and_format_from_suffix(tmp_path, motion_file, capsys):
    out = tmp_path / "clean.bvh"
    assert main(["export", str(motion_file), "--out", str(out), "--cleanup", "--units", "cm", "--body", "default"]) == 0
    text = capsys.readouterr().out
    before, after = (float(v) for v in text.split("frames: ")[1].split(" mm")[0].split(" -> "))
    assert after < before
    assert read_bvh(out).guess_scale() == 0.01


def test_cli_bad_inputs_exit_2_with_one_line(tmp_path, motion_file, capsys):
    arrays = dict(np.load(motion_file))
    np.savez(tmp_path / "nokey.npz", **{k: v for k, v in arrays.items() if k != "trans"})
    arrays["poses"] = arrays["poses"].copy()
    arrays["poses"][2, 5] = np.nan
    np.savez(tmp_path / "nan.npz", **arrays)
    np.savez(tmp_path / "empty.npz", poses=np.zeros((0, 72)), trans=np.zeros((0, 3)), fps=np.array(30.0))
    cases = [("nokey.npz", "out.bvh", "lacks key 'trans'"), ("nan.npz", "out.glb", "'poses' contains NaN"),
             ("empty.npz", "out.bvh", "zero frames"), ("nokey.npz", "out.fbx", "--to"),
             ("missing.npz", "out.bvh", "cannot read motion file")]
    for src, out, message in cases:
        assert main(["export", str(tmp_path / src), "--out", str(tmp_path / out), "--body", "default"]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, err
        assert src in err or message == "--to"
