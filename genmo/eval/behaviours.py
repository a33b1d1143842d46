"""Behaviour checks: does generated motion do what its prompt says? Physical tests on the joints,
no learned evaluator.

Each action of the training vocabulary gets a prompt and a test on the world joints of a
generated clip (Y up; the body starts at the origin facing +Z, its left towards +X). The tests
read what a person watching would: which wrist rises above which shoulder, how far and which
way the pelvis travels relative to the body's initial facing, how far the heading turns, whether
both feet leave the floor, a foot rising, the head dropping towards the pelvis, standing still;
and every test fails a body that turns upside down, and every action but the turns and the kick
(the corpus's real kicks spin) fails a body whose heading turns further than ``MAX_UNASKED_TURN_DEG``
(the real clips of those actions turn at most 40 degrees in 4 s). An action passes when its test
holds on at least ``min_pass`` of ``seeds`` samples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from genmo.spec import parse_spec

PELVIS, L_HIP, R_HIP, L_ANKLE, R_ANKLE, L_FOOT, R_FOOT = 0, 1, 2, 7, 8, 10, 11
HEAD, L_SHOULDER, R_SHOULDER, L_WRIST, R_WRIST = 15, 16, 17, 20, 21
FPS = 30.0


@dataclass
class BehaviourSettings:
    seconds: float = 4.0
    seeds: tuple[int, ...] = (0, 1, 2)
    min_pass: int = 2
    steps: int = 10
    guidance: float | None = None  # None: the sampler's default (genmo.spec.DEFAULT_GUIDANCE)


class Kinematics:
    """Derived quantities of world joints (T, 24, 3) used by the tests."""

    def __init__(self, joints: np.ndarray):
        self.j = np.asarray(joints, dtype=np.float64)
        lr = self.j[0, L_HIP] - self.j[0, R_HIP]
        lr[1] = 0.0
        self.left = lr / max(np.linalg.norm(lr), 1e-6)
        self.forward = np.cross(self.left, [0.0, 1.0, 0.0])  # left x up: the initial facing
        self.floor = float(self.j[:, [L_FOOT, R_FOOT, L_ANKLE, R_ANKLE], 1].min())

    def travel(self) -> tuple[float, float]:
        """Pelvis displacement (forward, left) in metres, in the initial body frame."""
        d = self.j[-1, PELVIS] - self.j[0, PELVIS]
        return float(d @ self.forward), float(d @ self.left)

    def speed(self) -> float:
        """Mean horizontal pelvis speed (m/s)."""
        step = np.diff(self.j[:, PELVIS, [0, 2]], axis=0)
        return float(np.linalg.norm(step, axis=-1).mean() * FPS)

    def turn_deg(self) -> float:
        """Heading change first -> last frame in degrees (positive = towards the left)."""
        lr = self.j[:, L_HIP] - self.j[:, R_HIP]
        fwd = np.cross(lr, [0.0, 1.0, 0.0])
        yaw = np.unwrap(np.arctan2(fwd[:, 0], fwd[:, 2]))
        return float(np.degrees(yaw[-1] - yaw[0]))

    def raised(self, wrist: int, shoulder: int) -> float:
        """Share of frames with the wrist above the shoulder."""
        return float((self.j[:, wrist, 1] > self.j[:, shoulder, 1]).mean())

    def wrist_sway(self, wrist: int) -> float:
        """Range (m) of the wrist's sideways position relative to the pelvis while above the shoulder."""
        shoulder = L_SHOULDER if wrist == L_WRIST else R_SHOULDER
        up = self.j[:, wrist, 1] > self.j[:, shoulder, 1]
        if up.sum() < 3:
            return 0.0
        side = (self.j[up, wrist] - self.j[up, PELVIS]) @ self.left
        return float(side.max() - side.min())

    def lowest_head(self) -> float:
        """Lowest height (m) of the head above the pelvis over the clip (negative: upside down)."""
        return float((self.j[:, HEAD, 1] - self.j[:, PELVIS, 1]).min())

    def head_drop(self) -> float:
        """Largest drop (m) of the head's height above the pelvis against the first frame."""
        rel = self.j[:, HEAD, 1] - self.j[:, PELVIS, 1]
        return float(rel[0] - rel.min())

    def foot_rise(self) -> float:
        """Highest ankle above the floor (m)."""
        return float(self.j[:, [L_ANKLE, R_ANKLE], 1].max() - self.floor)

    def airborne_frames(self, clearance: float = 0.08) -> int:
        """Frames on which the lower foot point is more than ``clearance`` above the floor."""
        low = self.j[:, [L_FOOT, R_FOOT, L_ANKLE, R_ANKLE], 1].min(axis=1)
        return int((low - self.floor > clearance).sum())

    def reach_forward(self) -> float:
        """Largest forward reach (m) of a wrist ahead of its shoulder near shoulder height."""
        best = 0.0
        for wrist, shoulder in ((L_WRIST, L_SHOULDER), (R_WRIST, R_SHOULDER)):
            d = self.j[:, wrist] - self.j[:, shoulder]
            fwd = np.cross(self.j[:, L_HIP] - self.j[:, R_HIP], [0.0, 1.0, 0.0])
            fwd /= np.linalg.norm(fwd, axis=-1, keepdims=True).clip(1e-6)
            ahead = (d * fwd).sum(-1)
            level = np.abs(d[:, 1]) < 0.25
            if level.any():
                best = max(best, float(ahead[level].max()))
        return best

    def joint_speed(self) -> float:
        """Mean joint speed relative to the pelvis (m/s)."""
        rel = self.j - self.j[:, :1]
        return float(np.linalg.norm(np.diff(rel, axis=0), axis=-1).mean() * FPS)


