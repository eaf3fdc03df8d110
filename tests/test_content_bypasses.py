"""Content rules that a spammer walked around (issue 19, item 4), through the demo's /contact/.

The demo's policy (project/settings.py DEFAULT_POLICY): Japanese required,
links at most 2, NG words, the sender's address and 3 messages a day per
address, all refused. Each trick below ended as a mail to the staff.
"""

import itertools

import pytest
from django.test import override_settings

from formguard import incidents, policies
from formguard.models import FormPolicy, Incident, Reason
from formguard.testing import trap_fields
from tests.captcha_server import SiteverifyServer

pytestmark = pytest.mark.django_db

INQUIRY = {"name": "山田 太郎", "email": "taro@example.jp", "message": "商品の在庫について教えてください。"}
NG_WORDS = "SEO\nSEO対策\nフォーム営業\nバイアグラ\nカジノ\n仮想通貨\n"
_ips = (f"198.51.100.{n}" for n in itertools.count(1))


@pytest.fixture(autouse=True)
def ng_words():
    policies.ensure_row("*")
    FormPolicy.objects.filter(form_key="*").update(ng_words=NG_WORDS)
    policies.invalidate()


def send(client, data, ip=None):
    return client.post("/contact/", {**data, **trap_fields("contact")}, REMOTE_ADDR=ip or next(_ips))


def refused_for(client, mailoutbox, data, reason):
    mails = len(mailoutbox)
    response = send(client, data)
    assert response.status_code == 200, data
    assert len(mailoutbox) == mails, data
    incidents.flush_pending()
    found = {i.reason for i in Incident.objects.all()}
    assert found == {reason}, (data, found)
    Incident.objects.all().delete()


@pytest.mark.parametrize(
    "message",
    [
        "S\u200bE\u200bO対策で御社のサイトを上位表示いたします。",  # zero-width space
        "フォーム\u00ad営業で新規顧客を開拓しませんか。",  # soft hyphen
        "オンラインカジ\u200dノで今なら入金不要ボーナスをプレゼント中です。",  # zero-width joiner
        "バイ\u2060アグラのジェネリックを格安でお届けします。",  # word joiner
        "S E O 対策のご提案です。御社のアクセスを3倍にいたします。",  # spaces
        "フォーム\u3000営業のご案内です。1日1000件送信いたします。",  # ideographic space
        "ＳＥ\u00adＯ　対\u200b策、月額1万円で承ります。",  # all of them, full width
    ],
)
def test_an_ng_word_split_by_invisible_characters_or_spaces_is_caught(client, mailoutbox, message):
    refused_for(client, mailoutbox, {**INQUIRY, "message": message}, Reason.NG_WORDS)


def test_spaces_do_not_join_two_innocent_words_into_an_ng_word(client, mailoutbox):
    # "Rose Oil" and "House Of", without their space, contain "seo".
    innocent = ["ローズオイル（Rose Oil）の在庫はありますか？", "「House Of Tea」のギフトセットは取り扱っていますか？"]
    caught_and_passed(client, mailoutbox, Reason.NG_WORDS, ["御社のS E Oを改善します。"], innocent)


def test_an_ng_word_after_20_junk_fields_is_caught(client, mailoutbox):
    junk = {f"field{n}": "aaaa" for n in range(1, 21)}
    data = {**junk, **INQUIRY, "message": "仮想通貨の自動売買で毎月100万円の利益が出ています。"}
    refused_for(client, mailoutbox, data, Reason.NG_WORDS)
    # A second value under the message's name is read too.
    response = client.post(
        "/contact/",
        {**INQUIRY, **trap_fields("contact"), "message": [INQUIRY["message"], "SEO対策のご案内"]},
        REMOTE_ADDR=next(_ips),
    )
    assert response.status_code == 200 and mailoutbox == []


