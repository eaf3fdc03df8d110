"""The filter's figures in plain words for the shop owner, in the active language (ja shipped).

``describe()`` turns an ``Evaluation`` into one sentence per class, as the admin and the mail
show it: 「営業: 20 件中 18 件を正しく判定」 / "Sales pitches: 18 of 20 judged right", and the
one figure an owner asks first: how many customers it would have kept from the inbox.
``learning_status()`` says why it only suggests while a class has too few labels. The only
module of the filter that imports Django (for translation): the engine does not need it.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext_lazy as _

from .evaluation import MIN_PER_CLASS, Evaluation
from .model import CUSTOMER, LABELS, SALES, SPAM

LABEL_NAMES = {SPAM: _("Spam"), SALES: _("Sales pitches"), CUSTOMER: _("Customers")}

_RIGHT = _("%(label)s: %(right)d of %(count)d judged right")
_NONE_YET = _("%(label)s: no labels yet")
_CUSTOMERS_LOST = _("Customers it would have kept from the inbox: %(lost)d of %(count)d")
_LEARNING = _("Learning: it acts once every kind has %(minimum)d labels (now %(counts)s); until then it only suggests.")
_READY = _("Acting on its scores: every kind has at least %(minimum)d labels (%(counts)s).")
_COUNT = _("%(label)s %(count)d")
_THREE = _("%(first)s, %(second)s and %(third)s")


def describe(evaluation: Evaluation) -> list[str]:
    """One line per class, then the customers it would have kept out (in the active language)."""
    lines = []
    for result in evaluation.classes:
        values = {"label": LABEL_NAMES[result.label], "right": result.right, "count": result.count}
        lines.append(str(_RIGHT if result.count else _NONE_YET) % values)
    customers = evaluation.of(CUSTOMER)
    if customers.count:
        lines.append(str(_CUSTOMERS_LOST) % {"lost": customers.count - customers.right, "count": customers.count})
    return lines


def learning_status(label_counts: Mapping[str, int], min_per_class: int = MIN_PER_CLASS) -> str:
    """Whether the filter acts or only suggests, with the labels each class has."""
    first, second, third = (
        str(_COUNT) % {"label": LABEL_NAMES[label], "count": label_counts.get(label, 0)} for label in LABELS
    )
    counts = str(_THREE) % {"first": first, "second": second, "third": third}
    ready = all(label_counts.get(label, 0) >= min_per_class for label in LABELS)
    return str(_READY if ready else _LEARNING) % {"minimum": min_per_class, "counts": counts}
