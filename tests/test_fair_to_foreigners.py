"""Issue 22, "Fair to foreigners": the Japanese rule does not refuse a visitor who reads another language.

Through the demo's /contact/ with its own settings (the self-hosted captcha on every POST,
Japanese required): a message without Japanese from a visitor on the English page, or whose
browser asks for the language the message is written in, gets the policy's
``japanese_foreign_action`` (the captcha: solved, it goes through) instead of a refusal; the
customers the content rules turned away (a signature with the sender's own address, a kanji-only
request, three links to the shop's products) reach the staff.
"""

import itertools

import pytest
from django.conf import settings
from django.test import Client, override_settings

from formguard import policies
from formguard.models import FormPolicy, Incident, Reason
from formguard.testing import captcha_solution, trap_fields

pytestmark = pytest.mark.django_db

_ips = (f"203.0.113.{n}" for n in itertools.count(1))
SHOP = "shop.example.jp"

TEAPOT = (
    "Hello, I bought a teapot last week and the lid is cracked. Could you send a replacement? "
    "My order number is A-10293."
)
CHINESE = "您好，我住在东京，上周在贵店买的电饭煲不能加热了。请问可以维修或者换货吗？谢谢。"


@pytest.fixture(autouse=True)
def _demo():
    with override_settings(FORMGUARD=settings.DEMO_FORMGUARD, LANGUAGE_CODE="ja", ALLOWED_HOSTS=[SHOP, "testserver"]):
        policies.invalidate()
        yield
    policies.invalidate()


def post(message, *, accept_language, page=None, email="guest@example.com", solved=True):
    browser = Client(headers={"accept-language": accept_language}, HTTP_HOST=SHOP)
    if page:
        browser.cookies[settings.LANGUAGE_COOKIE_NAME] = page
    data = {"name": "Guest", "email": email, "message": message, **trap_fields("contact")}
    if solved:
        data.update(captcha_solution("contact"))
    return browser.post("/contact/", data, REMOTE_ADDR=next(_ips))


def test_an_english_message_on_the_english_page_reaches_the_staff(mailoutbox):
    response = post(TEAPOT, accept_language="en-US,en;q=0.9", page="en")
    assert response.status_code == 302
    assert len(mailoutbox) == 1 and TEAPOT in mailoutbox[0].body


def test_a_chinese_customer_on_the_japanese_page_is_asked_for_the_captcha_and_then_delivered(mailoutbox):
    unsolved = post(CHINESE, accept_language="zh-CN,zh;q=0.9", solved=False)
    assert unsolved.status_code == 200 and '<html lang="ja">' in unsolved.text
    assert "Please write your message in Japanese" not in unsolved.text
    assert "日本語で" not in unsolved.text
    assert CHINESE in unsolved.text  # the visitor's text is kept
    assert mailoutbox == []
    solved = post(CHINESE, accept_language="zh-CN,zh;q=0.9")
    assert solved.status_code == 302
    assert len(mailoutbox) == 1 and CHINESE in mailoutbox[0].body
    # On the record: the rule found it, and asked for the captcha instead of refusing.
    assert not Incident.objects.filter(reason=Reason.NOT_JAPANESE).exclude(detail__action="challenge").exists()


def test_the_japanese_rule_still_refuses_a_browser_that_asks_for_japanese_alone(mailoutbox):
    response = post(CHINESE, accept_language="ja-JP,ja;q=0.9")
    assert response.status_code == 200 and mailoutbox == []
    assert Incident.objects.filter(reason=Reason.NOT_JAPANESE, detail__action="refuse").exists()


def test_the_foreign_action_is_the_policys_choice(mailoutbox):
    FormPolicy.objects.update_or_create(form_key="*", defaults={"japanese_foreign_action": "refuse"})
    policies.invalidate()
    response = post(TEAPOT, accept_language="en-US,en;q=0.9", page="en")
    assert response.status_code == 200 and mailoutbox == []


@pytest.mark.parametrize(
    ("email", "message"),
    [
        (
            "yamada@yamada-shoji.co.jp",
            "お世話になっております。株式会社山田商事の山田です。\n御社製品の価格表をお送りいただけますでしょうか。\n\n"
            "--\n株式会社山田商事 営業部 山田太郎\nTEL 03-0000-5678\nE-mail: yamada@yamada-shoji.co.jp\n"
            "https://www.yamada-shoji.co.jp/",
        ),
        ("suzuki@suzuki-seiki.co.jp", "至急見積依頼。型番XR-2000、数量50台、納期12月20日希望。弊社担当鈴木宛。"),
        (
            "yoshida@example.ne.jp",
            "以下の3点をまとめて購入したいです。\nhttps://shop.example.jp/items/1001\n"
            "https://shop.example.jp/items/1002\nhttps://shop.example.jp/items/1003\n送料はいくらになりますか。",
        ),
    ],
    ids=["signature-with-own-address", "kanji-only-quote", "three-product-links"],
)
def test_customers_the_rules_turned_away_are_delivered(mailoutbox, email, message):
    response = post(message, accept_language="ja,en-US;q=0.9", email=email)
    assert response.status_code == 302
    assert len(mailoutbox) == 1 and message in mailoutbox[0].body


def test_the_address_in_a_sentence_and_links_to_other_sites_are_still_refused(mailoutbox):
    in_text = post("ご連絡は guest@example.com までお願いします。よろしくお願いいたします。", accept_language="ja")
    links = post(
        "詳しくは https://a.example/ と https://b.example/ と https://c.example/ をご覧ください。",
        accept_language="ja",
    )
    assert in_text.status_code == links.status_code == 200 and mailoutbox == []
