"""``python -m api`` runs the ``emberwatch`` command line."""

from api.cli import main

main()
