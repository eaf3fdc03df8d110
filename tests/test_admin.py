"""The admin: switches take effect on the next request; the admin is never guarded."""

import re

import pytest

from formguard.models import SITE_WIDE, BlockRule, FormPolicy

pytestmark = pytest.mark.django_db


def _change(admin_client, row, **fields):
    data = {
        "form_key": row.form_key,
        "enabled": {True: "true", False: "false", None: "unknown"}[row.enabled],
        "monitor_only": {True: "true", False: "false", None: "unknown"}[row.monitor_only],
        "closed": "on" if row.closed else "",
        "closed_until_0": "",
        "closed_until_1": "",
        "closed_message_ja": row.closed_message_ja,
        "closed_message_en": row.closed_message_en,
        "rate_limit": row.rate_limit,
        "burst_count": row.burst_count or "",
        "burst_window": f"{row.burst_window}s" if row.burst_window else "",
        "ban_duration": f"{row.ban_duration}s" if row.ban_duration else "",
        "ban_growth": row.ban_growth or "",
        "ban_max": f"{row.ban_max}s" if row.ban_max else "",
        "ban_lookback": f"{row.ban_lookback}s" if row.ban_lookback else "",
    }
    data.update(fields)
    if not data["closed"]:
        data.pop("closed")
    return admin_client.post(f"/admin/formguard/formpolicy/{row.pk}/change/", data)


def test_flipping_closed_in_the_admin_changes_the_next_request(client, admin_client):
    assert client.get("/contact/").status_code == 200
    row = FormPolicy.objects.get(form_key="contact")
    response = _change(admin_client, row, closed="on")
    assert response.status_code == 302, response.content.decode()[:2000]
    assert client.get("/contact/").status_code == 503
    row.refresh_from_db()
    _change(admin_client, row, closed="")
    assert client.get("/contact/").status_code == 200


def test_close_and_reopen_actions(client, admin_client):
    client.get("/contact/")
    site = FormPolicy.objects.get(form_key=SITE_WIDE)
    response = admin_client.post(
        "/admin/formguard/formpolicy/", {"action": "close_forms_1h", "_selected_action": [site.pk]}
    )
    assert response.status_code == 302
    closed = client.get("/contact/")
    assert closed.status_code == 503
    assert 3590 <= int(closed["Retry-After"]) <= 3600
    assert admin_client.get("/admin/").status_code == 200
    admin_client.post("/admin/formguard/formpolicy/", {"action": "reopen_forms", "_selected_action": [site.pk]})
    assert client.get("/contact/").status_code == 200


def test_list_shows_state(client, admin_client):
    client.get("/contact/")
    admin_client.post(
        "/admin/formguard/formpolicy/",
        {"action": "close_forms", "_selected_action": [FormPolicy.objects.get(form_key="contact").pk]},
    )
    page = admin_client.get("/admin/formguard/formpolicy/").content.decode()
    assert "contact" in page and "closed" in page


def test_monitor_only_refuses_nothing_but_records(client, admin_client, mailoutbox, contact_data):
    client.get("/contact/")
    FormPolicy.objects.filter(form_key="contact").update(monitor_only=True)
    from formguard import policies

    policies.invalidate()
    BlockRule.objects.create(network="127.0.0.1", reason="test")
    response = client.post("/contact/", contact_data)
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    from formguard.models import Incident

    incident = Incident.objects.get()
    assert incident.monitor_only is True
    assert incident.reason == "blacklisted"


def test_non_staff_cannot_reach_formguard_admin(client, django_user_model):
    user = django_user_model.objects.create_user("visitor", password="pw")
    client.force_login(user)
    assert client.get("/admin/formguard/formpolicy/").status_code == 302
    assert client.get("/admin/formguard/blockrule/inspect/").status_code == 302


def test_site_wide_row_needs_values(admin_client):
    response = admin_client.post(
        "/admin/formguard/formpolicy/add/",
        {"form_key": "*", "enabled": "unknown", "monitor_only": "unknown", "closed_until_0": "", "closed_until_1": ""},
    )
    assert response.status_code == 200
    assert "site-wide default needs a value" in response.content.decode()


