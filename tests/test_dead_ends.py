"""No refusal page is a dead end (issue 23, item 3).

The demo ships example alternative contacts, so its ban, closed, too-many and
China pages each show one; a site without a contact for every country gets a
warning in the admin (naming the menu as the admin calls it) and system check W010.
"""

import pytest
from django.core.management import call_command
from django.test import override_settings

from formguard import checks, contacts, geo, policies
from formguard.models import SITE_WIDE, AlternativeContact, FormPolicy

pytestmark = pytest.mark.django_db
CN_V4 = "114.114.114.114"  # mainland China in the demo's GeoLite2 database


def _demo_set_up():
    call_command("demo_admin")  # what scripts/demo.sh runs after migrate
    contacts.invalidate()


def test_the_demos_refusal_pages_each_show_a_contact(client, capsys):
    _demo_set_up()
    assert "Example alternative contacts added" in capsys.readouterr().out

    call_command("formguard", "ban", "198.51.100.20")
    banned = client.get("/contact/", REMOTE_ADDR="198.51.100.20", HTTP_ACCEPT_LANGUAGE="ja")
    assert banned.status_code == 403
    page = banned.content.decode()
    assert 'href="tel:0300000000"' in page and "mailto:support@example.jp" in page
    assert 'class="fg-contact-ways"' in page

    call_command("formguard", "close", "--form", "contact", "--create")
    closed = client.get("/contact/", REMOTE_ADDR="198.51.100.21", HTTP_ACCEPT_LANGUAGE="ja")
    assert closed.status_code == 503 and 'href="tel:0300000000"' in closed.content.decode()
    call_command("formguard", "open", "--form", "contact")

    # The China page (the form hidden from mainland China): WeChat and QQ first.
    geo.reset()
    FormPolicy.objects.filter(form_key=SITE_WIDE).update(country_mode="hide", allowed_countries="JP")
    policies.invalidate()
    china = client.get("/contact/", REMOTE_ADDR=CN_V4, HTTP_ACCEPT_LANGUAGE="zh-CN")
    page = china.content.decode()
    assert china.status_code == 200 and 'id="contact-form"' not in page
    assert page.index('data-fg-channel="wechat"') < page.index('data-fg-channel="qq"')
    assert "example_shop_jp" in page

    # Nothing for the checks to say about the demo as set up.
    assert checks.check_refusals_without_contacts(databases=["default"]) == []
    assert checks.check_hidden_without_contacts(databases=["default"]) == []


def test_demo_set_up_leaves_the_owners_contacts_alone(capsys):
    AlternativeContact.objects.create(kind="phone", value="06-1111-2222")
    _demo_set_up()
    assert list(AlternativeContact.objects.values_list("value", flat=True)) == ["06-1111-2222"]


def test_w010_without_a_contact_for_every_country():
    assert [m.id for m in checks.check_refusals_without_contacts(databases=["default"])] == ["formguard.W010"]
    # Rows for China only: everyone else still meets a dead end.
    AlternativeContact.objects.create(country="CN", kind="qq", value="10000000")
    found = checks.check_refusals_without_contacts(databases=["default"])
    assert [m.id for m in found] == ["formguard.W010"]
    assert "Alternative contacts" in found[0].hint and "別の連絡方法" in found[0].hint
    AlternativeContact.objects.create(kind="email", value="support@example.jp")
    assert checks.check_refusals_without_contacts(databases=["default"]) == []
    # Not asked for the database: not run (as Django's own database checks).
    AlternativeContact.objects.all().delete()
    assert checks.check_refusals_without_contacts() == []


@override_settings(LANGUAGE_CODE="ja")
def test_admin_warns_of_dead_ends_naming_the_real_menu(client, admin_client):
    client.get("/contact/")
    for url in ("/admin/formguard/formpolicy/", "/admin/formguard/incident/", "/admin/formguard/blockrule/"):
        page = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
        assert "連絡先が何も表示されません" in page, url
        assert "「別の連絡方法」で、国を空欄にして登録してください" in page
        assert 'href="/admin/formguard/alternativecontact/add/"' in page
    # The hidden form's warning names the same menu (it said 「代わりの連絡先」, a menu that does not exist).
    FormPolicy.objects.filter(form_key=SITE_WIDE).update(country_mode="hide")
    policies.invalidate()
    page = admin_client.get("/admin/formguard/formpolicy/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "代わりの連絡先" not in page and "「別の連絡方法」で登録してください" in page
    menu = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "別の連絡方法" in menu

    AlternativeContact.objects.create(kind="phone", value="03-0000-0000")
    page = admin_client.get("/admin/formguard/formpolicy/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "連絡先が何も表示されません" not in page
