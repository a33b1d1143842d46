"""The command line: `python -m genmo {generate,estimate,data,train,eval,export,bench} ...`.

Every subcommand is one module of `genmo.commands` exposing `add_parser(subparsers)` and
`run(args) -> int`, registered in SUBCOMMANDS. Mistakes the user can fix (`GenmoUserError`, a
missing or unwritable file, a crashed worker process) print one line on stderr and exit with code 2; anything else is a
bug and keeps its traceback. Set GENMO_DEBUG=1 for tracebacks of user errors too.
"""

from __future__ import annotations

import argparse
import os
import sys

from genmo.commands import bench, data, estimate, evaluate, export, generate, train
from genmo.errors import GenmoUserError, MissingExtraError, one_line
from genmo.parallel import WorkerCrashed

SUBCOMMANDS = (generate, estimate, data, train, evaluate, export, bench)
USER_ERRORS = (GenmoUserError, FileNotFoundError, IsADirectoryError, PermissionError, MissingExtraError, WorkerCrashed)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="python -m genmo", description="GENMO: estimate and generate human motion.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in SUBCOMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except USER_ERRORS as err:
        if os.environ.get("GENMO_DEBUG"):
            raise
        print(f"error: {one_line(err)}", file=sys.stderr)
        return 2
