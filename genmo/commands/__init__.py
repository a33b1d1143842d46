"""The subcommands of `python -m genmo`, one module each (`add_parser`, `run`), registered in genmo.cli."""
