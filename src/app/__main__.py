"""``python -m app``: the stackchain command line."""

from app.cli import main

main()
