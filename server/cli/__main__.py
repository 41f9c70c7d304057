"""`python -m server.cli`: the `likeness` command."""

from .main import run

run()
