"""``python -m mizzen`` runs the CLI."""

from mizzen.cli.main import main

main()
