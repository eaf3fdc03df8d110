"""Text a visitor submits: kept out of the demo's mail headers, stored by every
database formguard supports, and quoted where a report shows it."""

import html

import pytest

pytestmark = pytest.mark.django_db

# Every separator str.splitlines() knows: Django 6 refuses a mail header with
# any of them, Django 5.2 with CR or LF.
LINE_BREAKS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("line_break", LINE_BREAKS, ids=lambda c: f"U+{ord(c[0]):04X}")
def test_a_line_break_in_the_name_is_a_form_error_not_a_500(client, contact_data, mailoutbox, line_break):
    name = f"山田{line_break}Bcc: victim@example.com"
    response = client.post("/contact/", {**contact_data, "name": name})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Please write your name on one line." in page
    assert mailoutbox == []
    # What was typed comes back: the message in full, the name as sent.
    assert html.escape(contact_data["message"]) in page
    assert 'value="山田' in page and "Bcc: victim@example.com" in page


def test_the_name_error_is_in_japanese(client, contact_data, mailoutbox):
    response = client.post(
        "/contact/", {**contact_data, "name": "山田\nBcc: victim@example.com"}, HTTP_ACCEPT_LANGUAGE="ja"
    )
    assert "お名前は1行で入力してください。" in response.content.decode()
    assert mailoutbox == []


def test_a_name_on_one_line_still_sends(client, contact_data, mailoutbox):
    response = client.post("/contact/", {**contact_data, "name": "  山田\t太郎  "})
    assert response.status_code == 302
    (message,) = mailoutbox
    assert "Bcc" not in str(message.message())
    assert message.bcc == []
