"""`python -m genmo ...`: the command line."""

from genmo.cli import main

raise SystemExit(main())