def _one_arm_up(up: int, up_shoulder: int, down: int, down_shoulder: int) -> Callable[[Kinematics], tuple[bool, str]]:
    def test(k: Kinematics) -> tuple[bool, str]:
        a, b = k.raised(up, up_shoulder), k.raised(down, down_shoulder)
        return a >= 0.25 and b < 0.25, f"up {a:.2f}, other {b:.2f}"
    return test


def _wave(up: int, up_shoulder: int, down: int | None, down_shoulder: int | None) -> Callable[[Kinematics], tuple[bool, str]]:
    def test(k: Kinematics) -> tuple[bool, str]:
        a, sway = k.raised(up, up_shoulder), k.wrist_sway(up)
        other = k.raised(down, down_shoulder) if down is not None else 1.0
        ok = a >= 0.2 and sway >= 0.1 and (other < 0.25 if down is not None else other >= 0.2)
        return ok, f"up {a:.2f}, sway {sway:.2f} m" + (f", other {other:.2f}" if down is not None else "")
    return test


def _both_up(k: Kinematics) -> tuple[bool, str]:
    a, b = k.raised(L_WRIST, L_SHOULDER), k.raised(R_WRIST, R_SHOULDER)
    return min(a, b) >= 0.25, f"left {a:.2f}, right {b:.2f}"


def _walk(k: Kinematics) -> tuple[bool, str]:
    fwd, _ = k.travel()
    return fwd >= 1.0 and k.speed() < 2.0, f"forward {fwd:.2f} m, {k.speed():.2f} m/s"


def _run(k: Kinematics) -> tuple[bool, str]:
    fwd, _ = k.travel()
    return fwd >= 3.0 and k.speed() >= 1.8, f"forward {fwd:.2f} m, {k.speed():.2f} m/s"


def _backwards(k: Kinematics) -> tuple[bool, str]:
    fwd, side = k.travel()
    return fwd <= -0.5 and abs(side) < abs(fwd), f"forward {fwd:.2f} m, left {side:.2f} m"


def _side(sign: float) -> Callable[[Kinematics], tuple[bool, str]]:
    def test(k: Kinematics) -> tuple[bool, str]:
        fwd, side = k.travel()
        return sign * side >= 0.5, f"left {side:.2f} m, forward {fwd:.2f} m"
    return test


def _turn(sign: float) -> Callable[[Kinematics], tuple[bool, str]]:
    def test(k: Kinematics) -> tuple[bool, str]:
        turn = k.turn_deg()
        return sign * turn >= 45.0, f"turn {turn:+.0f} deg"
    return test


def _bow(k: Kinematics) -> tuple[bool, str]:
    drop, fwd = k.head_drop(), k.travel()[0]
    return drop >= 0.15 and abs(fwd) < 0.5, f"head drop {drop:.2f} m"


def _kick(k: Kinematics) -> tuple[bool, str]:
    rise = k.foot_rise()
    return rise >= 0.35, f"ankle rise {rise:.2f} m"


def _punch(k: Kinematics) -> tuple[bool, str]:
    reach = k.reach_forward()
    return reach >= 0.4, f"forward reach {reach:.2f} m"


def _jump(k: Kinematics) -> tuple[bool, str]:
    frames = k.airborne_frames()
    return frames >= 3, f"{frames} airborne frames"


def _stand(k: Kinematics) -> tuple[bool, str]:
    fwd, side = k.travel()
    dist, motion = float(np.hypot(fwd, side)), k.joint_speed()
    return dist < 0.3 and motion < 0.25, f"travel {dist:.2f} m, joint speed {motion:.2f} m/s"


