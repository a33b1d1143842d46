"""Write requirements.txt (what a Hugging Face Space installs) from pyproject.toml's dependencies.

    python scripts/requirements.py           # rewrite requirements.txt
    python scripts/requirements.py --check   # exit 1 if requirements.txt differs from what it would write

requirements.txt = the base dependencies plus the ``studio`` extra (with the extras it names),
with torch pinned to the CPU build from PyTorch's CPU index: PyPI's torch wheel for Linux is the
CUDA build, which brings several GB of CUDA packages a CPU Space never uses.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
EXTRA = "studio"
HEADER = f"""\
# Generated from pyproject.toml by scripts/requirements.py (do not edit; tests check that they agree).
# What a Space installs: the library, the studio, rendering and video estimation.
# torch is the CPU build from PyTorch's CPU index (PyPI's Linux torch is the CUDA build).
--extra-index-url {TORCH_CPU_INDEX}
"""
_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[([^\]]*)\])?(.*)$")


def _flatten(project: dict, extras: list[str], seen: set[str]) -> list[str]:
    """Requirements of ``extras`` with references to the project's own extras expanded in place."""
    name = project["name"]
    out: list[str] = []
    for extra in extras:
        if extra in seen:
            continue
        seen.add(extra)
        for req in project["optional-dependencies"][extra]:
            match = _NAME.match(req.replace(" ", ""))
            if match and match.group(1) == name:
                out += _flatten(project, [e.strip() for e in match.group(3).split(",")], seen)
            else:
                out.append(req)
    return out


def cpu_torch(req: str) -> str:
    """``torch==X`` -> ``torch==X+cpu``; other requirements unchanged."""
    match = re.fullmatch(r"torch==([0-9][0-9.]*)", req.replace(" ", ""))
    return f"torch=={match.group(1)}+cpu" if match else req


def requirements(pyproject: Path = REPO / "pyproject.toml") -> str:
    """The text of requirements.txt for ``pyproject``."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    reqs = [cpu_torch(r) for r in project["dependencies"]] + _flatten(project, [EXTRA], set())
    if not any(r.startswith("torch==") and r.endswith("+cpu") for r in reqs):
        raise SystemExit("pyproject.toml: expected a pinned torch==X.Y.Z among the dependencies")
    unique = list(dict.fromkeys(reqs))
    return HEADER + "".join(f"{r}\n" for r in unique)


def main(argv: list[str]) -> int:
    target = REPO / "requirements.txt"
    text = requirements()
    if argv == ["--check"]:
        if target.read_text(encoding="utf-8") != text:
            print("requirements.txt is out of date: run python scripts/requirements.py", file=sys.stderr)
            return 1
        return 0
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    target.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
