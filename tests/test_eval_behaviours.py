"""Behaviour checks (physical tests of generated motion) and the denoising profile."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from genmo.body.kinematics import forward_kinematics
from genmo.cli import main
from genmo.data.clip import default_rest_joints
from genmo.eval.behaviours import BEHAVIOURS, L_SHOULDER, L_WRIST, R_SHOULDER, R_WRIST, check
from tests.test_eval_tasks import _write_corpus

FRAMES = 120


def standing(frames: int = FRAMES) -> np.ndarray:
    """World joints of the rest pose standing still at the origin, facing +Z: (T, 24, 3)."""
    rest = torch.as_tensor(default_rest_joints(), dtype=torch.float32)
    rots = torch.eye(3).expand(frames, 24, 3, 3)
    _, joints = forward_kinematics(rots, rest, rest[0].expand(frames, 3))
    joints = joints.numpy().astype(np.float64)
    return joints - [0.0, joints[..., 1].min(), 0.0]


def moved(joints: np.ndarray, velocity: tuple[float, float, float]) -> np.ndarray:
    """The same joints translated at a constant velocity (m/s)."""
    t = np.arange(len(joints))[:, None, None] / 30.0
    return joints + t * np.asarray(velocity)


def passing(joints: np.ndarray) -> set[str]:
    return {action for action in BEHAVIOURS if check(action, joints)[0]}


def test_standing_still_passes_only_stand_still() -> None:
    assert passing(standing()) == {"stand still"}


def test_travel_direction_is_read_in_the_body_frame() -> None:
    body = standing()
    left = np.sign(body[0, 1, 0] - body[0, 2, 0])  # the left hip's side of X
    assert "walk" in passing(moved(body, (0.0, 0.0, 1.2)))
    assert "run" in passing(moved(body, (0.0, 0.0, 3.5))) and "walk" not in passing(moved(body, (0.0, 0.0, 3.5)))
    assert "walk backwards" in passing(moved(body, (0.0, 0.0, -0.8)))
    assert "side step left" in passing(moved(body, (0.5 * left, 0.0, 0.0)))
    assert "side step right" in passing(moved(body, (-0.5 * left, 0.0, 0.0)))
    assert "stand still" not in passing(moved(body, (0.0, 0.0, 1.2)))


def test_turn_sign_follows_the_left_hand_side() -> None:
    body = standing()
    angles = np.linspace(0, np.pi / 2, FRAMES)
    left = np.sign(body[0, 1, 0] - body[0, 2, 0])
    turned = np.empty_like(body)
    for i, a in enumerate(angles * left):  # rotating +Z towards the left side is a left turn
        c, s = np.cos(a), np.sin(a)
        turned[i] = body[i] @ np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]])
    assert "turn left" in passing(turned) and "turn right" not in passing(turned)
    for i, a in enumerate(-angles * left):
        c, s = np.cos(a), np.sin(a)
        turned[i] = body[i] @ np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]])
    assert "turn right" in passing(turned) and "turn left" not in passing(turned)


def test_arm_tests_tell_left_from_right_and_raise_from_wave() -> None:
    body = standing()
    raise_right = body.copy()
    raise_right[:, R_WRIST] = body[:, R_SHOULDER] + [0.0, 0.4, 0.0]
    got = passing(raise_right)
    assert "raise right" in got and "raise left" not in got and "raise both" not in got
    assert "wave right" not in got  # a still raised hand is not a wave
    wave_left = body.copy()
    sway = 0.15 * np.sin(np.arange(FRAMES) / 4.0)
    wave_left[:, L_WRIST] = body[:, L_SHOULDER] + np.stack([sway, np.full(FRAMES, 0.4), np.zeros(FRAMES)], -1)
    got = passing(wave_left)
    assert "wave left" in got and "wave right" not in got and "raise left" in got
    both = raise_right.copy()
    both[:, L_WRIST] = body[:, L_SHOULDER] + [0.0, 0.4, 0.0]
    assert "raise both" in passing(both)


def test_an_action_that_does_not_ask_for_a_turn_fails_when_the_body_turns() -> None:
    body = standing()
    body[:, R_WRIST] = body[:, R_SHOULDER] + [0.0, 0.4, 0.0]
    left = np.sign(body[0, 1, 0] - body[0, 2, 0])
    pelvis = body[:, :1].copy()
    turned = np.empty_like(body)
    for i, a in enumerate(np.linspace(0, np.pi / 2, FRAMES) * -left):  # the hand up while turning right 90 deg
        c, s = np.cos(a), np.sin(a)
        turned[i] = (body[i] - pelvis[i]) @ np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]]) + pelvis[i]
    assert "raise right" in passing(body)
    ok, detail = check("raise right", turned)
    assert not ok and "unasked" in detail
    assert "turn right" in passing(turned)


def test_jump_kick_bow_and_punch() -> None:
    body = standing()
    jump = body.copy()
    jump[40:50] += [0.0, 0.3, 0.0]
    assert "jump" in passing(jump) and "jump" not in passing(body)
    kick = body.copy()
    kick[40:50, [7, 10]] += [0.0, 0.5, 0.3]
    assert "kick" in passing(kick) and "jump" not in passing(kick)
    bow = body.copy()
    bow[40:80, [12, 15]] += [0.0, -0.3, 0.2]
    assert "bow" in passing(bow)
    punch = body.copy()
    punch[40:50, R_WRIST] = body[40:50, R_SHOULDER] + [0.0, 0.0, 0.55]
    assert "punch" in passing(punch) and "punch" not in passing(body)


def test_a_body_that_turns_upside_down_fails_every_action() -> None:
    jump = standing()
    jump[40:50] += [0.0, 0.3, 0.0]
    flip = jump.copy()
    flip[40:50, 15] = flip[40:50, 0] - [0.0, 0.4, 0.0]  # the head under the pelvis mid-jump, as in a backflip
    assert "jump" in passing(jump)
    assert passing(flip) == set()
    assert "upside down" in check("jump", flip)[1]


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    return _write_corpus(tmp_path_factory.mktemp("corpus") / "corpus")


def test_eval_denoising_profile_and_plot(corpus_dir, tmp_path, capsys) -> None:
    plot = tmp_path / "profile.png"
    code = main(["eval", "--data", str(corpus_dir), "--tiny-random", "--quick", "--json", "--denoising",
                 "--plot", str(plot)])
    assert code == 0
    den = json.loads(capsys.readouterr().out)["denoising"]
    assert den["t"] == [1, 10, 100, 300, 500, 999] and den["windows"] > 0
    assert den["copy_xt"][0] < den["copy_xt"][-1]  # copying x_t is good at small t, bad at large t
    assert den["mean"][0] == den["mean"][-1]
    assert isinstance(den["beats_every_baseline"], bool) and not den["beats_every_baseline"]  # untrained
    assert plot.stat().st_size > 1000


def test_eval_behaviours_table(corpus_dir, tmp_path, capsys) -> None:
    out = tmp_path / "report.md"
    code = main(["eval", "--data", str(corpus_dir), "--tiny-random", "--quick", "--json", "--behaviours",
                 "--out", str(out)])
    assert code == 0
    beh = json.loads(capsys.readouterr().out)["behaviours"]
    assert set(beh["actions"]) == set(BEHAVIOURS) and beh["total"] == len(BEHAVIOURS)
    assert all(len(row["seeds"]) == 2 for row in beh["actions"].values())
    assert "| raise left | a person raises the left hand |" in out.read_text()
    assert beh["seed_diversity_mm"] > 0  # an untrained model with a fresh seed draws a different motion
