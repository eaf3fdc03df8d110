"""Issue 24: what the refusal path keeps between requests must not leak from one request to the next.

The pages, the typed-text sections and the fields of a body are kept per
process (``refusal``, ``typed``); each request still shows its own minutes,
its own text and its own language.
"""

from __future__ import annotations

import re

import pytest

from formguard import testing

pytestmark = pytest.mark.django_db

CUSTOMER = {"name": "山田 太郎", "email": "taro@example.jp", "message": "閉店時間を教えてください。"}


@pytest.fixture
def limited(client):
    from formguard import policies
    from formguard.models import FormPolicy

    client.get("/contact/")
    FormPolicy.objects.filter(form_key="*").update(captcha_required=False, rate_limit="1/10m")
    policies.invalidate()
    return client


def _minutes(page: str) -> int:
    found = re.search(r"約(\d+)分後にもう一度お試しください", page) or re.search(r"in about (\d+) minutes?\.", page)
    assert found, page
    return int(found.group(1))


def test_each_rate_limited_page_says_its_own_minutes(limited):
    import time_machine
    from django.utils import timezone

    data = {**CUSTOMER, **testing.trap_fields("contact")}
    start = timezone.now().timestamp()
    with time_machine.travel(start, tick=False):
        assert limited.post("/contact/", data, HTTP_ACCEPT_LANGUAGE="ja").status_code == 302
        probe = limited.post("/contact/", data, HTTP_ACCEPT_LANGUAGE="ja")
    assert probe.status_code == 429
    # The window's end, from its Retry-After: both pages below are refused in it.
    end = start + int(probe["Retry-After"])
    with time_machine.travel(end - 595, tick=False):  # (before start, maybe: the same window)
        first = limited.post("/contact/", data, HTTP_ACCEPT_LANGUAGE="ja")
    with time_machine.travel(end - 200, tick=False):
        later = limited.post("/contact/", data, HTTP_ACCEPT_LANGUAGE="ja")
        english = limited.post("/contact/", data, HTTP_ACCEPT_LANGUAGE="en")
    assert first.status_code == later.status_code == english.status_code == 429
    for response in (first, later):
        assert _minutes(response.content.decode()) == -(-int(response["Retry-After"]) // 60)
    assert _minutes(first.content.decode()) == 10 and _minutes(later.content.decode()) == 4
    assert "Please try again in about" in english.content.decode()


def test_each_refusal_shows_its_own_typed_text(limited):
    data = {**CUSTOMER, **testing.trap_fields("contact")}
    assert limited.post("/contact/", data, HTTP_ACCEPT_LANGUAGE="ja").status_code == 302
    one = limited.post("/contact/", data, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    again = limited.post("/contact/", data, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    other = limited.post(
        "/contact/", {**data, "message": "別の&lt;問い合わせ&gt;です。"}, HTTP_ACCEPT_LANGUAGE="ja"
    ).content.decode()
    english = limited.post("/contact/", data, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "閉店時間を教えてください。" in one and "閉店時間を教えてください。" in again
    assert "別の&amp;lt;問い合わせ&amp;gt;です。" in other and "閉店時間" not in other
    assert "Your message was not sent" in english and "閉店時間を教えてください。" in english
