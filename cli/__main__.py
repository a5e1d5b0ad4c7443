"""``python -m cli`` runs the ``emberwatch`` command line."""

from cli.main import main

main()
