"""Checks of the site's forms: a consent box is never ticked in advance."""

from __future__ import annotations

import contextlib
from typing import Any

from django.core.checks import Error, Tags, register


@register(Tags.compatibility)
def check_consent_fields(app_configs: Any = None, **kwargs: Any) -> list:
    """Consent is given by the visitor, never assumed (特定電子メール法; みなし承諾 is not consent).

    ``ConsentField`` notes where it was built with ``initial=True``. Forms
    are built when their modules are imported; the URLconf imports the views
    and their forms, so it is loaded first.
    """
    from django.urls import get_resolver

    from ..forms import PRE_TICKED_CONSENT

    # Django's own URL checks report a broken URLconf.
    with contextlib.suppress(Exception):
        get_resolver().url_patterns  # noqa: B018 (imports the views and their forms)
    return [
        Error(
            f"A ConsentField is pre-ticked (initial=True) at {where}.",
            hint="Consent must be given by ticking the box: remove initial=True. formguard shows it unticked anyway.",
            id="formguard.E015",
        )
        for where in dict.fromkeys(PRE_TICKED_CONSENT)
    ]
