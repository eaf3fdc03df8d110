"""Database rows, one module per concern: policies, block rules, incidents, contacts, the action log,
submissions held for review or kept for labels.

Policies and rules are the source of truth and are edited in the admin;
requests read them through caches (``formguard.policies``, ``formguard.rules``)
that are invalidated when a row is saved or deleted. Everything is importable
from ``formguard.models`` as before; Django keys the models by app label, so
their modules are free to move without a migration.
"""

from .action_log import (
    ActionLog,
)
from .choices import (
    COUNTRY_MISTAKES,
    RULE_ACTIONS,
    SITE_WIDE,
    CountryMode,
    FilterAction,
    OutsideCountry,
    TrapAction,
    parse_countries,
    validate_countries,
    validate_country,
    validate_optional_rate,
    validate_rate,
)
from .contacts import (
    LINE_ID_RE,
    PHONE_RE,
    QQ_NUMBER_RE,
    QR_IMAGE_MAX_BYTES,
    QR_IMAGE_SIGNATURES,
    WECHAT_ID_RE,
    AlternativeContact,
    phone_digits,
    validate_qr_image,
)
from .filter_model import SITE_MODEL, FilterModel
from .incidents import (
    Incident,
)
from .policies import (
    FormPolicy,
)
from .reasons import (
    BURST_REASON,
    BURST_REASON_RE,
    FLOOD_REASON,
    FLOOD_REASON_RE,
    NOT_SPAM_REASONS,
    SPAM_EVIDENCE,
    Reason,
    describe_reason,
)
from .rules import (
    BlockRule,
)
from .submissions import Label, Submission, SubmissionStatus

__all__ = [
    "ActionLog",
    "AlternativeContact",
    "BURST_REASON",
    "BURST_REASON_RE",
    "BlockRule",
    "COUNTRY_MISTAKES",
    "CountryMode",
    "FLOOD_REASON",
    "FilterAction",
    "FilterModel",
    "SITE_MODEL",
    "FLOOD_REASON_RE",
    "FormPolicy",
    "Incident",
    "LINE_ID_RE",
    "Label",
    "NOT_SPAM_REASONS",
    "SPAM_EVIDENCE",
    "OutsideCountry",
    "PHONE_RE",
    "QQ_NUMBER_RE",
    "QR_IMAGE_MAX_BYTES",
    "QR_IMAGE_SIGNATURES",
    "RULE_ACTIONS",
    "Reason",
    "SITE_WIDE",
    "Submission",
    "SubmissionStatus",
    "TrapAction",
    "WECHAT_ID_RE",
    "describe_reason",
    "parse_countries",
    "phone_digits",
    "validate_countries",
    "validate_country",
    "validate_optional_rate",
    "validate_qr_image",
    "validate_rate",
]
