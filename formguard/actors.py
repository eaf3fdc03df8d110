"""Who did it: the admin user, the command line (with the OS user), or formguard itself.

The action log records an actor with every closure, ban and lift. The ways in
(an admin view, ``manage.py formguard``) say who they act for with
``acting_as()``; code that runs on its own (automatic bans, and anything not
inside ``acting_as``) is "automatic".
"""

from __future__ import annotations

import contextvars
import getpass
from collections.abc import Iterator
from contextlib import contextmanager

from django.utils.translation import gettext as _

AUTOMATIC = "auto"
_current: contextvars.ContextVar[str] = contextvars.ContextVar("formguard_actor", default=AUTOMATIC)


def user(username: str) -> str:
    return f"user:{username}"


def command_line() -> str:
    try:
        name = getpass.getuser()
    except Exception:  # no USER/LOGNAME and no passwd entry (some containers)
        name = ""
    return f"cli:{name}"


def current() -> str:
    return _current.get()


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    token = _current.set(actor)
    try:
        yield
    finally:
        _current.reset(token)


def describe(actor: str, *, automatic: bool = False) -> str:
    """The actor in the reader's language: "admin (管理画面)", "コマンドライン (root)", "自動"."""
    kind, _sep, name = (actor or "").partition(":")
    if kind == "user":
        return _("%(user)s (admin)") % {"user": name}
    if kind == "cli":
        return _("command line (%(user)s)") % {"user": name} if name else _("command line")
    if automatic or kind == AUTOMATIC:
        return _("automatic")
    return _("unknown")
