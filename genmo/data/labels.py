"""Text for training clips: sentences built from labels (templates + paraphrases), CMU trial
descriptions and KIT-ML captions of CMU trials."""

from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path

SUBJECTS = ("a person", "someone", "a man", "the person", "a human", "a figure", "an actor")

# Action label -> verb phrases (present tense, third person).
ACTIONS: dict[str, tuple[str, ...]] = {
    "walk": ("walks", "walks forward", "is walking", "takes a walk", "strolls ahead"),
    "run": ("runs", "runs forward", "is running", "jogs quickly ahead"),
    "jog": ("jogs", "jogs forward", "is jogging", "runs at an easy pace"),
    "dash": ("dashes forward", "sprints", "runs very fast", "breaks into a sprint"),
    "walk-back": ("walks backwards", "steps backward", "walks in reverse"),
    "walk-left": ("walks to the left", "sidesteps to the left", "walks leftward"),
    "walk-right": ("walks to the right", "sidesteps to the right", "walks rightward"),
    "walk-turn-left": ("walks and turns left", "walks, turning to the left", "makes a left turn while walking"),
    "walk-turn-right": ("walks and turns right", "walks, turning to the right", "makes a right turn while walking"),
    "bow": ("bows", "bows politely", "takes a bow", "bends forward in a bow"),
    "bye": ("waves goodbye", "says goodbye with a wave", "waves a hand farewell"),
    "byebye": ("waves goodbye with both hands", "waves bye-bye", "waves farewell energetically"),
    "guide": ("gestures to guide someone", "points the way", "shows the way with an arm"),
    "respond": ("responds with a gesture", "reacts and answers", "replies with body language"),
    "call": ("calls someone over", "beckons someone", "waves someone closer"),
    "punch": ("punches", "throws a punch", "punches forward", "strikes with a fist"),
    "kick": ("kicks", "kicks forward", "performs a kick", "kicks with one leg"),
    "slash": ("slashes with a sword", "swings a blade", "makes a slashing motion"),
    "dance-long": ("dances", "performs a dance", "dances for a while"),
    "dance-short": ("dances briefly", "does a short dance", "performs a quick dance move"),
    "wave-both-hands": ("waves both hands", "waves with both hands", "waves both arms overhead"),
    "wave-left-hand": ("waves the left hand", "waves with the left hand", "waves using the left arm"),
    "wave-right-hand": ("waves the right hand", "waves with the right hand", "waves using the right arm"),
    "raise-up-both-hands": ("raises both hands", "lifts both arms up", "puts both hands up"),
    "raise-up-left-hand": ("raises the left hand", "lifts the left arm up", "puts the left hand up"),
    "raise-up-right-hand": ("raises the right hand", "lifts the right arm up", "puts the right hand up"),
    "backflip": ("does a backflip", "performs a back flip", "flips backwards"),
    "sideflip": ("does a side flip", "flips sideways", "performs a side flip"),
    "cartwheel": ("does a cartwheel", "performs a cartwheel", "cartwheels across"),
    "crawl": ("crawls on hands and knees", "crawls forward", "is crawling"),
    "dance_a": ("dances", "performs a dance", "dances energetically"),
    "dance_b": ("dances", "does a dance routine", "dances in place"),
    "dance_spin": ("dances and spins", "spins while dancing", "does a dance spin"),
    "getup_facedown": ("gets up from lying face down", "stands up from the floor, face down", "rises from a prone position"),
    "getup_faceup": ("gets up from lying on the back", "stands up from the floor, face up", "rises from lying supine"),
    "jump": ("jumps", "jumps forward", "leaps into the air"),
    "roll": ("rolls on the ground", "does a forward roll", "rolls over"),
    "spin": ("spins around", "turns around in place", "does a full spin"),
    "spinkick": ("does a spinning kick", "spins and kicks", "performs a spin kick"),
    "zombie_walk": ("walks like a zombie", "shambles forward like a zombie", "staggers like a zombie"),
    "stealthy_walk": ("sneaks forward", "walks stealthily", "tiptoes quietly"),
    "run_forward": ("runs forward", "runs straight ahead", "is running forward"),
    "run_left": ("runs and turns left", "runs to the left", "runs curving left"),
    "run_right": ("runs and turns right", "runs to the right", "runs curving right"),
    "punch_forward": ("punches forward", "throws a straight punch", "punches ahead"),
    "punch_left": ("punches to the left", "throws a punch to the left side", "strikes to the left"),
    "ready_to_walk": ("starts walking from a standstill", "begins to walk", "sets off walking"),
    "walk_to_ready": ("stops walking and stands still", "walks and comes to a stop", "halts after walking"),
    "stand-still": ("stands still", "stands in place", "stands without moving", "stays still, standing"),
}

