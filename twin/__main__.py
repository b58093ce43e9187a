"""``python -m twin`` runs the command line."""

from .cli import main

main()
