"""What the database checks share: they read rows, only when asked for the database.

``migrate`` and ``check --database default`` run them; as Django's own database
checks, only the databases asked for are touched, and tables not migrated yet
are not an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def read_rows(databases: Any, read: Callable[[], T]) -> T | None:
    """``read()``, or None when the default database is not asked for or not migrated yet."""
    from django.db import DEFAULT_DB_ALIAS, DatabaseError

    if not databases or DEFAULT_DB_ALIAS not in databases:
        return None
    try:
        return read()
    except DatabaseError:  # tables not migrated yet
        return None