# Style label -> (adverb phrases, "with ..." / adjective phrases).
STYLES: dict[str, tuple[str, ...]] = {
    "normal": ("", "normally", "in a neutral way"),
    "happy": ("happily", "cheerfully", "in a happy mood"),
    "sad": ("sadly", "gloomily", "in a sad mood"),
    "angry": ("angrily", "furiously", "in an angry way"),
    "proud": ("proudly", "with pride", "in a proud manner"),
    "not-confident": ("timidly", "without confidence", "hesitantly"),
    "masculinity": ("in a masculine way", "with a masculine attitude", "manly"),
    "masculine": ("in a masculine way", "with a masculine attitude", "manly"),
    "feminine": ("in a feminine way", "gracefully, in a feminine style", "with a feminine attitude"),
    "childish": ("childishly", "like a child", "in a childish way"),
    "youthful": ("youthfully", "like a young person", "with youthful energy"),
    "old": ("like an old person", "slowly, like an elderly person", "in an aged way"),
    "elderly": ("like an elderly person", "slowly, like an old person", "in an elderly way"),
    "tired": ("tiredly", "wearily", "as if exhausted"),
    "exhausted": ("exhausted", "wearily, exhausted", "as if worn out"),
    "active": ("actively", "energetically", "with an active attitude"),
    "musical": ("rhythmically", "like in a musical", "theatrically, as in a musical"),
    "giant": ("like a giant", "heavily, like a giant", "with big heavy movements"),
    "chimpira": ("like a thug", "with a swaggering attitude", "like a street punk"),
}

GENRES = {"W": "waltz", "R": "rumba", "C": "cha-cha", "T": "tango"}


def label_sentences(action: str, style: str | None = None, seed: str = "", count: int = 6) -> list[str]:
    """Varied sentences for an action (and optional style), deterministic for a given seed."""
    verbs = ACTIONS.get(action) or (action.replace("_", " ").replace("-", " ") + "s",)
    styles = STYLES.get(style or "normal", (style.replace("-", " ") if style else "",))
    rng = random.Random(f"{action}|{style}|{seed}")
    out: list[str] = []
    for _ in range(count * 4):
        subj, verb, sty = rng.choice(SUBJECTS), rng.choice(verbs), rng.choice(styles)
        text = f"{subj} {verb}" + (f" {sty}" if sty else "")
        if rng.random() < 0.3 and sty:
            text = f"{sty[0].upper() + sty[1:]}, {subj} {verb}" if not sty.startswith(("with", "in ", "like", "as ")) else text
        text = text[0].upper() + text[1:] + "."
        if text not in out:
            out.append(text)
        if len(out) == count:
            break
    return out


def dance_sentences(genre_letter: str, seed: str = "", count: int = 6) -> list[str]:
    """Sentences for a ballroom dance genre, e.g. 'A person dances a waltz to music.'"""
    genre = GENRES.get(genre_letter, "dance")
    article = "an" if genre[0] in "aeiou" else "a"
    phrases = (f"dances {article} {genre} to music", f"is dancing {article} {genre}", f"dances to the music, {article} {genre}",
               f"performs {article} {genre} dance", f"dances {article} {genre} in a ballroom hold", "is dancing to music",
               f"moves to the rhythm of {article} {genre}")
    rng = random.Random(f"dance|{genre_letter}|{seed}")
    picks = rng.sample(phrases, min(count, len(phrases)))
    return [f"{rng.choice(SUBJECTS)} {p}.".capitalize() for p in picks]


def deepmimic_action(stem: str) -> str:
    """Action label of a DeepMimic file stem (``humanoid3d_run``, ``sie_humanoid3d_run_left03``)."""
    name = re.sub(r"^(sie_)?humanoid3d_", "", stem)
    name = re.sub(r"_mirror$", "", name)
    name = re.sub(r"^long_", "", name)
    name = re.sub(r"\d+$", "", name)
    if name.startswith("long_walk"):
        return "walk"
    return name.rstrip("_") or "walk"


def read_cmu_descriptions(path: str | Path) -> dict[tuple[int, int], str]:
    """(subject, trial) -> description from the CMU trial list csv."""
    out: dict[tuple[int, int], str] = {}
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        for row in csv.DictReader(fh):
            try:
                out[(int(row["Subject"]), int(row["Trial #"]))] = row["Motion Description"].strip()
            except (KeyError, ValueError):
                continue
    return out


def read_kitml_cmu(path: str | Path) -> dict[tuple[int, int], list[str]]:
    """(subject, trial) -> KIT-ML captions of CMU trials (paths like CMU/07/07_03_poses)."""
    data = json.loads(Path(path).read_text())
    out: dict[tuple[int, int], list[str]] = {}
    for entry in data.values():
        m = re.match(r"CMU/(\d+)/(\d+)_(\d+)_poses", entry.get("path", ""))
        if not m:
            continue
        key = (int(m.group(2)), int(m.group(3)))
        for ann in entry.get("annotations", []):
            text = ann.get("text", "").strip()
            if text and text not in out.setdefault(key, []):
                out[key].append(text)
    return out


def description_sentences(description: str, seed: str = "", count: int = 4) -> list[str]:
    """Turn a terse CMU description ('walk, turn around') into sentences."""
    desc = description.strip().rstrip(".")
    if not desc:
        return []
    rng = random.Random(f"cmu|{desc}|{seed}")
    forms = (f"{{s}}: {desc}.", f"{{s}} performs this motion: {desc}.", f"{{s}} is captured doing: {desc}.", f"Motion of {{s}}: {desc}.")
    out = []
    for form in rng.sample(forms, min(count, len(forms))):
        text = form.format(s=rng.choice(SUBJECTS))
        out.append(text[0].upper() + text[1:])
    return out