# action -> (prompt, test). Prompts are phrases of the training vocabulary (genmo.data.labels).
BEHAVIOURS: dict[str, tuple[str, Callable[[Kinematics], tuple[bool, str]]]] = {
    "walk": ("a person walks forward", _walk),
    "run": ("a person runs forward", _run),
    "walk backwards": ("a person walks backwards", _backwards),
    "side step left": ("a person sidesteps to the left", _side(+1.0)),
    "side step right": ("a person sidesteps to the right", _side(-1.0)),
    "turn left": ("a person walks and turns left", _turn(+1.0)),
    "turn right": ("a person walks and turns right", _turn(-1.0)),
    "wave left": ("a person waves with the left hand", _wave(L_WRIST, L_SHOULDER, R_WRIST, R_SHOULDER)),
    "wave right": ("a person waves with the right hand", _wave(R_WRIST, R_SHOULDER, L_WRIST, L_SHOULDER)),
    "wave both": ("a person waves with both hands", _wave(L_WRIST, L_SHOULDER, None, None)),
    "raise left": ("a person raises the left hand", _one_arm_up(L_WRIST, L_SHOULDER, R_WRIST, R_SHOULDER)),
    "raise right": ("a person raises the right hand", _one_arm_up(R_WRIST, R_SHOULDER, L_WRIST, L_SHOULDER)),
    "raise both": ("a person raises both hands", _both_up),
    "bow": ("a person bows", _bow),
    "kick": ("a person kicks", _kick),
    "punch": ("a person punches forward", _punch),
    "jump": ("a person jumps", _jump),
    "stand still": ("a person stands still", _stand),
}


UPRIGHT_MIN_HEAD = 0.1  # m: no action of the vocabulary puts the head lower over the pelvis
MAX_UNASKED_TURN_DEG = 45.0  # heading change allowed to an action that does not ask for a turn
MAY_TURN = frozenset({"turn left", "turn right", "kick"})


def check(action: str, joints: np.ndarray) -> tuple[bool, str]:
    """Run one action's test on world joints (T, 24, 3): (passed, what was measured). A body that
    turns upside down (head under ``UPRIGHT_MIN_HEAD`` over the pelvis) fails whatever else it does,
    and so does one that turns unasked (further than ``MAX_UNASKED_TURN_DEG``, actions outside ``MAY_TURN``)."""
    k = Kinematics(joints)
    ok, detail = BEHAVIOURS[action][1](k)
    head = k.lowest_head()
    if head < UPRIGHT_MIN_HEAD:
        return False, f"{detail}; upside down (head {head:.2f} m over the pelvis)"
    turn = k.turn_deg()
    if action not in MAY_TURN and abs(turn) > MAX_UNASKED_TURN_DEG:
        return False, f"{detail}, turns {turn:+.0f} deg unasked"
    return ok, detail


def evaluate_behaviours(pipe, settings: BehaviourSettings = BehaviourSettings(),
                        actions: tuple[str, ...] | None = None) -> dict:
    """Generate every action's prompt with each seed and test it: {"actions": {...}, "passed": n, "total": n}."""
    rows: dict[str, dict] = {}
    for action in actions or tuple(BEHAVIOURS):
        prompt = BEHAVIOURS[action][0]
        spec = parse_spec({"version": 1, "fps": 30, "duration": settings.seconds,
                           "tracks": [{"kind": "text", "start": 0.0, "end": settings.seconds, "text": prompt}]},
                          check_files=False)
        results, samples = [], []
        for seed in settings.seeds:
            motion = pipe(spec, steps=settings.steps, guidance=settings.guidance, seed=seed).motion
            ok, detail = check(action, motion.joints)
            results.append({"seed": seed, "pass": ok, "measured": detail})
            samples.append(motion.joints)
        passes = sum(r["pass"] for r in results)
        rows[action] = {"prompt": prompt, "passes": passes, "pass": passes >= settings.min_pass, "seeds": results,
                        "seed_diversity_mm": round(seed_diversity(samples), 1)}
    diversity = [r["seed_diversity_mm"] for r in rows.values()]
    return {"actions": rows, "passed": sum(r["pass"] for r in rows.values()), "total": len(rows),
            "seeds": list(settings.seeds), "steps": settings.steps,
            "seed_diversity_mm": round(float(np.mean(diversity)), 1) if diversity else None}


def seed_diversity(samples: list[np.ndarray]) -> float:
    """Mean distance (mm) between the pelvis-relative joints of every pair of samples of one prompt."""
    rel = [np.asarray(j, dtype=np.float64) - np.asarray(j, dtype=np.float64)[:, :1] for j in samples]
    pairs = [np.linalg.norm(a - b, axis=-1).mean() for i, a in enumerate(rel) for b in rel[i + 1:]]
    return float(np.mean(pairs) * 1000) if pairs else 0.0


def behaviour_table(result: dict) -> str:
    """The result as a markdown table (one row per action)."""
    lines = ["| action | prompt | seeds passing | between seeds (mm) | measured (per seed) |", "|---|---|---|---|---|"]
    for action, row in result["actions"].items():
        measured = "; ".join(r["measured"] for r in row["seeds"])
        mark = "yes" if row["pass"] else "no"
        lines.append(f"| {action} | {row['prompt']} | {row['passes']}/{len(row['seeds'])} ({mark}) | "
                     f"{row['seed_diversity_mm']} | {measured} |")
    lines.append(f"\n{result['passed']} of {result['total']} actions pass "
                 f"(at least 2 of {len(result['seeds'])} seeds, {result['steps']} DDIM steps); mean distance "
                 f"between seeds of one prompt (pelvis-relative joints): {result['seed_diversity_mm']} mm.")
    return "\n".join(lines)
