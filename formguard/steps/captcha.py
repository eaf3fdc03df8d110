"""8. The captcha: a missing or failed solution is a form error, the visitor's input kept."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from .. import captcha
from ..attempt import Attempt, Verdict
from ..conf import conf
from ..models import Reason

SHARED_IP_MESSAGE = gettext_lazy(
    "Many messages have just come from your network (a school, an office or a mobile carrier, perhaps). "
    "Please complete the captcha below, and your message will be sent."
)


def check_captcha(attempt: Attempt) -> Verdict | None:
    if not attempt.is_submission or not attempt.wants_captcha or attempt.verified or attempt.captcha_checked:
        return None
    provider = captcha.get_provider()
    if provider is None:  # not configured: the admin and check --deploy say so
        return None
    if attempt.csrf_refused:
        # Django's CSRF check, further down the middleware, refuses this POST
        # anyway; asking the provider first would let anyone spend the site's
        # captcha quota with forged POSTs.
        return None
    attempt.captcha_checked = True
    result = captcha.verify_attempt(attempt, provider)
    if result.passed:
        return None
    detail = {"provider": provider.name, "error_codes": list(result.error_codes), **result.detail}
    if result.score is not None:
        detail["score"] = result.score
    if result.unavailable:
        if conf.CAPTCHA["ON_UNAVAILABLE"] == "open":
            # Let the visitor through, but on the record.
            return Verdict.allow("captcha", reason=Reason.CAPTCHA_UNAVAILABLE, detail=detail)
        reason = Reason.CAPTCHA_UNAVAILABLE
    else:
        reason = Reason.CAPTCHA
    if attempt.shared_ip_retry_after is not None:
        # The form comes back with the captcha and what was typed, but as a
        # 429: to a client that does not solve, it is the rate limit.
        message = result.message()
        if "missing-input-response" in result.error_codes:
            message = str(SHARED_IP_MESSAGE)
        return Verdict.refuse(
            "captcha", reason, 429, retry_after=attempt.shared_ip_retry_after, form_error=message, detail=detail
        )
    return Verdict.refuse("captcha", reason, 200, form_error=result.message(), detail=detail)
