"""ConsentField: opt-in, never pre-ticked, with the time consent was given."""

import re
from datetime import datetime

import pytest
from django import forms
from django.core.checks import run_checks
from django.core.management import call_command
from django.utils import timezone

from formguard import forms as formguard_forms
from formguard.forms import ConsentField

INQUIRY = {"name": "山田 太郎", "email": "taro@example.jp", "message": "商品について質問があります。"}


class NewsForm(forms.Form):
    email = forms.EmailField()
    news = ConsentField(label="Send me news")


@pytest.fixture
def registry():
    """The pre-ticked declarations noted while a test runs, forgotten after it."""
    before = list(formguard_forms.PRE_TICKED_CONSENT)
    yield formguard_forms.PRE_TICKED_CONSENT
    formguard_forms.PRE_TICKED_CONSENT[:] = before


def _checked(html):
    return re.search(r'<input type="checkbox"[^>]*\bchecked\b', html) is not None


def test_unticked_by_default_and_not_required():
    form = NewsForm()
    assert not _checked(str(form["news"]))
    assert not form.fields["news"].required
    bound = NewsForm({"email": "a@example.jp"})
    assert bound.is_valid(), bound.errors
    assert bound.cleaned_data["news"] is None


def test_initial_data_from_the_form_or_the_view_never_ticks_it():
    assert not _checked(str(NewsForm(initial={"news": True})["news"]))


def test_the_visitors_own_tick_is_kept_when_the_form_comes_back():
    form = NewsForm({"email": "not an address", "news": "on"})
    assert not form.is_valid()
    assert _checked(str(form["news"]))


def test_consent_records_when_it_was_given():
    before = timezone.now()
    form = NewsForm({"email": "a@example.jp", "news": "on"})
    assert form.is_valid()
    given = form.cleaned_data["news"]
    assert isinstance(given, datetime) and timezone.is_aware(given)
    assert before <= given <= timezone.now()


def test_a_pre_ticked_declaration_is_a_system_check_error(registry):
    assert [e for e in run_checks() if e.id == "formguard.E015"] == []

    class SneakyForm(forms.Form):
        news = ConsentField(label="News", initial=True)

    errors = [e for e in run_checks() if e.id == "formguard.E015"]
    assert len(errors) == 1
    assert "test_consent.py:" in errors[0].msg
    # ... and the box is still shown unticked.
    assert not _checked(str(SneakyForm()["news"]))


def test_the_demo_passes_the_checks(registry):
    call_command("check")


@pytest.mark.django_db
def test_the_demo_form_has_it_unticked_and_the_mail_says_whether_consent_was_given(client, mailoutbox):
    html = client.get("/contact/").content.decode()
    assert 'name="news"' in html and not _checked(html)

    assert client.post("/contact/", {**INQUIRY, "news": "on"}).status_code == 302
    assert client.post("/contact/", INQUIRY).status_code == 302
    given, refused = (m.body for m in mailoutbox)
    assert re.search(r"News by email: consent given at \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} JST", given)
    assert "News by email: no consent" in refused
