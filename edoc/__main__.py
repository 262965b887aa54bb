"""``python -m edoc`` runs the command line."""

from edoc.cli import run

run()
