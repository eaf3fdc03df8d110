"""Release, discard and label from the review inbox (issue 22): a released message arrives once, as the view sends it.

The owner works through the admin (pytest-django's ``admin_client``); the
message reaches the demo's /contact/ view again through Django's whole
handler, with a signed, one-use release mark.
"""

import itertools
import re
import time

import pytest
import time_machine
from django.core import signing
from django.test import Client
from django.urls import resolve

from formguard import incidents, release, signals
from formguard.marks import RELEASE_ATTRIBUTE
from formguard.middleware import forget_paths
from formguard.models import Incident, Label, Submission, SubmissionStatus
from formguard.traps import HONEYPOT_FIELD
from tests.test_hold import post, set_policy

pytestmark = pytest.mark.django_db

INQUIRY = {"name": "山田 太郎", "email": "taro@example.jp", "message": "急ぎで見積もりをお願いします。"}
_ips = (f"198.51.100.{n}" for n in itertools.count(101))


def delivered_as_the_view_sends_it(mailoutbox):
    """What the demo's view mails for INQUIRY when it passes (subject, body, recipients)."""
    assert post(INQUIRY).status_code == 302
    (mail,) = mailoutbox
    mailoutbox.clear()
    Submission.objects.all().delete()
    return mail


def held_inquiry():
    set_policy(honeypot_action="fake_success")
    assert post({**INQUIRY, HONEYPOT_FIELD: "autofill"}).status_code == 302
    return Submission.objects.get(status=SubmissionStatus.HELD)


LABEL_LINK = re.compile(r"http://testserver/formguard/label/\S+/")


def test_release_from_the_admin_sends_exactly_one_mail_as_the_view_would_and_a_second_release_nothing(
    admin_client, mailoutbox
):
    expected = delivered_as_the_view_sends_it(mailoutbox)
    held = held_inquiry()
    assert mailoutbox == []
    released = []
    signals.submission_released.connect(lambda **kw: released.append(kw), weak=False, dispatch_uid="t")
    try:
        response = admin_client.post(f"/admin/formguard/submission/{held.pk}/release/", follow=True)
        assert response.status_code == 200
        (mail,) = mailoutbox
        # The same mail, but for the label links: they name the row kept (its own signed token).
        assert "/formguard/label/" in mail.body
        assert (mail.subject, LABEL_LINK.sub("<link>", mail.body), mail.to, mail.from_email) == (
            expected.subject,
            LABEL_LINK.sub("<link>", expected.body),
            expected.to,
            expected.from_email,
        )
        held.refresh_from_db()
        assert held.status == SubmissionStatus.RELEASED and held.released_at is not None
        assert len(released) == 1 and released[0]["response"].status_code == 302
        # The second press does nothing, and says so.
        again = admin_client.post(f"/admin/formguard/submission/{held.pk}/release/", follow=True)
        assert len(mailoutbox) == 1
        assert "already released" in again.content.decode()
    finally:
        signals.submission_released.disconnect(dispatch_uid="t")
    # The admin's history says who released it.
    from django.contrib.admin.models import LogEntry

    assert LogEntry.objects.get(object_id=str(held.pk)).user.username == "admin"


def test_a_release_mark_that_is_forged_expired_or_used_is_worth_nothing(mailoutbox):
    held = held_inquiry()
    fields = dict(held.fields)

    def replay(mark):
        client = Client(enforce_csrf_checks=True)
        return client.post("/contact/", fields, REMOTE_ADDR=next(_ips), HTTP_X_FORMGUARD_RELEASE=mark)

    forged = signing.dumps({"s": held.pk, "f": "contact", "n": "x"}, salt="someone.else")
    assert replay(forged).status_code == 403  # Django's CSRF refusal, as for any POST without a token
    other_form = signing.dumps({"s": held.pk, "f": "other", "n": "y"}, salt=release.SALT)
    assert replay(other_form).status_code == 403
    with time_machine.travel(time.time() - release.MARK_MAX_AGE - 5, tick=False):
        expired = release.sign_mark(held)
    assert replay(expired).status_code == 403
    fresh = release.sign_mark(held)
    assert replay(fresh).status_code == 302  # honoured once…
    assert len(mailoutbox) == 1
    assert replay(fresh).status_code == 403  # …and never again
    assert len(mailoutbox) == 1


def test_discard_from_the_admin_sends_nothing_and_a_discarded_message_cannot_be_released(admin_client, mailoutbox):
    held = held_inquiry()
    admin_client.post(f"/admin/formguard/submission/{held.pk}/discard/")
    held.refresh_from_db()
    assert held.status == SubmissionStatus.DISCARDED
    admin_client.post(f"/admin/formguard/submission/{held.pk}/release/")
    assert mailoutbox == []


