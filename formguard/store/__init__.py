"""formguard's shared state: ``get_store()``.

``FORMGUARD["CACHE"]`` left at None: the embedded store, a SQLite file that
every process of the machine opens (``runserver`` and ``manage.py formguard``
beside it, gunicorn's workers). The alias of a Redis cache in ``CACHES``
(Django's ``RedisCache`` or django-redis): Redis, for several machines. No
other cache backend can hold counters safely (see ``checks.py``).
"""

from __future__ import annotations

import atexit
import getpass
import hashlib
import os
import tempfile
import threading
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ..conf import conf
from .base import OutcomeUnknown, Pending, Store, StoreUnavailable, WindowCounter

__all__ = [
    "OutcomeUnknown",
    "Pending",
    "Store",
    "StoreUnavailable",
    "WindowCounter",
    "get_store",
    "default_state_path",
    "forget",
]

REDIS_BACKENDS = ("django.core.cache.backends.redis.RedisCache", "django_redis.cache.RedisCache")

_lock = threading.Lock()
_store: Store | None = None
_store_config: tuple[object, ...] | None = None


def default_state_path() -> Path:
    """Where the embedded store lives when ``FORMGUARD["STATE_PATH"]`` is not set.

    Every process of one site must find the same file without being told.
    With a SQLite database it lies beside the database file
    (``db.sqlite3-formguard``). Otherwise its name is derived from what the
    processes share, the settings module and the database, in a directory of
    the user's own in the system's temporary directory (mode 0700: other
    local users cannot plant a file there); a command line run as another
    user than the site's then needs ``FORMGUARD["STATE_PATH"]``.

    A site whose database lives in memory (a test run) is one process: its
    state is that process's alone, so parallel and successive test runs never
    see each other's counters, and the file goes when the process ends.
    """
    database = settings.DATABASES.get("default", {})
    name = str(database.get("NAME", ""))
    if database.get("ENGINE", "").endswith("sqlite3"):
        if name == ":memory:" or "mode=memory" in name:
            path = _state_dir() / f"state-memory-{os.getpid()}.sqlite3"
            if path not in _temporary:
                _temporary.add(path)
                atexit.register(_remove, path)
            return path
        # Beside the database: whoever runs the site or its command line
        # must reach that file, and so finds this one, whatever its user.
        return Path(f"{name}-formguard")
    identity = "|".join(
        str(part)
        for part in (
            getattr(settings, "SETTINGS_MODULE", ""),
            database.get("ENGINE", ""),
            database.get("NAME", ""),
            database.get("HOST", ""),
            database.get("PORT", ""),
            conf.KEY_PREFIX,
        )
    )
    digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
    return _state_dir() / f"state-{digest}.sqlite3"


def _state_dir() -> Path:
    try:
        user = getpass.getuser()
    except Exception:  # no name for this uid (containers): the uid will do
        user = str(os.getuid())
    return Path(tempfile.gettempdir()) / f"formguard-{user}"


_temporary: set[Path] = set()


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _config() -> tuple[object, ...]:
    # The pid: a forked process (a parallel test runner's worker) whose
    # database is in memory has a store of its own, not its parent's.
    return (conf.CACHE, conf.STATE_PATH, conf.KEY_PREFIX, os.getpid())


def _make() -> Store:
    alias = conf.CACHE
    if alias is None:
        from .embedded import EmbeddedStore

        if conf.STATE_PATH:
            return EmbeddedStore(conf.STATE_PATH)
        path = default_state_path()
        return EmbeddedStore(path, private_dir=path.parent == _state_dir())
    backend = settings.CACHES.get(alias, {}).get("BACKEND", "")
    if backend not in REDIS_BACKENDS:
        raise ImproperlyConfigured(
            f"FORMGUARD['CACHE'] is {alias!r} ({backend or 'not in CACHES'}); formguard keeps its state in "
            "Redis (Django's RedisCache or django-redis) or, with None, in its embedded store."
        )
    from .redis import RedisStore

    return RedisStore(alias, conf.KEY_PREFIX)


def get_store() -> Store:
    """The store for the current settings, made once per process."""
    global _store, _store_config
    store = _store
    if store is not None and _store_config == _config():
        return store
    with _lock:
        config = _config()
        if _store is None or _store_config != config:
            if _store is not None:
                _store.close()
            _store, _store_config = _make(), config
        return _store


def forget() -> None:
    """Close the store; the next ``get_store()`` opens it again (settings changed)."""
    global _store, _store_config
    with _lock:
        if _store is not None:
            _store.close()
        _store = _store_config = None
