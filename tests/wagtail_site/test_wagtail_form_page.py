"""A Wagtail form page an editor made, guarded end to end by ``GuardedFormPageMixin`` (issue 25).

Run with this site's settings: ``pytest --ds tests.wagtail_site.settings tests/wagtail_site``
(scripts/test.sh does, when Wagtail is installed). Under the suite's own settings the
module is skipped.
"""

import itertools

import pytest
from django.conf import settings

if "tests.wagtail_site" not in settings.INSTALLED_APPS:
    pytest.skip("the Wagtail site's tests run with --ds tests.wagtail_site.settings", allow_module_level=True)

from django.test import Client  # noqa: E402
from wagtail.contrib.forms.models import FormSubmission  # noqa: E402
from wagtail.models import Page  # noqa: E402

from formguard import policies  # noqa: E402
from formguard.models import BlockRule, FormPolicy, Submission, SubmissionStatus  # noqa: E402
from formguard.testing import trap_fields  # noqa: E402
from formguard.traps import HONEYPOT_FIELD, TIME_FIELD  # noqa: E402

from .models import ContactFormPage, FormField  # noqa: E402

pytestmark = pytest.mark.django_db

INQUIRY = {"name": "山田 太郎", "email": "taro@example.jp", "message": "商品の在庫について質問があります。"}
_ips = (f"198.51.100.{n}" for n in itertools.count(10))


@pytest.fixture
def page():
    return make_form_page()


def make_form_page():
    """The form page as an editor makes it in Wagtail's admin: three fields, mailed to the staff."""
    home = Page.objects.get(depth=2)  # the root page of Wagtail's default site
    page = home.add_child(
        instance=ContactFormPage(
            title="お問い合わせ",
            slug="inquiry",
            intro="ご質問はこちらからどうぞ。",
            thank_you_text="お問い合わせありがとうございました。",
            to_address="staff@example.jp",
            from_address="web@example.jp",
            subject="ウェブサイトからのお問い合わせ",
        )
    )
    for order, (name, label, field_type) in enumerate(
        [
            ("name", "お名前", "singleline"),
            ("email", "メールアドレス", "email"),
            ("message", "お問い合わせ内容", "multiline"),
        ]
    ):
        FormField.objects.create(page=page, sort_order=order, clean_name=name, label=label, field_type=field_type)
    return page


def set_policy(**fields):
    FormPolicy.objects.filter(form_key="inquiry").update(**fields)
    policies.invalidate()


def post(data, ip=None):
    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    return client.post("/inquiry/", {**trap_fields("inquiry", age=12), **data}, REMOTE_ADDR=ip or next(_ips))


def test_a_person_s_message_is_stored_and_mailed_as_wagtail_does_with_the_traps_in_the_form(page, mailoutbox):
    # The page's policy row (named after its slug) is there for the owner once the page is published.
    assert FormPolicy.objects.filter(form_key="inquiry").exists()
    shown = Client().get("/inquiry/")
    assert shown.status_code == 200
    html = shown.content.decode()
    assert f'name="{HONEYPOT_FIELD}"' in html and f'name="{TIME_FIELD}"' in html

    response = post(INQUIRY)
    assert response.status_code == 200
    assert "お問い合わせありがとうございました。" in response.content.decode()
    (submission,) = FormSubmission.objects.filter(page=page)
    assert submission.form_data == INQUIRY  # formguard's own field neither stored…
    (mail,) = mailoutbox
    assert mail.to == ["staff@example.jp"] and "商品の在庫について質問があります。" in mail.body
    assert "formguard" not in mail.body  # …nor mailed


