"""Alternative contacts as typed channels: validated in the admin, rendered by one include, migrated."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import RequestFactory
from django.utils import translation

from formguard import contacts
from formguard.models import AlternativeContact

pytestmark = pytest.mark.django_db

# The smallest PNG there is: 1×1, transparent.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def channel(**values):
    row = AlternativeContact(country=values.pop("country", "CN"), **values)
    row.full_clean()
    return row


@pytest.mark.parametrize(
    "values",
    [
        {"kind": "wechat", "value": "example_shop"},
        {"kind": "wechat", "value": "gh_0123456789ab"},
        {"kind": "wechat", "image_url": "https://example.jp/qr.png"},
        {"kind": "qq", "value": "10000"},
        {"kind": "qq", "value": "12345678901"},
        {"kind": "webchat", "value": "https://wpa1.qq.com/abc?_type=wpa"},
        {"kind": "line", "value": "@example"},
        {"kind": "line", "value": "Example_Shop"},
        {"kind": "phone", "value": "03-1234-5678", "hours": "10:00–18:00"},
        {"kind": "phone", "value": "+81 3-1234-5678"},
        {"kind": "phone", "value": "(03) 1234 5678"},
        {"kind": "email", "value": "info@example.jp"},
        {"kind": "text", "text_ja": "店頭でもお問い合わせを承ります。"},
    ],
)
def test_valid_channels(values):
    channel(**values)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"kind": "wechat"}, "__all__"),
        ({"kind": "wechat", "value": "1abc"}, "value"),
        ({"kind": "qq", "value": ""}, "value"),
        ({"kind": "qq", "value": "0123456"}, "value"),
        ({"kind": "qq", "value": "1234"}, "value"),
        ({"kind": "qq", "value": "10000abc"}, "value"),
        ({"kind": "webchat", "value": "http://example.jp/chat"}, "value"),
        ({"kind": "webchat", "value": "javascript:alert(1)"}, "value"),
        ({"kind": "line", "value": "@a b"}, "value"),
        ({"kind": "phone", "value": "call us"}, "value"),
        ({"kind": "phone", "value": "123"}, "value"),
        ({"kind": "email", "value": "info@"}, "value"),
        ({"kind": "text"}, "__all__"),
    ],
)
def test_invalid_channels_are_refused_with_a_message(values, field):
    with pytest.raises(ValidationError) as caught:
        channel(**values)
    assert field in caught.value.message_dict


@pytest.mark.parametrize(
    ("name", "content", "ok"),
    [
        ("qr.png", PNG, True),
        ("qr.PNG", PNG, True),
        ("qr.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 20, True),
        ("qr.png", b"<html>not an image</html>", False),
        ("qr.svg", b"<svg onload='alert(1)'/>", False),
        ("qr.html", PNG, False),
        ("qr", PNG, False),
        ("qr.png", PNG + b"\0" * (1024 * 1024), False),
    ],
)
def test_qr_uploads_are_checked_by_extension_size_and_content(name, content, ok, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    row = AlternativeContact(country="CN", kind="wechat", qr_image=SimpleUploadedFile(name, content))
    if ok:
        row.full_clean()
    else:
        with pytest.raises(ValidationError) as caught:
            row.full_clean()
        assert "qr_image" in caught.value.message_dict


def test_the_admin_uploads_a_qr_code_and_the_hidden_page_shows_it(admin_client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    response = admin_client.post(
        "/admin/formguard/alternativecontact/add/",
        {
            "country": "CN",  # chosen from the list of countries
            "kind": "wechat",
            "value": "example_shop",
            "hours": "",
            "order": "0",
            "qr_image": SimpleUploadedFile("qr.png", PNG, content_type="image/png"),
        },
    )
    assert response.status_code == 302, response.content.decode()
    row = AlternativeContact.objects.get()
    assert row.country == "CN"
    assert (tmp_path / row.qr_image.name).read_bytes() == PNG
    (shown,) = contacts.for_visitor(RequestFactory().get("/"), "CN")
    assert shown["qr_url"] == f"/media/{row.qr_image.name}"
    assert admin_client.get(shown["qr_url"]).status_code == 200


def test_the_admin_says_what_is_wrong_and_keeps_the_row_unsaved(admin_client):
    response = admin_client.post(
        "/admin/formguard/alternativecontact/add/", {"country": "CN", "kind": "qq", "value": "abc", "order": "0"}
    )
    assert response.status_code == 200
    assert "Not a QQ number" in response.content.decode()
    assert not AlternativeContact.objects.exists()


def _rows():
    AlternativeContact.objects.create(country="CN", kind="phone", value="+81-3-1234-5678", hours="10:00–18:00 JST")
    AlternativeContact.objects.create(country="CN", kind="qq", value="10000")
    AlternativeContact.objects.create(country="CN", kind="wechat", value="example_shop", text_zh="扫码关注")
    AlternativeContact.objects.create(country="CN", kind="email", value="info@example.jp")
    AlternativeContact.objects.create(country="CN", kind="line", value="@example")
    AlternativeContact.objects.create(country="CN", kind="webchat", value="https://example.jp/chat")
    AlternativeContact.objects.create(country="", kind="phone", value="03-1234-5678")
    AlternativeContact.objects.create(country="", kind="line", value="@example")


def test_each_channel_gets_its_link():
    _rows()
    shown = {c["kind"]: c for c in contacts.for_visitor(RequestFactory().get("/"), "CN")}
    assert shown["qq"]["href"] == "https://wpa.qq.com/msgrd?v=3&uin=10000&site=qq&menu=yes"
    assert shown["phone"]["href"] == "tel:+81312345678"
    assert shown["phone"]["hours"] == "Hours: 10:00–18:00 JST"
    assert shown["email"]["href"] == "mailto:info@example.jp"
    assert shown["line"]["href"] == "https://line.me/R/ti/p/@example"
    assert shown["webchat"]["href"] == "https://example.jp/chat"
    assert shown["wechat"]["href"] == ""  # a QR code and the ID: WeChat has no web link to an account


def test_china_sees_tencents_channels_first_and_others_line_and_the_phone():
    _rows()
    request = RequestFactory().get("/")
    assert [c["kind"] for c in contacts.for_visitor(request, "CN")] == [
        "wechat",
        "qq",
        "webchat",
        "phone",
        "email",
        "line",
    ]
    assert [c["kind"] for c in contacts.for_visitor(request, "US")] == ["line", "phone"]
    # The admin's order wins.
    AlternativeContact.objects.filter(country="CN").exclude(kind="email").update(order=1)
    from formguard import generations

    generations.forget()
    assert contacts.for_visitor(request, "CN")[0]["kind"] == "email"


@pytest.mark.parametrize(
    ("accept", "language", "labels"),
    [
        ("zh-CN,zh;q=0.9", "en", ["微信公众号", "QQ", "在线客服", "电话", "电子邮件", "LINE 官方账号"]),
        ("zh-TW", "en", ["微信公眾號", "QQ", "線上客服", "電話", "電子信箱", "LINE 官方帳號"]),
        (
            "ja",
            "ja",
            ["WeChat 公式アカウント", "QQ", "Web チャット", "電話番号", "メールアドレス", "LINE 公式アカウント"],
        ),
        ("en", "en", ["WeChat official account", "QQ", "Web chat", "Telephone", "Email", "LINE official account"]),
    ],
)
def test_labels_in_the_visitors_language(accept, language, labels):
    _rows()
    with translation.override(language):
        shown = contacts.for_visitor(RequestFactory().get("/", HTTP_ACCEPT_LANGUAGE=accept), "CN")
    assert [c["label"] for c in shown] == labels


def test_free_text_stays_escaped_with_its_links():
    AlternativeContact.objects.create(country="", text_en="<b>Shop</b>\nQQ：https://wpa.qq.com/msgrd?v=3&uin=10000")
    (shown,) = contacts.for_visitor(RequestFactory().get("/"), "US")
    assert shown["kind"] == "text" and shown["label"] == ""
    assert "&lt;b&gt;Shop&lt;/b&gt;<br>" in shown["note_html"]
    assert '<a href="https://wpa.qq.com/msgrd?v=3&amp;uin=10000"' in shown["note_html"]


def test_the_include_renders_each_channel():
    from django.template.loader import render_to_string

    _rows()
    html = render_to_string(
        "formguard/includes/contacts.html", {"contacts": contacts.for_visitor(RequestFactory().get("/"), "CN")}
    )
    assert html.count('class="fg-contact ') == 6
    assert 'href="tel:+81312345678"' in html
    assert '<div class="fg-contact-hours">Hours: 10:00–18:00 JST</div>' in html
    # A note in Chinese only is still shown (better than nothing).
    assert '<div class="fg-contact-note">扫码关注</div>' in html
    assert re.search(r'data-fg-channel="wechat"><span class="fg-contact-label">WeChat official account', html)


def test_existing_rows_migrate_to_free_text_or_a_clear_channel(transactional_db):
    executor = MigrationExecutor(connection)
    executor.migrate([("formguard", "0004_ipv6_network_limits")])
    old = executor.loader.project_state([("formguard", "0004_ipv6_network_limits")]).apps
    Old = old.get_model("formguard", "AlternativeContact")
    Old.objects.create(country="CN", text_zh="微信公众号：example_shop", image_url="https://example.jp/qr.png")
    Old.objects.create(country="CN", text_zh="https://wpa.qq.com/msgrd?v=3&uin=10000&site=qq&menu=yes")
    Old.objects.create(country="", text_ja="電話：03-1234-5678", text_en="電話：03-1234-5678")
    Old.objects.create(country="", text_en="info@example.jp")
    Old.objects.create(country="", text_ja="営業時間内にお電話ください", text_en="Call us: 03-1234-5678")
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes("formguard"))
    rows = list(AlternativeContact.objects.order_by("pk").values_list("kind", "value", "text_ja", "image_url"))
    assert rows == [
        ("text", "", "", "https://example.jp/qr.png"),
        ("qq", "10000", "", ""),
        ("phone", "03-1234-5678", "", ""),
        ("email", "info@example.jp", "", ""),
        ("text", "", "営業時間内にお電話ください", ""),
    ]
