"""Rewrite the evaluation tables of a model card from a `genmo eval --json` file.

    python scripts/card_tables.py runs/v9-eval.json checkpoints/genmo-small/MODEL_CARD.md

The card's tables run from its first "### Estimation" heading up to (not including) the heading
that starts with "### Against"; they are replaced by the report of genmo.eval.report, one heading
level down. Everything the card says around them is kept as written.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from genmo.eval.report import markdown_report

FIRST, LAST = "### Estimation", "### Against"


def report_sections(results: dict) -> str:
    """The report's sections (its title and preamble dropped), each heading one level down."""
    lines = markdown_report(results).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("## "))
    return "\n".join("#" + line if line.startswith("## ") else line for line in lines[start:]).strip() + "\n\n"


def replace_tables(card: str, tables: str) -> str:
    """The card with the text between its FIRST and LAST headings replaced by ``tables``."""
    start, end = card.find(FIRST), card.find(LAST)
    if start < 0 or end < start:
        raise SystemExit(f"the card needs a {FIRST!r} heading followed by a {LAST!r} heading")
    return card[:start] + tables + card[end:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="JSON written by `genmo eval --json`")
    parser.add_argument("card", type=Path, help="the MODEL_CARD.md to rewrite in place")
    args = parser.parse_args()
    tables = report_sections(json.loads(args.results.read_text()))
    args.card.write_text(replace_tables(args.card.read_text(), tables))


if __name__ == "__main__":
    main()
