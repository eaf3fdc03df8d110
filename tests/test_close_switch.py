"""The emergency close switch, end to end through the demo site."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from formguard import incidents
from formguard.models import FormPolicy, Incident, Reason

pytestmark = pytest.mark.django_db


def test_open_form_serves_and_sends_one_email(client, mailoutbox, contact_data):
    assert client.get("/contact/").status_code == 200
    response = client.post("/contact/", contact_data)
    assert response.status_code == 302
    assert response["Location"] == "/contact/thanks/"
    assert len(mailoutbox) == 1
    assert contact_data["message"] in mailoutbox[0].body


def test_close_for_an_hour_refuses_get_and_post(client, mailoutbox, contact_data, capsys):
    call_command("formguard", "close", "--for", "1h")
    assert "closed until" in capsys.readouterr().out

    get = client.get("/contact/")
    assert get.status_code == 503
    assert 3590 <= int(get["Retry-After"]) <= 3600
    assert "no-store" in get["Cache-Control"] or "no-cache" in get["Cache-Control"]

    post = client.post("/contact/", contact_data)
    assert post.status_code == 503
    assert 3590 <= int(post["Retry-After"]) <= 3600
    assert mailoutbox == []
    # The visitor's typed message is on the page, to copy.
    assert contact_data["message"] in post.content.decode()

    incidents.flush_pending()
    # The view and the submission are counted apart (a report tells them apart).
    closed = {row.method: row for row in Incident.objects.filter(reason=Reason.CLOSED)}
    assert {method: row.count for method, row in closed.items()} == {"GET": 1, "POST": 1}
    assert {row.form_key for row in closed.values()} == {"contact"}
    assert {row.ip for row in closed.values()} == {"127.0.0.1"}

    call_command("formguard", "open")
    assert client.get("/contact/").status_code == 200
    assert client.post("/contact/", contact_data).status_code == 302
    assert len(mailoutbox) == 1


def test_closed_form_reopens_by_itself(client):
    call_command("formguard", "close", "--form", "contact", "--for", "30m")
    assert client.get("/contact/").status_code == 503
    with time_machine.travel(timezone.now() + timedelta(minutes=29), tick=False):
        response = client.get("/contact/")
        assert response.status_code == 503
        assert 55 <= int(response["Retry-After"]) <= 60
    with time_machine.travel(timezone.now() + timedelta(minutes=31), tick=False):
        assert client.get("/contact/").status_code == 200


def test_close_without_time_has_no_retry_after_and_shows_message(client):
    call_command("formguard", "close", "--form", "contact", "--message", "メンテナンス中です。お電話ください。")
    response = client.get("/contact/", HTTP_ACCEPT_LANGUAGE="ja")
    assert response.status_code == 503
    assert "Retry-After" not in response
    assert "メンテナンス中です。お電話ください。" in response.content.decode()


def test_closing_one_form_leaves_the_others_open(client):
    call_command("formguard", "close", "--form", "contact")
    assert client.get("/contact/").status_code == 503
    assert client.get("/t/plain/").status_code == 200


def test_site_wide_close_closes_every_form_but_not_the_admin(client, admin_client):
    call_command("formguard", "close")
    assert client.get("/contact/").status_code == 503
    assert client.get("/t/plain/").status_code == 503
    assert client.get("/t/cbv/").status_code == 503
    assert client.get("/t/unguarded/").status_code == 200
    assert admin_client.get("/admin/").status_code == 200
    assert admin_client.get("/admin/formguard/formpolicy/").status_code == 200


def test_status_lists_every_form(client, capsys):
    client.get("/contact/")
    call_command("formguard", "close", "--form", "contact", "--for", "2h")
    capsys.readouterr()
    call_command("formguard", "status")
    out = capsys.readouterr().out
    assert "contact" in out and "CLOSED until" in out
    assert "* (site-wide)" in out


def test_status_on_a_fresh_site(capsys):
    FormPolicy.objects.all().delete()
    call_command("formguard", "status")
    assert "every form is open" in capsys.readouterr().out


def test_bad_duration_is_a_clear_error():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Not a duration"):
        call_command("formguard", "close", "--for", "soon")
    assert not FormPolicy.objects.filter(closed=True).exists()


def test_closed_page_is_japanese_for_japanese_visitors(client):
    call_command("formguard", "close", "--form", "contact")
    response = client.get("/contact/", HTTP_ACCEPT_LANGUAGE="ja")
    assert "このフォームは現在停止しています" in response.content.decode()


def test_closed_until_in_the_past_is_open(client):
    FormPolicy.objects.update_or_create(
        form_key="contact", defaults={"closed": True, "closed_until": timezone.now() - timedelta(seconds=1)}
    )
    assert client.get("/contact/").status_code == 200


def test_command_speaks_japanese_on_a_japanese_site(capsys):
    from django.utils import translation

    with translation.override("ja"):
        call_command("formguard", "close", "--form", "contact", "--for", "2h")
        call_command("formguard", "status")
    out = capsys.readouterr().out
    assert "フォーム 'contact' を" in out and "まで停止しました" in out
    assert "停止中（" in out


@pytest.mark.django_db
def test_the_typed_text_comes_back_labelled_in_the_visitors_language_and_escaped(client):
    from django.core.management import call_command

    call_command("formguard", "close", "--for", "1h")
    typed = {"name": "山田 太郎", "email": "taro@example.jp", "message": "一行目\n<b>二行目</b>"}
    page = client.post("/contact/", typed, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "お名前" in page and "メールアドレス" in page and "お問い合わせ内容" in page
    assert ">name<" not in page
    assert 'value="山田 太郎"' in page
    assert "一行目\n&lt;b&gt;二行目&lt;/b&gt;</textarea>" in page
    assert "<b>" not in page
    english = client.post("/contact/", typed, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Email" in english and "お名前" not in english


@pytest.mark.django_db
def test_status_says_where_the_state_lives_and_whether_it_answers(capsys):
    from django.core.management import call_command
    from django.test import override_settings

    from formguard.store import get_store

    call_command("formguard", "status")
    assert f"the embedded store {get_store().path}, shared by every process of this machine" in capsys.readouterr().out
    with override_settings(FORMGUARD={"STATE_PATH": "/proc/formguard-dead/state.sqlite3"}):
        call_command("formguard", "status")
    assert "does not answer" in capsys.readouterr().out


def _closed_page(client, language):
    response = client.get("/contact/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 503
    return response.content.decode()


def test_a_closures_message_belongs_to_that_closure_in_its_language(client):
    """Issue 23, item 2: ``close --message`` is that closure's, in the language it was written in."""
    notice = "棚卸しのため本日はお休みします"
    FormPolicy.objects.update_or_create(
        form_key="contact", defaults={"closed_message_ja": "ただいま停止中です。", "closed_message_en": ""}
    )
    call_command("formguard", "close", "--form", "contact", "--message", notice)
    assert notice in _closed_page(client, "ja")
    english = _closed_page(client, "en")
    assert notice not in english and "This form is closed for now" in english
    # The owner's standing texts are kept as they were.
    row = FormPolicy.objects.get(form_key="contact")
    assert (row.closed_message_ja, row.closed_message_en) == ("ただいま停止中です。", "")

    call_command("formguard", "open", "--form", "contact")
    call_command("formguard", "close", "--form", "contact", "--for", "10m")
    page = _closed_page(client, "ja")
    assert notice not in page and "ただいま停止中です。" in page

    # An English text goes to the English page only; --message-en says so outright.
    call_command("formguard", "close", "--form", "contact", "--message", "Closed for stock-taking today.")
    assert "Closed for stock-taking today." in _closed_page(client, "en")
    assert "Closed for stock-taking today." not in _closed_page(client, "ja")
    call_command(
        "formguard", "close", "--form", "contact", "--message", "Inventory", "--lang", "ja", "--message-en", "Back soon"
    )
    assert "Inventory" in _closed_page(client, "ja") and "Back soon" in _closed_page(client, "en")


def test_the_next_automatic_closure_does_not_repeat_an_operators_message(client):
    from tests.test_traps import set_policy
    from tests.test_under_a_flood import a_window_start, send_like_a_person

    notice = "棚卸しのため本日はお休みします"
    call_command("formguard", "close", "--form", "contact", "--message", notice, "--for", "1m")
    assert notice in _closed_page(client, "ja")
    # The closure ends by itself; later the flood breaker closes the form.
    set_policy("*", flood_limit="5/10m", flood_close=True, flood_close_minutes=30)
    from django.test import Client

    visitor = Client(enforce_csrf_checks=True)
    with time_machine.travel(a_window_start(600) + timedelta(hours=1), tick=False) as clock:
        statuses = [send_like_a_person(visitor, clock).status_code for _ in range(14)]
        assert statuses[-1] == 503, statuses
        assert FormPolicy.objects.get(form_key="contact").closed
        page = _closed_page(client, "ja")
    assert notice not in page and "迷惑な送信が続いているため" in page
