"""Map source skeleton joint names to SMPL-24 joints: automatic matching for the common naming
conventions (CMU/Mixamo ``LeftUpLeg``, Bandai ``UpperLeg_L``, iClone ``CC_Base_L_Thigh``, CMU
ASF ``lfemur``, ...) or an explicit JSON map ``{"smpl_joint_name": "source_joint_name"}``."""

from __future__ import annotations

import json
import re
from pathlib import Path

from genmo.body.skeleton import JOINT_NAMES

_PREFIXES = ("mixamorig:", "mixamorig_", "mixamorig", "cc_base_", "bip001 ", "bip01 ", "bip001_", "bip01_", "def-", "def_", "j_bip_")
_SKIP = ("twist", "share", "roll", "nub", "end", "_site", "breast", "ribs", "eye", "jaw", "teeth", "tongue", "facial")
# (pattern, SMPL base name); sided parts get a left_/right_ prefix. Order matters: first match wins.
_SIDED = (
    (r"(upleg|upperleg|thigh|femur|hip$|hipjoint)", "hip"),
    (r"(lowerleg|calf|shin|tibia|knee|^leg$)", "knee"),
    (r"(toebase|toes?$|ball)", "foot"),
    (r"(foot|ankle)", "ankle"),
    (r"(shoulder|clavicle|collar)", "collar"),
    (r"(forearm|lowerarm|radius|elbow)", "elbow"),
    (r"(upperarm|humerus|^arm$)", "shoulder"),
    (r"(^mid1$|^middle1$|handmiddle1$)", "hand"),
    (r"(hand|wrist)", "wrist"),
)


def _strip(name: str) -> str:
    low = name.lower()
    for prefix in _PREFIXES:
        if low.startswith(prefix):
            low = low[len(prefix):]
    return low


def _side_and_part(name: str) -> tuple[str | None, str]:
    """('left' | 'right' | None, remaining part name) for a normalised joint name."""
    for side, pats in (("left", (r"^left[_ .]?", r"[_ .]left$", r"^l[_ .]", r"[_ .]l$")),
                       ("right", (r"^right[_ .]?", r"[_ .]right$", r"^r[_ .]", r"[_ .]r$"))):
        for pat in pats:
            if re.search(pat, name):
                return side, re.sub(pat, "", name).strip("_ .")
    m = re.match(r"^([lr])(femur|tibia|foot|toes|clavicle|humerus|radius|wrist|hand|hipjoint|upleg|leg|arm|forearm|shoulder|thigh|calf)$", name)
    if m:
        return ("left" if m.group(1) == "l" else "right"), m.group(2)
    return None, name


def _depths(parents: list[int]) -> list[int]:
    out = []
    for p in parents:
        out.append(0 if p < 0 else out[p] + 1)
    return out


def auto_joint_map(names: list[str], parents: list[int]) -> dict[int, int]:
    """SMPL index -> source joint index, matched by name and the hierarchy.

    Raises ValueError when the pelvis or both hips cannot be found.
    """
    depth = _depths(parents)
    found: dict[str, int] = {}
    unsided: dict[str, list[int]] = {}
    for i, raw in enumerate(names):
        name = _strip(raw)
        if any(s in name for s in _SKIP) and "necktwist01" not in name:
            continue
        side, part = _side_and_part(name)
        part = part.replace(" ", "").replace("_", "")
        if side is None:
            unsided.setdefault(part, []).append(i)
            continue
        for pat, base in _SIDED:
            if re.search(pat, part):
                key = f"{side}_{base}"
                if key not in found or depth[i] < depth[found[key]]:
                    found[key] = i
                break
    if "left_hip" not in found or "right_hip" not in found:
        raise ValueError(f"cannot match the legs of this skeleton automatically (joints: {', '.join(names[:12])}...); give --joint-map")
    pelvis = _common_ancestor(parents, found["left_hip"], found["right_hip"])
    # CMU-style LHipJoint sits between the pelvis and the thigh: use the thigh's direct parent chain.
    found["pelvis"] = pelvis
    neck = None
    for key in ("neck", "necktwist01", "neck1", "lowerneck"):
        if key in unsided:
            neck = min(unsided[key], key=lambda i: depth[i])
            break
    head = next((min(unsided[k], key=lambda i: depth[i]) for k in ("head",) if k in unsided), None)
    if neck is None and head is not None:
        neck = parents[head]
    if neck is not None:
        found["neck"] = neck
        stops = {pelvis}
        k = pelvis
        while k >= 0:
            stops.add(k)
            k = parents[k]
        chain = []
        j = parents[neck]
        while j >= 0 and j not in stops:
            chain.append(j)
            j = parents[j]
        chain.reverse()
        if j >= 0 and chain:
            if len(chain) >= 3:
                picks = {"spine1": chain[0], "spine2": chain[len(chain) // 2], "spine3": chain[-1]}
            elif len(chain) == 2:
                picks = {"spine1": chain[0], "spine3": chain[1]}
            else:
                picks = {"spine3": chain[0]}
            found.update(picks)
    if head is not None:
        found["head"] = head
    return {JOINT_NAMES.index(k): v for k, v in found.items() if k in JOINT_NAMES}


def _common_ancestor(parents: list[int], a: int, b: int) -> int:
    seen = set()
    while a >= 0:
        seen.add(a)
        a = parents[a]
    while b >= 0 and b not in seen:
        b = parents[b]
    if b < 0:
        raise ValueError("the two hips have no common ancestor")
    return b


def load_joint_map(path: str | Path, names: list[str]) -> dict[int, int]:
    """Read an explicit map ``{"smpl_joint": "source_joint"}`` from JSON; errors name the bad entry."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: cannot read joint map ({err})") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: joint map must be a JSON object {{smpl_joint: source_joint}}")
    out = {}
    for smpl, src in raw.items():
        if smpl not in JOINT_NAMES:
            raise ValueError(f"{path}: unknown SMPL joint {smpl!r}")
        if src not in names:
            raise ValueError(f"{path}: source joint {src!r} (for {smpl!r}) is not in the skeleton")
        out[JOINT_NAMES.index(smpl)] = names.index(src)
    return out
