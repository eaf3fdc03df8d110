"""formguard's signals.

``request_refused``
    A guarded request was refused (or, in monitor-only mode, would have been).
    Keyword arguments: ``request``, ``form_key``, ``ip`` (str), ``reason``
    (a ``formguard.models.Reason`` value), ``status`` (int), ``monitor_only``
    (bool).

``ip_banned``
    An automatic ban was created. Keyword arguments: ``rule`` (the
    ``BlockRule``), ``form_key``, ``offence`` (int, 1 for the first ban).

``form_closed``
    A form (or with ``form_key == "*"`` every form) was closed or reopened.
    Keyword arguments: ``form_key``, ``closed`` (bool), ``until`` (datetime
    or None), ``automatic`` (why formguard closed it itself, e.g. the flood
    breaker; empty when a person did).
"""

from __future__ import annotations

from django.dispatch import Signal

request_refused = Signal()
ip_banned = Signal()
form_closed = Signal()
