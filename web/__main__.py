"""``python -m web`` is the ``perfeval`` command."""

from web.cli import main

main()
