"""The command line: `python -m genmo {generate,estimate,data,train,eval,export,bench} ...`.

Each subcommand lives in its own module exposing `add_parser(subparsers)` and `run(args) -> int`.
User mistakes (and a crashed worker process) print one line on stderr and exit with code 2;
set GENMO_DEBUG=1 for tracebacks.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from genmo.parallel import WorkerCrashed

SUBCOMMAND_MODULES = (
    "genmo.commands.generate",
    "genmo.commands.estimate",
    "genmo.data.cli",
    "genmo.train.cli",
    "genmo.eval.cli",
    "genmo.export.cli",
    "genmo.bench",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(prog="python -m genmo", description="GENMO: estimate and generate human motion.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name is not None and name.startswith(err.name):
                continue  # that part of the package is not installed in this build
            raise
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, IsADirectoryError, PermissionError, WorkerCrashed) as err:
        if os.environ.get("GENMO_DEBUG"):
            raise
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        print(f"error: {message}", file=sys.stderr)
        return 2
