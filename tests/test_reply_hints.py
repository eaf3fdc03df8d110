"""Reply hints: carrier and mainland-China mailboxes, through the demo's form and thanks page."""

import json
import multiprocessing
import re
from datetime import timedelta
from importlib import resources

import pytest
import time_machine
from django.test import RequestFactory
from django.utils import timezone

from formguard import replyhints, signals
from formguard.models import AlternativeContact
from formguard.replyhints import CARRIER, CHINA, NONE, hint_for

pytestmark = pytest.mark.django_db

INQUIRY = {"name": "山田 太郎", "message": "商品について質問があります。"}


# -- the lists ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["carrier_domains.json", "china_mail_domains.json"])
def test_the_lists_are_data_files_with_their_sources_and_date(name):
    data = json.loads(resources.files("formguard").joinpath(f"data/{name}").read_text("utf-8"))
    assert data["sources"] and all(url.startswith(("https://", "http://")) for url in data["sources"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", data["updated"])


def test_every_carrier_has_a_name_in_both_languages_and_its_own_instructions_page():
    for key, carrier in replyhints.carriers().items():
        assert carrier["name"]["ja"] and carrier["name"]["en"], key
        assert carrier["instructions_url"].startswith("https://"), key
        assert carrier["domains"], key


@pytest.mark.parametrize(
    ("address", "carrier"),
    [
        ("taro@docomo.ne.jp", "docomo"),
        ("TARO@DoCoMo.NE.JP", "docomo"),
        ("taro@ezweb.ne.jp", "au"),
        ("taro@au.com", "au"),
        ("taro@biz.au.com", "au"),
        ("taro@uqmobile.jp", "uqmobile"),
        ("taro@softbank.ne.jp", "softbank"),
        ("taro@i.softbank.jp", "softbank"),
        ("taro@d.vodafone.ne.jp", "softbank"),
        ("taro@disney.ne.jp", "softbank"),
        ("taro@ymobile.ne.jp", "ymobile"),
        ("taro@y-mobile.ne.jp", "ymobile"),
        ("taro@willcom.com", "ymobile"),
        ("taro@rakumail.jp", "rakuten"),
        (" taro@docomo.ne.jp. ", "docomo"),
    ],
)
def test_japanese_carrier_mailboxes(address, carrier):
    assert hint_for(address) == replyhints.ReplyHint(CARRIER, carrier)


@pytest.mark.parametrize(
    "address",
    [
        "li@qq.com",
        "li@vip.qq.com",
        "li@foxmail.com",
        "li@163.com",
        "li@126.com",
        "li@yeah.net",
        "li@sina.com",
        "li@sina.cn",
        "li@sohu.com",
        "li@139.com",
        "li@aliyun.com",
        "LI@QQ.COM",
    ],
)
def test_mainland_china_mailboxes(address):
    assert hint_for(address) == replyhints.ReplyHint(CHINA)


@pytest.mark.parametrize(
    "address",
    [
        "taro@gmail.com",
        "taro@example.jp",
        "taro@yahoo.co.jp",
        "taro@icloud.com",
        "taro@outlook.jp",
        # Look-alikes: only the domain itself or its subdomains count.
        "taro@notdocomo.ne.jp",
        "taro@docomo.ne.jp.example.com",
        "li@qq.com.example.jp",
        "li@myqq.com",
        # Not an address at all.
        "",
        "docomo.ne.jp",
        "taro@",
        "@",
    ],
)
def test_other_addresses_get_no_hint(address):
    hint = hint_for(address)
    assert hint.kind == NONE
    assert not hint


def test_the_sending_domain_comes_from_default_from_email_or_the_setting(settings):
    settings.DEFAULT_FROM_EMAIL = "Example Shop <info@Shop.Example.jp>"
    assert replyhints.sending_domain() == "shop.example.jp"
    settings.FORMGUARD = {"REPLY_FROM_DOMAIN": "@mail.example.co.jp"}
    assert replyhints.sending_domain() == "mail.example.co.jp"


# -- without JavaScript: the form with errors, the thanks page -----------------------------------------------------


def _slot(html):
    """The hint shown now (not the <template>s the script uses)."""
    match = re.search(r'<div data-fg-hint-slot data-fg-shown="([^"]*)"[^>]*>(.*?)</div><template', html, re.S)
    assert match, html
    return match.group(1), match.group(2)


def test_the_form_with_errors_shows_the_carrier_hint(client):
    response = client.post("/contact/", {**INQUIRY, "email": "taro@docomo.ne.jp", "message": ""})
    assert response.status_code == 200
    shown, hint = _slot(response.content.decode())
    assert shown == "docomo"
    assert "example.jp" in hint  # the demo's DEFAULT_FROM_EMAIL domain
    assert 'href="https://www.docomo.ne.jp/info/spam_mail/domain/"' in hint
    assert response.context["formguard_reply_hint"] == replyhints.ReplyHint(CARRIER, "docomo")


def test_the_form_with_errors_shows_the_china_hint_with_the_contacts(client):
    AlternativeContact.objects.create(country="CN", kind="wechat", value="example_shop")
    AlternativeContact.objects.create(country="CN", kind="qq", value="10000")
    response = client.post("/contact/", {**INQUIRY, "email": "li@qq.com", "message": ""})
    shown, hint = _slot(response.content.decode())
    assert shown == "china"
    assert "example_shop" in hint
    assert 'href="https://wpa.qq.com/msgrd?v=3&amp;uin=10000&amp;site=qq&amp;menu=yes"' in hint


def test_the_form_shows_no_hint_for_other_addresses(client):
    response = client.post("/contact/", {**INQUIRY, "email": "taro@example.jp", "message": ""})
    assert _slot(response.content.decode()) == ("", "")
    assert client.get("/contact/").status_code == 200
    assert _slot(client.get("/contact/").content.decode()) == ("", "")


@pytest.mark.parametrize(
    ("address", "expected"),
    [("taro@au.com", "fg-reply-hint-carrier"), ("li@163.com", "fg-reply-hint-china"), ("taro@example.jp", None)],
)
def test_the_thanks_page_shows_the_hint_kept_in_the_session(client, address, expected):
    response = client.post("/contact/", {**INQUIRY, "email": address}, follow=True)
    assert response.redirect_chain[-1][0] == "/contact/thanks/"
    html = response.content.decode()
    if expected:
        assert expected in html
    else:
        assert "fg-reply-hint" not in html
    # The session keeps the kind, never the address.
    session = client.session[replyhints.SESSION_KEY]
    assert address.split("@")[0] not in json.dumps(session)
    assert set(session) == {"kind", "carrier"}


def test_the_thanks_page_names_the_carrier_and_links_its_instructions(client):
    client.post("/contact/", {**INQUIRY, "email": "hanako@i.softbank.jp"})
    html = client.get("/contact/thanks/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "ソフトバンク" in html
    assert "https://www.softbank.jp/mobile/support/mail/antispam/email-i/white/" in html
    assert "指定受信設定" in html


def test_a_tampered_session_shows_nothing(client):
    session = client.session
    session[replyhints.SESSION_KEY] = {"kind": "carrier", "carrier": "<script>"}
    session.save()
    assert "fg-reply-hint" not in client.get("/contact/thanks/").content.decode()


def test_the_china_hint_speaks_chinese_to_a_visitor_who_asks_for_it(client):
    AlternativeContact.objects.create(country="CN", kind="wechat", value="example_shop")
    response = client.post(
        "/contact/", {**INQUIRY, "email": "li@qq.com", "message": ""}, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9"
    )
    _, hint = _slot(response.content.decode())
    assert "我们的回复可能无法送达此邮箱" in hint
    assert "微信公众号" in hint
    traditional = client.post(
        "/contact/", {**INQUIRY, "email": "li@qq.com", "message": ""}, HTTP_ACCEPT_LANGUAGE="zh-TW"
    )
    assert "微信公眾號" in _slot(traditional.content.decode())[1]


def test_the_script_gets_the_lists_from_a_data_attribute_and_no_inline_script(client):
    html = client.get("/contact/").content.decode()
    match = re.search(r'data-fg-data="([^"]*)"', html)
    from html import unescape

    data = json.loads(unescape(match.group(1)))
    assert data["domains"]["docomo.ne.jp"] == "docomo"
    assert data["domains"]["qq.com"] == "china"
    assert data["carriers"]["au"]["url"].startswith("https://www.au.com/")
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
    assert " style=" not in html


# -- the site can act on it -----------------------------------------------------------------------------------------


def test_the_signal_carries_the_kind_and_the_view_sees_it(client):
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)
        kwargs["request"].reply_from = "phone" if kwargs["kind"] == CHINA else "mail"

    signals.reply_hint.connect(receiver)
    try:
        client.post("/contact/", {**INQUIRY, "email": "li@qq.com"})
        client.post("/contact/", {**INQUIRY, "email": "taro@ezweb.ne.jp"})
        client.post("/contact/", {**INQUIRY, "email": "taro@example.jp"})
    finally:
        signals.reply_hint.disconnect(receiver)
    assert [(r["kind"], r["carrier"], r["form_key"]) for r in received] == [
        ("china", "", "contact"),
        ("carrier", "au", "contact"),
        ("none", "", "contact"),
    ]
    assert received[0]["request"].formguard_reply_hint.kind == CHINA
    assert received[0]["request"].reply_from == "phone"
    assert "email" not in received[0] and not any("li@qq.com" in str(v) for v in received[0].values())


def test_an_invalid_form_sends_no_signal_and_counts_nothing(client):
    received = []
    signals.reply_hint.connect(received.append)
    try:
        client.post("/contact/", {**INQUIRY, "email": "li@qq.com", "message": ""})
    finally:
        signals.reply_hint.disconnect(received.append)
    assert received == []
    assert replyhints.week_counts() == {CARRIER: 0, CHINA: 0}


def test_the_context_processor_gives_the_thanks_page_the_kind(client):
    client.post("/contact/", {**INQUIRY, "email": "taro@docomo.ne.jp"})
    response = client.get("/contact/thanks/")
    assert response.context["formguard_reply_hint"].kind == CARRIER
    assert response.context["formguard_reply_hint"].carrier == "docomo"


# -- the owner sees it ---------------------------------------------------------------------------------------------


def test_the_dashboard_counts_this_weeks_replies_at_risk(client, admin_client):
    for address in ("taro@docomo.ne.jp", "hanako@au.com", "li@qq.com", "taro@example.jp"):
        assert client.post("/contact/", {**INQUIRY, "email": address}).status_code == 302
    assert replyhints.week_counts() == {CARRIER: 2, CHINA: 1}
    html = admin_client.get("/admin/formguard/incident/dashboard/").content.decode()
    assert re.search(r'id="fg-risk-carrier">2<', html)
    assert re.search(r'id="fg-risk-china">1<', html)
    assert "taro@" not in html and "qq.com</" not in html
    with time_machine.travel(timezone.now() + timedelta(days=7)):
        assert replyhints.week_counts() == {CARRIER: 0, CHINA: 0}


def _note_in_another_process(address):
    # No database here: the count goes to the store only (the forked child
    # must not touch the parent's database connection).
    replyhints.note_inquiry(RequestFactory().post("/contact/"), address, form_key="contact")


@pytest.mark.state
def test_processes_add_to_one_count(settings, tmp_path):
    """The count lives in formguard's store, which every process shares (Redis in the scale-out session)."""
    # A file for the embedded store: a test database in memory would give each process its own.
    settings.FORMGUARD = {**settings.FORMGUARD, "STATE_PATH": str(tmp_path / "state.sqlite3")}
    replyhints.note_inquiry(RequestFactory().post("/contact/"), "taro@docomo.ne.jp")
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=_note_in_another_process, args=(a,)) for a in ("a@au.com", "b@qq.com")]
    for child in children:
        child.start()
    for child in children:
        child.join(30)
        assert child.exitcode == 0
    assert replyhints.week_counts() == {CARRIER: 2, CHINA: 1}


class _DownStore:
    def bump(self, keys):
        raise replyhints.StoreUnavailable("down")

    def read(self, keys):
        raise replyhints.StoreUnavailable("down")


def test_a_store_that_does_not_answer_loses_the_count_not_the_inquiry(client, admin_client, monkeypatch, mailoutbox):
    monkeypatch.setattr(replyhints, "get_store", _DownStore)
    response = client.post("/contact/", {**INQUIRY, "email": "li@qq.com"}, follow=True)
    assert "fg-reply-hint-china" in response.content.decode()
    assert len(mailoutbox) == 1
    assert replyhints.week_counts() == {CARRIER: None, CHINA: None}
    html = admin_client.get("/admin/formguard/incident/dashboard/").content.decode()
    assert re.search(r'id="fg-risk-china">–<', html)