def test_labels_from_the_inbox_go_through_labels_give(admin_client):
    held = held_inquiry()
    given = []
    signals.submission_labelled.connect(lambda **kw: given.append(kw), weak=False, dispatch_uid="t")
    try:
        admin_client.post(f"/admin/formguard/submission/{held.pk}/label/sales/")
        data = {"action": "label_spam", "_selected_action": [held.pk]}
        admin_client.post("/admin/formguard/submission/", data)
    finally:
        signals.submission_labelled.disconnect(dispatch_uid="t")
    held.refresh_from_db()
    assert held.label == Label.SPAM and held.labelled_by == "admin"
    assert [(g["label"], g["previous"]) for g in given] == [(Label.SALES, ""), (Label.SPAM, Label.SALES)]


def test_a_view_that_cannot_be_run_again_is_delivered_by_the_signal_and_stays_held_without_a_receiver(
    admin_client, mailoutbox, settings
):
    held = held_inquiry()
    view = resolve("/contact/").func
    setattr(view, RELEASE_ATTRIBUTE, "signal")
    try:
        admin_client.post(f"/admin/formguard/submission/{held.pk}/release/")
        held.refresh_from_db()
        assert held.status == SubmissionStatus.HELD  # nothing would deliver it
        got = []
        signals.submission_released.connect(lambda **kw: got.append(kw), weak=False, dispatch_uid="t")
        admin_client.post(f"/admin/formguard/submission/{held.pk}/release/")
        signals.submission_released.disconnect(dispatch_uid="t")
        held.refresh_from_db()
        assert held.status == SubmissionStatus.RELEASED
        assert got[0]["response"] is None and got[0]["submission"].value("message") == INQUIRY["message"]
        assert mailoutbox == []  # the hook sends it, not the view
    finally:
        setattr(view, RELEASE_ATTRIBUTE, "replay")
        forget_paths()


def test_the_inbox_lists_held_messages_newest_first_with_why_and_the_text(admin_client):
    held_inquiry()
    set_policy(links_action="hold", max_links=0)
    post({**INQUIRY, "message": "こちらをご覧ください https://example.com/x"})
    page = admin_client.get("/admin/formguard/submission/").content.decode()
    assert page.index("https://example.com/x") < page.index(INQUIRY["message"])
    assert "honeypot" in page.lower() or "ハニーポット" in page
    assert page.count('class="fg-release"') == 2
    assert admin_client.get("/admin/formguard/submission/add/").status_code == 403
    assert "2" in admin_client.get("/admin/formguard/").content.decode().split('id="fg-held-link"')[1][:40]


def test_an_incident_with_a_sample_is_labelled_from_the_incident_log_so_the_filter_learns(admin_client):
    set_policy(links_action="refuse", max_links=0)
    post({**INQUIRY, "message": "SEO対策のご提案です https://seo.example"})
    incidents.flush_pending()
    incident = Incident.objects.get()
    given = []
    signals.submission_labelled.connect(lambda **kw: given.append(kw), weak=False, dispatch_uid="t")
    try:
        data = {"action": "label_sales", "_selected_action": [incident.pk]}
        admin_client.post("/admin/formguard/incident/", data)
        admin_client.post("/admin/formguard/incident/", data)  # once is enough
    finally:
        signals.submission_labelled.disconnect(dispatch_uid="t")
    made = Submission.objects.get()
    assert made.status == SubmissionStatus.DISCARDED and made.label == Label.SALES
    assert made.value("message") == "SEO対策のご提案です https://seo.example"
    assert len(given) == 1 and given[0]["submission"].pk == made.pk


def test_an_error_in_the_view_leaves_the_message_held_and_tells_the_owner(admin_client, mailoutbox, monkeypatch):
    held = held_inquiry()

    def mail_server_down(**kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr("project.contact.views.send_mail", mail_server_down)
    # The test client re-raises any request's exception, the view's inside the release too;
    # a server answers the owner's request.
    admin_client.raise_request_exception = False
    page = admin_client.post(f"/admin/formguard/submission/{held.pk}/release/", follow=True).content.decode()
    held.refresh_from_db()
    assert held.status == SubmissionStatus.HELD and held.released_at is None
    assert "500" in page and "still held" in page
    monkeypatch.undo()
    admin_client.post(f"/admin/formguard/submission/{held.pk}/release/")
    assert len(mailoutbox) == 1  # released once the mail server is back
