"""The admin: switches take effect on the next request; the admin is never guarded."""

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
        "burst_window": row.burst_window or "",
        "ban_duration": row.ban_duration or "",
        "ban_growth": row.ban_growth or "",
        "ban_max": row.ban_max or "",
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


def test_one_click_switch_buttons(client, admin_client):
    client.get("/contact/")
    row = FormPolicy.objects.get(form_key="contact")
    page = admin_client.get("/admin/formguard/formpolicy/").content.decode()
    assert f'value="close1|{row.pk}"' in page
    response = admin_client.post("/admin/formguard/formpolicy/switch/", {"fg_switch": f"close1|{row.pk}"})
    assert response.status_code == 302
    closed = client.get("/contact/")
    assert closed.status_code == 503 and 3590 <= int(closed["Retry-After"]) <= 3600
    page = admin_client.get("/admin/formguard/formpolicy/").content.decode()
    assert f'value="open|{row.pk}"' in page
    admin_client.post("/admin/formguard/formpolicy/switch/", {"fg_switch": f"open|{row.pk}"})
    assert client.get("/contact/").status_code == 200


def test_switch_rejects_get_and_garbage(client, admin_client):
    client.get("/contact/")
    assert admin_client.get("/admin/formguard/formpolicy/switch/").status_code == 403
    response = admin_client.post("/admin/formguard/formpolicy/switch/", {"fg_switch": "explode|1; drop"})
    assert response.status_code == 302
    assert client.get("/contact/").status_code == 200


def test_migrate_lists_every_guarded_form(django_db_setup):
    from django.core.management import call_command

    from formguard.decorators import discover_form_keys

    assert discover_form_keys() == ["async", "cbv", "contact", "fn", "plain", "two-step"]
    FormPolicy.objects.all().delete()
    call_command("migrate", verbosity=0)
    assert set(FormPolicy.objects.values_list("form_key", flat=True)) == {
        "*",
        "async",
        "cbv",
        "contact",
        "fn",
        "plain",
        "two-step",
    }
