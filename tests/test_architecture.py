"""The layering the code promises (README, docs/model.md), checked on the source by its imports.

- inference does not reach into the training-data package: only genmo/data itself, training,
  evaluation and their subcommands import genmo.data;
- genmo never imports gradio, and app never imports torch;
- the condition encoders never call back into the pipeline;
- the pipeline stays one short module, and every track kind of the spec has one encoder.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_USERS = ("genmo/data/", "genmo/train/", "genmo/eval/", "genmo/commands/data.py", "genmo/commands/train.py",
              "genmo/commands/evaluate.py")


def imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def uses(path: Path, package: str) -> bool:
    return any(name == package or name.startswith(package + ".") for name in imports(path))


def test_only_training_evaluation_and_the_data_cli_import_genmo_data():
    offenders = [str(p.relative_to(ROOT)) for p in sources("genmo", "app")
                 if uses(p, "genmo.data") and not str(p.relative_to(ROOT)).startswith(DATA_USERS)]
    assert not offenders, offenders


def test_genmo_never_imports_gradio_and_app_never_imports_torch():
    assert not [p for p in sources("genmo") if uses(p, "gradio")]
    assert not [p for p in sources("app") if uses(p, "torch")]


def test_condition_encoders_do_not_call_back_into_the_pipeline():
    assert not [p for p in sources("genmo/conditions") if uses(p, "genmo.pipeline")]


def test_the_pipeline_is_one_short_module():
    lines = (ROOT / "genmo" / "pipeline.py").read_text(encoding="utf-8").count("\n")
    assert lines < 200, lines


def test_every_track_kind_has_one_encoder_in_the_table():
    from genmo.conditions.encoders import ENCODERS
    from genmo.spec import TRACK_KINDS

    assert tuple(ENCODERS) == TRACK_KINDS