def test_the_list_closes_by_action_or_one_button_without_editable_boxes(client, admin_client):
    """The actions and one button a row (issue 23); no editable boxes crowding the list."""
    client.get("/contact/")
    page = admin_client.get("/admin/formguard/formpolicy/").content.decode()
    assert 'value="close_forms_1h"' in page
    assert page.count('class="fg-switch button"') == FormPolicy.objects.count()
    assert 'name="form-0-closed"' not in page
    assert admin_client.get("/admin/formguard/formpolicy/switch/").status_code == 302  # no such view: "not found"


def test_site_wide_closure_is_one_truth_in_admin_and_command_line(client, admin_client, capsys):
    from django.core.management import call_command
    from django.utils import translation

    client.get("/contact/")
    call_command("formguard", "close")
    with translation.override("ja"):
        call_command("formguard", "status")
    out = capsys.readouterr().out
    page = admin_client.get("/admin/formguard/formpolicy/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert client.get("/contact/").status_code == 503
    assert "contact" in out and "停止中（サイト全体の停止による）" in out
    # The contact row says what its visitors get: closed, by the site-wide switch.
    assert "停止中（サイト全体の停止による）" in page
    assert "受付中" not in page


def test_a_forms_row_shows_the_value_in_force(client, admin_client):
    client.get("/contact/")
    row = FormPolicy.objects.get(form_key="contact")
    page = admin_client.get(f"/admin/formguard/formpolicy/{row.pk}/change/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    listing = admin_client.get("/admin/formguard/formpolicy/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "サイト全体の設定に従う（現在: 5回/10分）" in page
    assert "サイト全体の設定に従う（現在: 1時間）" in page  # the first ban
    assert "サイト全体の設定に従う（現在: はい）" in page  # protection enabled
    assert "不明" not in page
    assert "サイト全体: 5回/10分" in listing


def test_durations_are_written_and_shown_as_people_do(client, admin_client):
    client.get("/contact/")
    site = FormPolicy.objects.get(form_key=SITE_WIDE)
    response = _change(admin_client, site, ban_duration="2h", ban_max="30日", burst_window="1分")
    assert response.status_code == 302, response.content.decode()[:3000]
    site.refresh_from_db()
    assert (site.ban_duration, site.ban_max, site.burst_window) == (7200, 30 * 86400, 60)
    page = admin_client.get(f"/admin/formguard/formpolicy/{site.pk}/change/").content.decode()
    assert 'value="30 days"' in page and 'value="2 hours"' in page
    # A bare number is refused, as on the command line: seconds or days?
    response = _change(admin_client, site, ban_max="2592000")
    assert response.status_code == 200
    assert "Not a duration" in response.content.decode()
    site.refresh_from_db()
    assert site.ban_max == 30 * 86400


def test_site_wide_row_cannot_be_deleted(client, admin_client):
    client.get("/contact/")
    site = FormPolicy.objects.get(form_key=SITE_WIDE)
    contact = FormPolicy.objects.get(form_key="contact")
    page = admin_client.get(f"/admin/formguard/formpolicy/{site.pk}/change/").content.decode()
    assert "deletelink" not in page
    assert admin_client.post(f"/admin/formguard/formpolicy/{site.pk}/delete/", {"post": "yes"}).status_code == 403
    response = admin_client.post(
        "/admin/formguard/formpolicy/",
        {"action": "delete_selected", "_selected_action": [site.pk, contact.pk], "post": "yes"},
        follow=True,
    )
    assert "cannot be deleted" in response.content.decode()
    assert set(FormPolicy.objects.values_list("form_key", flat=True)) & {SITE_WIDE, "contact"} == {SITE_WIDE}


def test_hiding_without_a_contact_is_warned_in_the_admin_and_by_a_check(client, admin_client):
    from django.core.management import call_command

    from formguard import checks, policies
    from formguard.models import AlternativeContact

    client.get("/contact/")
    assert checks.check_hidden_without_contacts(databases=["default"]) == []
    FormPolicy.objects.filter(form_key=SITE_WIDE).update(country_mode="hide")
    policies.invalidate()
    page = admin_client.get("/admin/formguard/formpolicy/").content.decode()
    assert "no way to reach you" in page
    assert [m.id for m in checks.check_hidden_without_contacts(databases=["default"])] == ["formguard.W007"]
    call_command("check", "--database", "default")  # a warning, not an error
    AlternativeContact.objects.create(text_ja="お電話：03-0000-0000")
    assert checks.check_hidden_without_contacts(databases=["default"]) == []
    assert "no way to reach you" not in admin_client.get("/admin/formguard/formpolicy/").content.decode()


def test_action_log_says_who(client, admin_client, admin_user):
    from django.core.management import call_command

    from formguard.models import ActionLog

    client.get("/contact/")
    contact = FormPolicy.objects.get(form_key="contact")
    admin_client.post("/admin/formguard/formpolicy/", {"action": "close_forms", "_selected_action": [contact.pk]})
    call_command("formguard", "open", "--form", "contact")
    for _ in range(12):
        client.post("/contact/", {"name": "x", "email": "a@example.jp", "message": "spam"}, REMOTE_ADDR="203.0.113.9")
    log = {entry.action: entry for entry in ActionLog.objects.all()}
    assert log["closed"].actor == "user:admin"
    assert log["reopened"].actor.startswith("cli:")
    assert log["banned"].actor == "auto" and log["banned"].automatic
    page = admin_client.get("/admin/formguard/actionlog/").content.decode()
    assert "admin (admin)" in page and "command line" in page and "automatic" in page


def test_diagnosis_is_linked_and_honest_about_the_captcha(client, admin_client):
    client.get("/contact/")
    for url in ("/admin/formguard/", "/admin/formguard/formpolicy/", "/admin/formguard/incident/dashboard/"):
        assert "/admin/formguard/blockrule/inspect/" in admin_client.get(url).content.decode(), url
    page = admin_client.get("/admin/formguard/blockrule/inspect/").content.decode()
    # No captcha keys in the test settings: the page must not claim a captcha.
    assert "with the captcha" not in page
    assert "no captcha provider is configured" in page


def test_country_codes_are_validated_with_a_suggestion(client, admin_client):
    client.get("/contact/")
    site = FormPolicy.objects.get(form_key=SITE_WIDE)
    response = _change(admin_client, site, country_mode="hide", allowed_countries="JA")
    assert response.status_code == 200
    assert "Did you mean JP (Japan)?" in response.content.decode()
    response = _change(admin_client, site, country_mode="hide", allowed_countries="JP, TW")
    assert response.status_code == 302


def test_migrate_lists_every_guarded_form(django_db_setup):
    from django.core.management import call_command

    from formguard.decorators import discover_form_keys

    forms = ["api-contact", "async", "cbv", "contact", "fn", "pieces", "plain", "quiet", "two-step"]
    assert discover_form_keys() == forms
    FormPolicy.objects.all().delete()
    call_command("migrate", verbosity=0)
    assert set(FormPolicy.objects.values_list("form_key", flat=True)) == {"*", *forms}


def test_close_and_reopen_in_one_click_from_the_list_and_the_dashboard(client, admin_client):
    """Issue 23, item 6: one click closes a form (and one reopens it), from the list and the dashboard."""
    from formguard.models import ActionLog

    assert client.get("/contact/").status_code == 200
    listing = admin_client.get("/admin/formguard/formpolicy/").content.decode()
    # The button posts the list's own form (it carries the CSRF token) to the switch.
    assert 'formaction="/admin/formguard/formpolicy/switch/close/"' in listing and 'value="contact"' in listing
    response = admin_client.post("/admin/formguard/formpolicy/switch/close/", {"form_key": "contact"})
    assert response.status_code == 302 and response["Location"] == "/admin/formguard/formpolicy/"
    assert client.get("/contact/").status_code == 503
    assert ActionLog.objects.filter(action="closed", target="contact", actor__contains="admin").exists()

    dashboard = admin_client.get("/admin/formguard/incident/dashboard/").content.decode()
    assert 'action="/admin/formguard/formpolicy/switch/open/"' in dashboard
    assert 'action="/admin/formguard/formpolicy/switch/close/"' in dashboard  # every form, at once
    back = admin_client.post(
        "/admin/formguard/formpolicy/switch/open/",
        {"form_key": "contact", "next": "/admin/formguard/incident/dashboard/"},
    )
    assert back["Location"] == "/admin/formguard/incident/dashboard/"
    assert client.get("/contact/").status_code == 200
    # A GET does nothing, and a link elsewhere is not followed.
    assert admin_client.get("/admin/formguard/formpolicy/switch/close/").status_code == 405
    away = admin_client.post(
        "/admin/formguard/formpolicy/switch/close/", {"form_key": "*", "next": "https://evil.example/"}
    )
    assert away["Location"] == "/admin/formguard/formpolicy/"
    assert client.get("/contact/").status_code == 503


RAW = re.compile(r"\b(?:429|503|403)\b|POST|\(seconds\)|（秒）|\d+/\d*[smhd]\b|（現在: ）|\(now: \)")


def _owner_text(page: str) -> str:
    """What the owner reads of a change form: its labels, help texts, options and values."""
    form = page[page.index("<form") : page.rindex("</form>")]
    form = re.sub(r'<input type="hidden"[^>]*>|<script.*?</script>', "", form, flags=re.S)
    return re.sub(r"<[^>]+>", " ", form) + " ".join(re.findall(r'(?:value|placeholder)="([^"]*)"', form))


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_policy_admin_speaks_the_owners_words(client, admin_client, language):
    """Issue 23, item 6: no HTTP codes, rate syntax or seconds in front of the owner."""
    client.get("/contact/")
    for row in FormPolicy.objects.all():
        page = admin_client.get(f"/admin/formguard/formpolicy/{row.pk}/change/", HTTP_ACCEPT_LANGUAGE=language)
        found = RAW.findall(_owner_text(page.content.decode()))
        assert not found, (row.form_key, found)
    listing = admin_client.get("/admin/formguard/formpolicy/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert not RAW.findall(re.sub(r"<[^>]+>", " ", listing[listing.index('id="result_list"') :]))


def test_rates_are_typed_and_shown_in_words(client, admin_client):
    client.get("/contact/")
    site = FormPolicy.objects.get(form_key=SITE_WIDE)
    page = admin_client.get(f"/admin/formguard/formpolicy/{site.pk}/change/", HTTP_ACCEPT_LANGUAGE="ja")
    assert 'value="5回/10分"' in page.content.decode()
    response = _change(
        admin_client, site, rate_limit="10回/1時間", recipient_limit="なし", flood_limit="200 per 10 minutes"
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    site.refresh_from_db()
    assert (site.rate_limit, site.recipient_limit, site.flood_limit) == ("10/h", "off", "200/10m")
    assert _change(admin_client, site, rate_limit="5/10m").status_code == 302  # the old way still reads
    refused = _change(admin_client, site, rate_limit="many")
    assert refused.status_code == 200 and "Not a rate: “many”" in refused.content.decode()
    # An empty site-wide list is said, not left blank after the colon.
    row = FormPolicy.objects.get(form_key="contact")
    page = admin_client.get(f"/admin/formguard/formpolicy/{row.pk}/change/", HTTP_ACCEPT_LANGUAGE="ja")
    assert "サイト全体の設定に従う（現在: なし）" in page.content.decode()


def test_contacts_and_the_action_log_in_plain_words(client, admin_client):
    from formguard.models import AlternativeContact

    AlternativeContact.objects.create(country="", kind="phone", value="03-1234-5678")
    AlternativeContact.objects.create(country="CN", kind="qq", value="10000")
    listing = admin_client.get("/admin/formguard/alternativecontact/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "その他すべての国: 電話 03-1234-5678" in listing and "中国 (CN): QQ 10000" in listing
    assert "*:" not in listing
    # The country is chosen by name, never typed as two letters.
    add = admin_client.get("/admin/formguard/alternativecontact/add/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert re.search(r'<select name="country"[^>]*>', add) and '<option value="CH">スイス</option>' in add
    refused = admin_client.post(
        "/admin/formguard/alternativecontact/add/", {"country": "china", "kind": "phone", "value": "1", "order": "0"}
    )
    assert refused.status_code == 200 and AlternativeContact.objects.count() == 2

    client.get("/contact/")
    admin_client.post("/admin/formguard/formpolicy/switch/close/", {"form_key": "contact"})
    log = admin_client.get("/admin/formguard/actionlog/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "フォームを停止" in log and "フォーム停止中" not in log