def test_a_flood_from_one_address_is_limited_then_banned(page, mailoutbox, frozen_clock):
    set_policy(rate_limit="3/m", burst_count=5, burst_window=60)
    ip = "203.0.113.7"
    responses = [post(INQUIRY, ip=ip) for _ in range(6)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429, 403]
    limited = responses[3]
    assert int(limited["Retry-After"]) > 0
    assert INQUIRY["message"] in limited.content.decode()  # formguard's page keeps what was typed
    assert BlockRule.objects.filter(network__startswith=ip).exists()
    # Banned: the page itself is refused now, and only the first three were stored and mailed.
    assert Client().get("/inquiry/", REMOTE_ADDR=ip).status_code == 403
    assert FormSubmission.objects.count() == 3 and len(mailoutbox) == 3


def test_a_message_caught_by_a_trap_or_a_content_rule_is_refused_with_what_was_typed_kept(page, mailoutbox):
    set_policy(time_trap_action="refuse", japanese_action="refuse")
    too_fast = post({**INQUIRY, **trap_fields("inquiry", age=0)})
    body = too_fast.content.decode()
    # Wagtail's form again, formguard's error at its top, everything typed still in it.
    assert '<ul class="errorlist nonfield">' in body and "お問い合わせありがとうございました。" not in body
    assert INQUIRY["message"] in body and INQUIRY["name"] in body

    english = {**INQUIRY, "message": "Cheap SEO services for your website, contact us today for a quote."}
    refused = post(english)
    body = refused.content.decode()
    assert "お問い合わせありがとうございました。" not in body
    assert english["message"] in body  # the form again, the text kept
    assert FormSubmission.objects.count() == 0 and mailoutbox == []


def test_a_held_message_is_neither_stored_nor_mailed_until_released_from_the_admin_then_once(
    page, mailoutbox, admin_client
):
    set_policy(honeypot_action="fake_success")
    response = post({**INQUIRY, HONEYPOT_FIELD: "autofill"})
    # The visitor sees the landing page a sent message shows…
    assert response.status_code == 200
    assert "お問い合わせありがとうございました。" in response.content.decode()
    # …but nothing was stored in Wagtail or mailed: it waits in formguard's review inbox.
    assert FormSubmission.objects.count() == 0 and mailoutbox == []
    held = Submission.objects.get(status=SubmissionStatus.HELD)
    assert held.form_key == "inquiry" and held.path == "/inquiry/"

    released = admin_client.post(f"/admin/formguard/submission/{held.pk}/release/", follow=True)
    assert released.status_code == 200
    held.refresh_from_db()
    assert held.status == SubmissionStatus.RELEASED
    (submission,) = FormSubmission.objects.filter(page=page)
    assert submission.form_data == INQUIRY
    assert len(mailoutbox) == 1 and INQUIRY["message"] in mailoutbox[0].body

    admin_client.post(f"/admin/formguard/submission/{held.pk}/release/", follow=True)
    assert FormSubmission.objects.count() == 1 and len(mailoutbox) == 1


def test_the_captcha_is_in_the_form_wagtail_builds_served_from_the_page_and_checked(page, mailoutbox, settings):
    import altcha

    settings.FORMGUARD = {**settings.FORMGUARD, "CAPTCHA": {"PROVIDER": "altcha", "SECRET_KEY": "k" * 64}}
    set_policy(captcha_required=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    shown = client.get("/inquiry/").content.decode()
    assert '<altcha-widget class="fg-captcha" name="altcha" challenge="/inquiry/?formguard=altcha-challenge"' in shown
    # The widget asks the page itself for a challenge: answered by formguard, not by Wagtail.
    challenge = client.get("/inquiry/?formguard=altcha-challenge")
    assert challenge["Content-Type"] == "application/json"
    challenge = altcha.Challenge.from_dict(challenge.json())

    unsolved = post(INQUIRY)
    assert "<altcha-widget" in unsolved.content.decode() and INQUIRY["message"] in unsolved.content.decode()
    assert FormSubmission.objects.count() == 0 and mailoutbox == []

    solution = altcha.Payload(challenge, altcha.solve_challenge(challenge)).to_base64()
    assert "お問い合わせありがとうございました。" in post({**INQUIRY, "altcha": solution}).content.decode()
    assert FormSubmission.objects.get().form_data == INQUIRY and len(mailoutbox) == 1
