"""The ``formguard`` command's subcommands, one module per group (Django runs only ``formguard.py``;
a package whose name starts with ``_`` is not taken for a command)."""
