"""0. A held submission the owner released: its signed, one-use release mark lets it through.

``release.release`` dispatches the stored POST to the form's view with a release
mark (``release.RELEASE_HEADER``). A valid mark is the owner's decision that
this submission passes: allowed, every other step skipped (the close switch,
the rate limit and the traps judged it when it came; its captcha was solved
then). A forged, expired, reused or other form's mark is ignored and the POST
is judged like any other.
"""

from __future__ import annotations

from ..attempt import Attempt, Verdict
from ..release import redeem_mark


def check_released(attempt: Attempt) -> Verdict | None:
    if not attempt.is_submission:
        return None
    submission_id = redeem_mark(attempt.request, attempt.form_key)
    if submission_id is None:
        return None
    # Django's CSRF check is passed, as the CSRF middleware marks a request it
    # accepted. A CSRF token proves the POST comes from a page of this site in
    # the visitor's browser; the mark proves more: it was made by this site's
    # SECRET_KEY for this submission of this form, moments ago, in the admin
    # of an owner allowed to release, and it is good once. It travels in a
    # request formguard builds itself, never through a browser, so no other
    # site can make one carry it (what CSRF protects against).
    attempt.request.csrf_processing_done = True  # type: ignore[attr-defined]
    return Verdict.allow("released", detail={"submission": submission_id})
