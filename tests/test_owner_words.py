"""Issue 23, item 6: the owner reads words, not icons, codes or free-text keys."""

import pytest

from formguard.models import Incident


@pytest.fixture
def incident(db):
    return Incident.objects.create(
        ip="203.0.113.5",
        ip_bucket="203.0.113.5",
        form_key="contact",
        reason="honeypot",
        monitor_only=True,
        method="POST",
    )


def test_an_incident_says_monitor_only_in_words(admin_client, incident):
    page = admin_client.get(
        f"/admin/formguard/incident/{incident.pk}/change/", HTTP_ACCEPT_LANGUAGE="ja"
    ).content.decode()
    assert "記録のみで、お断りはしていません" in page
    assert "icon-yes.svg" not in page and "icon-no.svg" not in page
    # What the visitor was doing, not the HTTP method.
    assert "送信する" in page and ">POST<" not in page


def test_the_report_chooses_the_form_from_a_list(admin_client, incident):
    page = admin_client.get("/admin/formguard/incident/report/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert '<select name="form_key"' in page
    assert '<option value="contact">contact</option>' in page and "すべてのフォーム" in page
    # A key that is no form of the site is refused, not an empty report.
    answer = admin_client.get(
        "/admin/formguard/incident/report/", {"form_key": "contcat", "format": "csv"}, HTTP_ACCEPT_LANGUAGE="ja"
    )
    assert answer.status_code in (200, 400) and "text/csv" not in answer.get("Content-Type", "")
    assert "contcat" not in answer.get("Content-Disposition", "")