def test_a_captcha_answer_that_spells_an_ng_word_is_not_read_as_text(client, mailoutbox):
    server = SiteverifyServer()
    captcha = {"PROVIDER": "recaptcha_v2", "SITE_KEY": "site", "SECRET_KEY": "secret", "VERIFY_URL": server.url}
    try:
        with override_settings(FORMGUARD={"CAPTCHA": captcha}):
            FormPolicy.objects.filter(form_key="*").update(captcha_required=True)
            policies.invalidate()
            # Tokens are random letters: one in a few dozen spells "seo" somewhere.
            data = {**INQUIRY, "g-recaptcha-response": "ok-03AFcWeA4SEoJk9x_bQ2"}
            assert send(client, data).status_code == 302
    finally:
        server.close()
    assert len(mailoutbox) == 1


GLUED_LINKS = [
    "詳しくはhttps://a.example/、https://b.example/、https://c.example/をご覧ください。",
    "おすすめはこちらです https://a.example/p,https://b.example/p,https://c.example/p",
    "詳細はhttps://a.example/とhttps://b.example/とwww.c.exampleでご確認いただけます。",
    'こちらの記事をご覧ください <a target="_blank" href="https://spam.example/">人気の記事</a>',
    "こちらです <A class='x'\nHREF='https://spam.example/'>リンク</A>",
]
CUSTOMERS_LINKS = [
    "https://shop.example.jp/items/1234、https://shop.example.jp/items/5678 の違いを教えてください。",
    "サンプルはいただけますか。\n\n伊藤農園 伊藤健\nhttps://www.ito-farm.jp/",
]


def caught_and_passed(client, mailoutbox, reason, caught, passed):
    """Both sides: each message of ``caught`` refused for ``reason``, each of ``passed`` mailed."""
    for message in caught:
        refused_for(client, mailoutbox, {**INQUIRY, "message": message}, reason)
    for message in passed:
        assert send(client, {**INQUIRY, "message": message}).status_code == 302, message
    assert len(mailoutbox) == len(passed)


def test_links_glued_together_and_markup_with_attributes_are_caught_a_customers_links_pass(client, mailoutbox):
    caught_and_passed(client, mailoutbox, Reason.LINKS, GLUED_LINKS, CUSTOMERS_LINKS)


PITCHES_WITH_A_TOKEN_OF_KANA = [
    "Dear Sir or Madam, we are a digital marketing agency helping Japanese companies grow their online "
    "sales. We offer web design, social media marketing and paid advertising at very competitive prices. "
    "Please let us know if you are interested. よろしくお願いします。",
    "您好，我们公司专业提供外贸推广服务，帮助贵公司开拓海外市场，提升品牌知名度，价格优惠，欢迎随时联系我们を了解详情。",
]
# Customers at the low end of the kana share (tests/corpus/): they passed before, and still do.
FEW_KANA_CUSTOMERS = [
    "至急見積依頼です。型番XR-2000、数量50台、納期12月20日希望。弊社担当中島宛。",
    "貴社製品ＬＥＤ照明器具ＫＬ－３００型の仕様書及び価格表の送付を希望します。",
    "Hello, I bought a kimono from your shop last month. Could you tell me how to wash it? "
    "Thank you. よろしくお願いします。",
]


def test_a_pitch_with_a_token_of_kana_is_not_japanese_a_customer_with_few_still_is(client, mailoutbox):
    caught_and_passed(client, mailoutbox, Reason.NOT_JAPANESE, PITCHES_WITH_A_TOKEN_OF_KANA, FEW_KANA_CUSTOMERS)


def test_gmail_dots_tags_and_googlemail_are_one_inbox(client, mailoutbox):
    addresses = [
        "victim.name@gmail.com",
        "victimname@gmail.com",
        "v.i.c.t.i.m.n.a.m.e@gmail.com",
        "victim.name+news@gmail.com",
        "VictimName@googlemail.com",
    ]
    statuses = [send(client, {**INQUIRY, "email": address}).status_code for address in addresses]
    assert statuses == [302, 302, 302, 200, 200]  # the demo's limit: 3 a day per address
    assert len(mailoutbox) == 3
    # Dots still matter elsewhere: another provider's dotted address is another mailbox.
    assert send(client, {**INQUIRY, "email": "victim.name@example.jp"}).status_code == 302
    assert send(client, {**INQUIRY, "email": "victimname@example.jp"}).status_code == 302
