"""The dependency declaration, the Space's files and the pose package set agree with each other."""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BINARY_SUFFIXES = {".safetensors", ".npz", ".npy", ".png", ".jpg", ".glb", ".mp4", ".ogg", ".wav", ".zip", ".pt"}


def test_requirements_txt_is_generated_from_pyproject() -> None:
    result = subprocess.run([sys.executable, "scripts/requirements.py", "--check"], cwd=REPO, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr


def test_requirements_pin_the_cpu_torch_of_the_base_dependency() -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import requirements as gen
    finally:
        sys.path.pop(0)
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    torch_pin = next(r for r in project["dependencies"] if r.startswith("torch=="))
    lines = (REPO / "requirements.txt").read_text().splitlines()
    assert f"{torch_pin}+cpu" in lines and f"--extra-index-url {gen.TORCH_CPU_INDEX}" in lines
    for extra in ("render", "video", "studio"):  # everything the studio needs, self-references expanded
        for req in project["optional-dependencies"][extra]:
            assert req in lines or req.startswith(project["name"]), req


def test_makefile_installs_only_through_the_declaration() -> None:
    makefile = (REPO / "Makefile").read_text()
    installs = [line.strip() for line in makefile.splitlines() if "$(PIP) install" in line]
    assert installs and all("--no-deps" not in line for line in installs)
    assert all(re.search(r'-r requirements\.txt -e "?\.', line) for line in installs), installs
    assert "$(shell cat packages.txt)" in makefile


def test_space_front_matter_pins_the_python_the_package_needs() -> None:
    front = (REPO / "README.md").read_text().split("---")[1]
    version = re.search(r'^python_version:\s*"?([0-9.]+)"?\s*$', front, re.M)
    assert version, "README front matter lacks python_version"
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == f">={version.group(1)}"
    assert re.search(r"^app_file:\s*app\.py\s*$", front, re.M)


def test_every_tracked_binary_file_goes_through_lfs() -> None:
    listed = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    binaries = [p for p in listed.stdout.splitlines() if Path(p).suffix.lower() in BINARY_SUFFIXES]
    assert any(p.endswith("model.safetensors") for p in binaries)
    attrs = subprocess.run(["git", "check-attr", "filter", "--stdin"], cwd=REPO, input="\n".join(binaries),
                           capture_output=True, text=True, check=True)
    not_lfs = [line for line in attrs.stdout.splitlines() if not line.endswith(": filter: lfs")]
    assert not not_lfs


def test_one_opencv_build_gives_hog_and_blazepose() -> None:
    opencv = sorted({d.metadata["Name"].lower() for d in importlib.metadata.distributions()
                     if (d.metadata["Name"] or "").lower().startswith("opencv")})
    assert len(opencv) == 1, f"several OpenCV builds share cv2/: {opencv}"
    cv2 = pytest.importorskip("cv2")
    assert cv2.HOGDescriptor_getDefaultPeopleDetector().size > 0
    mp = pytest.importorskip("mediapipe")
    assert hasattr(mp.solutions.pose, "Pose")


def test_installed_extras_satisfy_pip_check() -> None:
    """The environment the tests run in has every declared requirement (nothing installed with --no-deps)."""
    result = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    if "No module named pip" in result.stderr:
        pytest.skip("no pip in this environment")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_loader_honours_genmo_checkpoints(tmp_path, monkeypatch) -> None:
    from genmo.body import DefaultBody, smpl_dir
    from genmo.eval.evaluator import default_evaluator_dir
    from genmo.paths import default_checkpoint

    monkeypatch.setenv("GENMO_CHECKPOINTS", str(tmp_path))
    assert default_checkpoint() == tmp_path / "genmo-small" and default_evaluator_dir() == tmp_path / "evaluator"
    assert smpl_dir() == tmp_path / "body_models" / "smpl"
    with pytest.raises(FileNotFoundError, match=f"no default body file found at {tmp_path}.*GENMO_CHECKPOINTS="):
        DefaultBody()
    (tmp_path / "body_models").mkdir()
    shutil.copyfile(REPO / "checkpoints" / "body_models" / "default_body.npz", tmp_path / "body_models" / "default_body.npz")
    assert DefaultBody().num_vertices > 1000


def test_without_any_checkpoints_the_error_names_genmo_checkpoints(tmp_path, monkeypatch) -> None:
    from genmo import paths
    from genmo.errors import UserInputError
    from genmo.pipeline import GenmoPipeline

    monkeypatch.delenv("GENMO_CHECKPOINTS", raising=False)
    monkeypatch.setattr(paths, "repo_root", lambda: tmp_path / "site-packages")
    monkeypatch.setattr(paths, "installed_share_dirs", lambda: [tmp_path / "share"])
    with pytest.raises(UserInputError, match="set GENMO_CHECKPOINTS to the folder that holds genmo-small/"):
        GenmoPipeline.from_pretrained()
    (tmp_path / "share" / "checkpoints").mkdir(parents=True)
    assert paths.checkpoints_dir() == tmp_path / "share" / "checkpoints"
