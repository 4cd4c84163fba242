"""``python -m switchyard`` is the ``switchyard`` command."""

from switchyard.cli.main import main

main()
