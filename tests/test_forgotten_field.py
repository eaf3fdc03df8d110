"""A form without formguard's field fails loudly, never silently (issue 23, item 4).

A template that renders the fields one by one and leaves out ``{{ form.formguard }}``:
the developer learns it at the first GET (DEBUG), the visitor is told why the message
did not go, with what they typed. A template that leaves out ``{{ form.non_field_errors }}``
still shows the visitor the reason. A plain ``@guard_form`` view, which has no traps at
all, is said to be one by the diagnosis page, ``formguard inspect`` and a system check.
"""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import override_settings
from django.utils import translation

from formguard import checks, contacts, policies, testing
from formguard.models import SITE_WIDE, AlternativeContact, FormPolicy

pytestmark = pytest.mark.django_db


@override_settings(DEBUG=True)
def test_the_developer_learns_it_at_the_first_get(client):
    with pytest.raises(ImproperlyConfigured, match=r"without formguard's field.*\{\{ form\.formguard \}\}"):
        client.get("/t/pieces/")


def test_the_visitor_is_told_why_and_keeps_the_text(client):
    AlternativeContact.objects.create(kind="phone", value="03-0000-0000")
    contacts.invalidate()
    client.get("/t/pieces/", HTTP_ACCEPT_LANGUAGE="ja")  # the form, shown without the field
    refused = client.post("/t/pieces/", {"message": "在庫はありますか"}, HTTP_ACCEPT_LANGUAGE="ja")
    page = refused.content.decode()
    assert refused.status_code == 400
    assert "問題により、このページからはメッセージを送信できませんでした" in page, page
    assert "在庫はありますか" in page and "fg-submitted" in page
    assert 'href="tel:0300000000"' in page


def test_a_template_without_non_field_errors_still_shows_the_reason(client):
    client.get("/t/quiet/")
    # "Too fast" below ten minutes: a loaded machine cannot make the first POST slow enough to pass.
    FormPolicy.objects.filter(form_key=SITE_WIDE).update(time_trap_min=600)
    policies.invalidate()
    data = {"message": "在庫はありますか", **testing.trap_fields("quiet", age=1)}  # sent at once
    with translation.override("ja"):
        refused = client.post("/t/quiet/", data, HTTP_ACCEPT_LANGUAGE="ja")
    page = refused.content.decode()
    assert refused.status_code == 400
    assert "送信が早すぎました" in page and "在庫はありますか" in page
    # Sent again later, it goes.
    later = testing.trap_fields("quiet", age=700)
    assert client.post("/t/quiet/", {"message": "在庫はありますか", **later}).status_code == 302


def test_a_plain_guard_form_view_is_said_to_have_no_traps(client, admin_client, capsys):
    client.get("/t/plain/")  # @guard_form("plain"), the README's first example
    page = admin_client.get("/admin/formguard/blockrule/inspect/").content.decode()
    assert "plain" in page and "no honeypot, no time trap" in page, page

    call_command("formguard", "inspect", "203.0.113.9")
    out = capsys.readouterr().out
    plain = out[out.index("  plain:") :]
    assert "no honeypot, no time trap" in plain.splitlines()[2], out

    found = [m for m in checks.check_plain_form_views() if m.id == "formguard.W011"]
    assert found and "plain" in found[0].msg and "form_errors=True" in found[0].hint
    # The demo's view (GuardedFormMixin) and views with form_errors=True are not named.
    assert "'contact'" not in found[0].msg and "'fn'" not in found[0].msg
