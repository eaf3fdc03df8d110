"""``label``: the page a label link in the staff's mail opens (``formguard.mail.label_links``).

Mail scanners and link previews open every link in a mail, so a GET never
labels: it shows what the link would do and a button; the POST labels, through
``labels.give`` (by "mail"). A link is good once: a submission that has a
label already answers "already done" whoever gave it, so a second click, or an
old link after the owner labelled it in the admin, changes nothing. An expired
link says so (410); a link formguard did not sign gets 400; in neither case is
anything read or changed.
"""

from __future__ import annotations

from django.core import signing
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from . import labels, mail
from .forms import label_for
from .models import Label, Submission

TEMPLATE = "formguard/label/page.html"
# What a person is asked to confirm, per label.
QUESTIONS = {
    Label.SPAM: _("Mark this message as spam (迷惑)?"),
    Label.SALES: _("Mark this message as a sales pitch (営業)?"),
    Label.CUSTOMER: _("Mark this message as from a customer (お客様)?"),
}


def _page(request: HttpRequest, state: str, status: int = 200, **context: object) -> HttpResponse:
    response = render(request, TEMPLATE, {"state": state, **context}, status=status)
    # The token is in the URL: no referrer, no index.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def label(request: HttpRequest, token: str) -> HttpResponse:
    try:
        submission_id, given = mail.read_token(token)
    except signing.SignatureExpired:
        return _page(request, "expired", 410)
    except signing.BadSignature:
        return _page(request, "invalid", 400)
    submission = Submission.objects.filter(pk=submission_id).first()
    if submission is None:  # purged after its retention, or deleted in the admin
        return _page(request, "gone", 410)
    rows = [(label_for(name, submission.form_key), value) for name, value in submission.fields[:6]]
    context = {"submission": submission, "rows": rows, "label": Label(given).label, "question": QUESTIONS[Label(given)]}
    if submission.label:
        return _page(request, "done", **{**context, "label": Label(submission.label).label})
    if request.method != "POST":
        return _page(request, "ask", **context)
    with transaction.atomic():
        # Two clicks at once (two links, two devices): the first wins.
        locked = Submission.objects.select_for_update().get(pk=submission.pk)
        if locked.label:
            return _page(request, "done", **{**context, "label": Label(locked.label).label})
        labels.give(locked, given, by="mail")
    return _page(request, "labelled", **context)
