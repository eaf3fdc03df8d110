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

``reply_hint``
    A valid inquiry was sent from a guarded form view (``GuardedFormMixin``,
    or a view that calls ``formguard.replyhints.note_inquiry``). Keyword
    arguments: ``request``, ``form_key``, ``kind`` ("carrier": a Japanese
    carrier mailbox that filters unknown senders; "china": a mainland-China
    mailbox that mail from Japan may not reach; "none"), ``carrier`` (the
    carrier's key such as "docomo", or ""), ``hint`` (the
    ``formguard.replyhints.ReplyHint``). Sent before the view's own
    ``form_valid``, so a receiver can mark the request (for example to send
    the reply from another address, or to offer a phone call). The address
    itself is not passed on: the site has it in its form.

``submission_held``
    A submission was held for review instead of being delivered. Keyword
    arguments: ``submission`` (the ``formguard.models.Submission``), ``request``.

``submission_released``
    The owner released a held submission. Keyword arguments: ``submission``,
    ``response`` (what the site's view answered when it ran on it again; None
    when the form's view cannot be run again and the receivers deliver it:
    see "Release" in docs/review.md).

``submission_labelled``
    A submission was labelled (``formguard.labels.give``). Keyword arguments:
    ``submission``, ``label`` (a ``formguard.models.Label`` value),
    ``previous`` (its label before, or ""), ``by`` (who gave it).
"""

from __future__ import annotations

from django.dispatch import Signal

request_refused = Signal()
ip_banned = Signal()
form_closed = Signal()
reply_hint = Signal()
submission_held = Signal()
submission_released = Signal()
submission_labelled = Signal()
