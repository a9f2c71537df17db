"""Subcommands of the ``perfeval`` CLI, one module per concern."""
