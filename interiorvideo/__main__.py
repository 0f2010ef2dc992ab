"""``python -m interiorvideo`` runs the ``interiorvideo`` command line."""

from .cli import app

app()
