"""Two-step forms (入力 → 確認 → 送信): one captcha solve and one count per message."""

import re

import pytest
import time_machine
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from formguard import policies
from formguard.models import FormPolicy
from formguard.testing import trap_fields
from tests.test_altcha import solve

pytestmark = pytest.mark.django_db

IP = "198.51.100.77"
PATH = "/t/two-step/"
TEXT = {"name": "山田 太郎", "email": "taro@example.jp", "message": "在庫について\r\n教えてください。"}


@pytest.fixture(autouse=True)
def demo_settings(frozen_clock):
    with override_settings(FORMGUARD=settings.DEMO_FORMGUARD):
        policies.ensure_row("two-step")
        # One message per address per ten minutes: a second count would refuse the send step.
        FormPolicy.objects.filter(form_key="two-step").update(captcha_difficulty=10, rate_limit="1/10m")
        policies.invalidate()
        yield


def confirm(client, data=TEXT, ip=IP):
    token = solve(client, path=f"{PATH}?formguard=altcha-challenge", ip=ip)
    response = client.post(PATH, {**data, **trap_fields("two-step"), "altcha": token, "confirm": "1"}, REMOTE_ADDR=ip)
    assert response.status_code == 200
    page = response.content.decode()
    assert "確認" in page
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.replace("&#x27;", "'")))


def send(client, hidden, ip=IP, **changes):
    return client.post(PATH, {**hidden, **changes, "send": "1"}, REMOTE_ADDR=ip)


def test_one_solve_and_one_count_per_message(client, mailoutbox):
    hidden = confirm(client)
    assert "formguard-verified" in hidden
    assert "altcha" not in hidden  # the send step solves nothing
    response = send(client, hidden)
    assert response.status_code == 302
    assert len(mailoutbox) == 1 and mailoutbox[0].body == "在庫について\r\n教えてください。"
    # The limit is one message per ten minutes: the next message's first step is the second count.
    token = solve(client, path=f"{PATH}?formguard=altcha-challenge", ip=IP)
    again = {**TEXT, **trap_fields("two-step"), "altcha": token, "confirm": "1"}
    assert client.post(PATH, again, REMOTE_ADDR=IP).status_code == 429


def test_without_the_token_the_send_step_is_counted_and_asked_again(client, mailoutbox):
    hidden = confirm(client)
    del hidden["formguard-verified"]
    response = send(client, hidden)
    assert response.status_code == 429  # counted a second time: over the 1/10m limit
    assert mailoutbox == []


def test_the_token_holds_for_the_fields_it_was_issued_for_once(client, mailoutbox):
    hidden = confirm(client)
    changed = send(client, hidden, message="別の内容に書き換えたスパム")
    assert changed.status_code == 429 and mailoutbox == []
    assert send(client, hidden).status_code == 302
    again = send(client, hidden)  # the same confirmation posted twice: one message
    assert again.status_code == 429
    assert len(mailoutbox) == 1


def test_the_token_expires_and_is_for_its_own_form(client, mailoutbox):
    hidden = confirm(client)
    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=1801)):
        assert send(client, hidden, ip="198.51.100.78").status_code == 200  # asked for the captcha
    other = client.post("/t/fn-form/", {"message": TEXT["message"], "formguard-verified": hidden["formguard-verified"]})
    assert other.status_code == 200  # the fn form asks for its captcha
    assert mailoutbox == []


def test_the_send_step_runs_the_content_rules_again(client, mailoutbox):
    """An NG word the owner adds between the confirm step and the send step still stops the message."""
    pitch = {**TEXT, "message": "仮想通貨の自動売買で\r\n毎月100万円の利益が出ています。"}
    hidden = confirm(client, pitch)
    FormPolicy.objects.filter(form_key="*").update(ng_words="仮想通貨")
    policies.invalidate()
    response = send(client, hidden)
    assert response.status_code == 200
    assert "Your message contains words that this form does not accept." in response.content.decode()
    assert mailoutbox == []
    # Still neither counted again (the limit is 1 per 10 minutes) nor asked for the captcha:
    # an innocent message confirmed beforehand goes.
    FormPolicy.objects.filter(form_key="*").update(ng_words="")
    policies.invalidate()
    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=1)):
        innocent = confirm(client, ip="198.51.100.79")
        FormPolicy.objects.filter(form_key="*").update(ng_words="仮想通貨")
        policies.invalidate()
        assert send(client, innocent, ip="198.51.100.79").status_code == 302
    assert len(mailoutbox) == 1
