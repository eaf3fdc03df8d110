"""Issue 22, 営業お断り: the policy's notice at the top of the guarded form, where form-sales tools read it."""

import re

import pytest
from django.conf import settings

from formguard import policies
from formguard.models import FormPolicy
from formguard.testing import trap_fields

pytestmark = pytest.mark.django_db

DEFAULT_JA = "営業・勧誘目的のご連絡はご遠慮ください。"
NOTICE = re.compile(r'<span class="fg-sales-notice" role="note">(.*?)</span>', re.S)


def form_of(client, language="ja"):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    page = client.get("/contact/").content.decode()
    return page[page.index("<form") : page.index("</form>")]


def set_policy(**values):
    FormPolicy.objects.update_or_create(form_key="*", defaults=values)
    policies.invalidate()


def test_the_notice_is_at_the_top_of_the_form_in_text_that_form_sales_tools_read(client, contact_data, mailoutbox):
    form = form_of(client)
    assert NOTICE.search(form).group(1) == DEFAULT_JA
    # Before every field a visitor fills in.
    assert form.index("fg-sales-notice") < form.index('name="name"')
    # What public form-sales code looks for in the page's text: a word of sales beside a word of refusal.
    text = re.sub(r"<[^>]+>", "", form)
    assert "営業" in text and re.search("遠慮|断り", text)
    english = form_of(client, "en")
    assert NOTICE.search(english).group(1) == "We do not accept sales pitches or solicitations through this form."
    # The form still sends as before.
    assert client.post("/contact/", contact_data).status_code == 302 and len(mailoutbox) == 1


def test_the_owners_text_and_no_notice_when_off(client):
    set_policy(sales_notice_text="営業のご連絡はお断りしております。")
    assert NOTICE.search(form_of(client)).group(1) == "営業のご連絡はお断りしております。"
    set_policy(sales_notice=False)
    assert "fg-sales-notice" not in form_of(client) and "営業" not in form_of(client)


def test_a_refused_post_shows_the_form_again_with_the_notice_and_the_text_kept(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ja"
    data = {"name": "山田", "email": "taro@example.jp", **trap_fields("contact")}
    page = client.post("/contact/", {**data, "message": "See https://a.example/ https://b.example/ https://c.example/"})
    assert page.status_code == 200
    assert DEFAULT_JA in page.content.decode() and "https://c.example/" in page.content.decode()
