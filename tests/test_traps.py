"""Bot traps, content rules, per-recipient limits and the flood breaker, through the demo site.

The demo's policy (project/settings.py DEFAULT_POLICY): Japanese required,
honeypot answered with a fake success, flood breaker at 200 POSTs / 10 min.
"""

import itertools
import logging
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from formguard import incidents, policies, ratelimits
from formguard.content import JAPANESE_MIN_CHARS, ContentRules, is_disposable, recipient_key
from formguard.models import ActionLog, FormPolicy, Incident, Reason
from formguard.store import get_store
from formguard.testing import trap_fields
from formguard.traps import HONEYPOT_FIELD, TIME_FIELD
from tests.captcha_server import SiteverifyServer
from tests.test_incidents_reports import OWNER

pytestmark = pytest.mark.django_db

INQUIRY = {"name": "山田 太郎", "email": "taro@example.jp", "message": "商品の在庫について教えてください。"}
SEO_PITCH = (
    "Hello, I visited your website and noticed it is not ranking on Google. "
    "Our SEO team can bring you to the first page within 30 days. Reply for a free audit."
)
_ips = (f"198.51.100.{n}" for n in itertools.count(1))


def set_policy(form_key="contact", **fields):
    """Change a policy row as the admin does (the form must have been seen)."""
    policies.ensure_row(form_key)
    FormPolicy.objects.filter(form_key=form_key).update(**fields)
    policies.invalidate()


def send(client, data, ip=None, **extra):
    return client.post("/contact/", data, REMOTE_ADDR=ip or next(_ips), **extra)


def incident_reasons():
    incidents.flush_pending()
    return {(i.reason, i.monitor_only): i for i in Incident.objects.all()}


class FormInputs(HTMLParser):
    """Every input and textarea of the page's form, as a bot's HTML parser finds them."""

    def __init__(self):
        super().__init__()
        self.fields = {}
        self.visible = set()
        self._hidden_depth = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value") or ""
            if attrs.get("type") != "hidden" and "tabindex" not in attrs:
                self.visible.add(attrs["name"])
        elif tag == "textarea":
            self.fields[attrs["name"]] = ""
            self.visible.add(attrs["name"])


def form_inputs(client, ip):
    parser = FormInputs()
    parser.feed(client.get("/contact/", REMOTE_ADDR=ip).content.decode())
    return parser


# -- the dumb bots and the person (Done when, first item) ------------------


def test_a_dumb_bot_filling_every_input_and_posting_at_once_sends_nothing(client, mailoutbox):
    ip = next(_ips)
    found = form_inputs(client, ip)
    assert HONEYPOT_FIELD in found.fields and TIME_FIELD in found.fields
    data = {name: value or "spam text" for name, value in found.fields.items()}
    data["email"] = "bot@example.com"
    response = client.post("/contact/", data, REMOTE_ADDR=ip)
    # Posted at once, it gets what a person's form posted at once gets (the
    # form again), not a thanks that no submission in its state could get;
    # the honeypot it filled is on the record all the same.
    assert response.status_code == 200
    assert "The form was sent too quickly." in response.content.decode()
    assert mailoutbox == []
    incident = incident_reasons()[(Reason.TOO_FAST, False)]
    assert incident.detail["also"] == [Reason.HONEYPOT]


def test_a_patient_bot_filling_the_visible_fields_with_english_seo_text_sends_nothing(client, mailoutbox):
    ip = next(_ips)
    found = form_inputs(client, ip)
    data = dict(found.fields)
    data.update(name="SEO Expert", email="seo@example.com", message=SEO_PITCH)
    with time_machine.travel(timezone.now() + timedelta(seconds=5)):
        response = client.post("/contact/", data, REMOTE_ADDR=ip)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Please write your message in Japanese." in page
    # At the message, where the visitor fixes it.
    assert response.context["form"].errors == {"message": ["Please write your message in Japanese."]}
    assert SEO_PITCH[:40] in page  # what was typed comes back
    assert mailoutbox == []
    assert (Reason.NOT_JAPANESE, False) in incident_reasons()


def test_a_person_who_reads_the_form_then_sends_it_gets_the_thanks_page(client, mailoutbox):
    ip = next(_ips)
    found = form_inputs(client, ip)
    data = {**found.fields, **INQUIRY}
    with time_machine.travel(timezone.now() + timedelta(seconds=20)):
        response = client.post("/contact/", data, REMOTE_ADDR=ip)
    assert response.status_code == 302 and response["Location"] == "/contact/thanks/"
    assert len(mailoutbox) == 1
    assert not Incident.objects.exists()


def test_the_honeypot_is_hidden_from_people_and_screen_readers(client):
    page = client.get("/contact/").content.decode()
    assert '<link rel="stylesheet" href="/static/formguard/formguard.css">' in page
    assert f'<span class="fg-trap" aria-hidden="true"><label for="id_{HONEYPOT_FIELD}">Leave this field empty' in page
    assert f'name="{HONEYPOT_FIELD}" id="id_{HONEYPOT_FIELD}" value="" autocomplete="off" tabindex="-1"' in page
    # Nothing inline (a Content-Security-Policy without 'unsafe-inline' allows the page).
    assert "style=" not in page and not re.search(r"<script(?![^>]*\bsrc=)", page)


# -- the time trap ---------------------------------------------------------


def test_too_fast_missing_tampered_and_expired_tokens_give_the_form_back_with_the_input(client, mailoutbox):
    fields = trap_fields("contact")
    cases = {
        Reason.TOO_FAST: {**INQUIRY, **trap_fields("contact", age=1)},
        Reason.BAD_TOKEN: INQUIRY,
        "tampered": {**INQUIRY, **fields, TIME_FIELD: fields[TIME_FIELD][:-2] + "xx"},
        "other form": {**INQUIRY, **trap_fields("pieces")},
    }
    for case, data in cases.items():
        response = send(client, data)
        assert response.status_code == 200, case
        assert INQUIRY["message"] in response.content.decode(), case
    expired = {**INQUIRY, **trap_fields("contact", age=24 * 3600 + 5)}
    response = send(client, expired)
    page = response.content.decode()
    assert "This form was open for a long time. Please check your input and send it again." in page
    assert INQUIRY["message"] in page
    # The form comes back with a fresh time: sent again a little later, it goes.
    again = FormInputs()
    again.feed(page)
    with time_machine.travel(timezone.now() + timedelta(seconds=10)):
        assert send(client, {**again.fields, **INQUIRY}).status_code == 302
    assert len(mailoutbox) == 1
    found = incident_reasons()
    for reason in (Reason.TOO_FAST, Reason.BAD_TOKEN, Reason.FORM_EXPIRED):
        assert (reason, False) in found


def test_back_button_and_a_second_tab_reuse_a_token(client, mailoutbox):
    ip = next(_ips)
    first, second = form_inputs(client, ip), form_inputs(client, ip)
    with time_machine.travel(timezone.now() + timedelta(seconds=30)):
        # Sent, then the back button shows the same page (same token): sent again.
        assert client.post("/contact/", {**first.fields, **INQUIRY}, REMOTE_ADDR=ip).status_code == 302
        assert client.post("/contact/", {**first.fields, **INQUIRY}, REMOTE_ADDR=ip).status_code == 302
        # The second tab, opened earlier, is sent last.
        assert client.post("/contact/", {**second.fields, **INQUIRY}, REMOTE_ADDR=ip).status_code == 302
    assert len(mailoutbox) == 3


def test_a_form_shown_again_after_a_too_fast_post_keeps_the_visitors_time(client, mailoutbox):
    ip = next(_ips)
    found = form_inputs(client, ip)
    page = client.post("/contact/", {**found.fields, **INQUIRY}, REMOTE_ADDR=ip).content.decode()
    assert "The form was sent too quickly" in page
    again = FormInputs()
    again.feed(page)
    assert again.fields[TIME_FIELD] == found.fields[TIME_FIELD]
    with time_machine.travel(timezone.now() + timedelta(seconds=4)):
        assert client.post("/contact/", {**again.fields, **INQUIRY}, REMOTE_ADDR=ip).status_code == 302


# -- content rules ---------------------------------------------------------

# Short texts that real Japanese customers send in kanji alone (and ASCII):
# all pass the Japanese rule, being under JAPANESE_MIN_CHARS characters.
KANJI_ONLY = [
    "資料請求",
    "見積依頼",
    "至急見積希望",
    "御社製品資料送付希望",
    "株式会社山田商事営業部御中資料請求",
    "ABC-123 在庫確認",
]
# Japanese prose of any length has kana.
JAPANESE = [
    "商品の在庫について教えてください。",
    "先日注文した商品がまだ届いていません。注文番号は A-1234 です。確認をお願いいたします。",
    "ｶﾀｶﾅだけの半角のお問い合わせでも大丈夫ですか",
]
# What the rule is for: English and Chinese pitches of 20 characters and more.
NOT_JAPANESE = [
    SEO_PITCH,
    "We can boost your SEO ranking.",
    "网站优化排名提升到百度首页价格优惠欢迎咨询",
    "您好，我们是专业的网站推广公司の团队，可以帮助您的网站排名提升到百度首页，价格优惠，欢迎联系微信",
]


def rules(**fields):
    values = {**policies.Policy("x", True, False, "5/10m", 10, 60, 3600, 4.0, 2592000).__dict__, **fields}
    return ContentRules.of(policies.Policy(**values))


def test_japanese_required_threshold_on_real_examples():
    japanese = rules(japanese_action="refuse")
    for text in KANJI_ONLY + JAPANESE:
        assert japanese.check_japanese(text) is None, text
    for text in NOT_JAPANESE:
        assert len("".join(text.split())) >= JAPANESE_MIN_CHARS
        assert japanese.check_japanese(text).reason == Reason.NOT_JAPANESE, text


def test_kanji_only_passes_on_the_demo_and_english_passes_where_the_form_allows_it(client, mailoutbox):
    for n, text in enumerate(KANJI_ONLY):
        data = {**INQUIRY, "email": f"k{n}@example.jp", "message": text, **trap_fields("contact")}
        assert send(client, data).status_code == 302, text
    english = {**INQUIRY, "email": "jane@example.com", "message": "Do you ship to Osaka? I would like two boxes."}
    assert send(client, {**english, **trap_fields("contact")}).status_code == 200  # the demo requires Japanese
    set_policy(japanese_action="off")
    assert send(client, {**english, **trap_fields("contact")}).status_code == 302
    assert len(mailoutbox) == len(KANJI_ONLY) + 1


@pytest.mark.parametrize(
    ("field", "value", "reason", "message"),
    [
        (
            "message",
            "詳しくは https://a.example/ と https://b.example/ と www.c.example を見てください",
            Reason.LINKS,
            "at most 2 web addresses",
        ),
        ("message", "こちらをご覧ください [url=https://spam.example/]安い[/url]", Reason.LINKS, "at most 2"),
        ("message", "こちらです <a href='https://spam.example/'>リンク</a>", Reason.LINKS, "at most 2"),
        ("message", "ご連絡は taro@example.jp までお願いします。", Reason.EMAIL_IN_MESSAGE, "email field only"),
        ("email", "someone@mailinator.com", Reason.DISPOSABLE_EMAIL, "not a disposable one"),
        ("message", "ＳＥＯ対策のご提案です。御社のサイトを上位表示いたします。", Reason.NG_WORDS, "does not accept"),
    ],
)
def test_each_rule_refuses_with_the_input_kept(client, mailoutbox, field, value, reason, message):
    set_policy(form_key="*", ng_words="seo対策\nフォーム営業\n")
    data = {**INQUIRY, field: value, **trap_fields("contact")}
    response = send(client, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert INQUIRY["name"] in page
    assert mailoutbox == []
    assert (reason, False) in incident_reasons()


def test_one_link_and_kind_addresses_pass(client, mailoutbox):
    for n, email in enumerate(
        [
            "taro@qq.com",
            "hanako@163.com",
            "ken@gmail.com",
            "a@docomo.ne.jp",
            "b@ezweb.ne.jp",
            "c@softbank.ne.jp",
            "d@au.com",
            "e@i.softbank.jp",
        ]
    ):
        data = {
            **INQUIRY,
            "email": email,
            "message": "地図は https://example.jp/map にあります。よろしくお願いします。",
        }
        assert send(client, {**data, **trap_fields("contact")}).status_code == 302, email
    assert len(mailoutbox) == 8
    assert not is_disposable("qq.com") and is_disposable("mail.mailinator.com")


def test_rules_never_fail_on_a_form_without_their_fields(client):
    set_policy(form_key="*", ng_words="spam")
    assert client.post("/t/plain/", {"other": "x"}).status_code == 200
    set_policy(message_field="body", email_field="from")
    assert send(client, {**INQUIRY, **trap_fields("contact")}).status_code == 302


def test_ng_words_are_folded_by_width_and_case_and_compiled_once_per_policy(client):
    set_policy(form_key="*", ng_words="ＳＥＯ対策\n\n  フォーム営業  \n")
    policy = policies.get_policy("contact")
    assert policy.content_rules is policy.content_rules
    assert policy.content_rules.check_ng_words({"message": "seo対策しませんか"}).detail == {"word": "seo対策"}
    assert policy.content_rules.check_ng_words({"company": "ﾌｫｰﾑ営業株式会社"}) is not None
    assert policy.content_rules.check_ng_words({"message": "SEOについて"}) is None


# -- actions -----------------------------------------------------------------


def test_fake_success_for_the_owners_ng_words_keeps_the_whole_submission(client, mailoutbox, admin_client):
    set_policy(form_key="*", ng_words="フォーム営業", ng_words_action="fake_success")
    pitch = "突然のご連絡失礼いたします。フォーム営業の代行サービスのご案内です。"
    response = send(client, {**INQUIRY, "message": pitch, **trap_fields("contact")})
    assert response.status_code == 302 and response["Location"] == "/contact/thanks/"
    assert mailoutbox == []
    incident = incident_reasons()[(Reason.NG_WORDS, False)]
    assert incident.sample["message"] == pitch and incident.sample["email"] == INQUIRY["email"]
    assert TIME_FIELD not in incident.sample
    # The owner finds the messages that were answered with a fake success, to rescue a customer's.
    page = admin_client.get("/admin/formguard/incident/?caught=fake_success").content.decode()
    assert "Caught with a fake success" in page and "ng_words" in page or "NG word" in page
    detail = admin_client.get(f"/admin/formguard/incident/{incident.pk}/change/").content.decode()
    assert pitch in detail


def test_fake_success_is_offered_only_for_high_confidence_signals():
    row = FormPolicy(form_key="x", japanese_action="fake_success")
    with pytest.raises(Exception, match="not a valid choice"):
        row.full_clean()
    FormPolicy(form_key="y", honeypot_action="fake_success", ng_words_action="fake_success").full_clean()


@pytest.fixture
def provider():
    server = SiteverifyServer()
    yield server
    server.close()


def test_challenge_requires_the_captcha_against_the_local_server(client, provider, mailoutbox):
    captcha = {"PROVIDER": "recaptcha_v2", "SITE_KEY": "site", "SECRET_KEY": "secret", "VERIFY_URL": provider.url}
    with override_settings(FORMGUARD={"CAPTCHA": captcha}):
        set_policy(form_key="*", captcha_required=False, japanese_action="challenge")
        english = {**INQUIRY, "message": SEO_PITCH, **trap_fields("contact")}
        # Japanese: no captcha asked.
        assert send(client, {**INQUIRY, **trap_fields("contact")}).status_code == 302
        assert provider.requests == []
        challenged = send(client, english, ip="192.0.2.50")
        assert challenged.status_code == 200
        page = challenged.content.decode()
        assert 'class="g-recaptcha fg-captcha"' in page and SEO_PITCH[:40] in page
        assert send(client, {**english, "g-recaptcha-response": "ok-1"}, ip="192.0.2.50").status_code == 302
        assert provider.requests[-1]["response"] == "ok-1"
    assert len(mailoutbox) == 2
    assert incident_reasons()[(Reason.NOT_JAPANESE, False)].count == 2


def test_challenge_without_a_captcha_provider_refuses(client, mailoutbox):
    set_policy(form_key="*", japanese_action="challenge")
    response = send(client, {**INQUIRY, "message": SEO_PITCH, **trap_fields("contact")})
    assert response.status_code == 200 and "Please write your message in Japanese." in response.content.decode()
    assert incident_reasons()[(Reason.NOT_JAPANESE, False)].detail["action"] == "refuse"


def test_monitor_only_sends_and_records_what_would_have_been_refused(client, mailoutbox, admin_client):
    set_policy(form_key="*", monitor_only=True, japanese_action="challenge")
    assert send(client, {**INQUIRY, "message": SEO_PITCH, **trap_fields("contact")}).status_code == 302
    assert send(client, {**INQUIRY, **trap_fields("contact"), HONEYPOT_FIELD: "x"}).status_code == 302
    assert len(mailoutbox) == 2
    found = incident_reasons()
    assert (Reason.NOT_JAPANESE, True) in found and (Reason.HONEYPOT, True) in found
    page = admin_client.get("/admin/formguard/incident/?monitor_only__exact=1").content.decode()
    assert "no Japanese in the message" in page and "honeypot field filled" in page


def test_honeypot_refused_comes_back_empty_with_the_input(client, mailoutbox):
    set_policy(form_key="*", honeypot_action="refuse")
    response = send(client, {**INQUIRY, **trap_fields("contact"), HONEYPOT_FIELD: "https://autofill.example"})
    page = response.content.decode()
    assert response.status_code == 200 and "perhaps by your browser" in page
    assert INQUIRY["message"] in page and "autofill.example" not in page


# -- per-recipient limit -----------------------------------------------------


def test_four_ips_same_address_the_fourth_is_refused_and_the_address_is_never_stored(client, mailoutbox):
    ips = ["203.0.113.10", "198.51.100.77", "192.0.2.33", "2001:db8:9::5"]
    addresses = ["Victim@Example.org", "victim@example.org", "VICTIM@example.org ", "victim+x@EXAMPLE.org"]
    statuses = []
    for ip, address in zip(ips, addresses, strict=True):
        response = send(client, {**INQUIRY, "email": address, **trap_fields("contact")}, ip=ip)
        statuses.append(response.status_code)
    assert statuses == [302, 302, 302, 200]
    assert "Too many messages were sent for this email address" in response.content.decode()
    assert list(response.context["form"].errors) == ["email"]
    assert INQUIRY["message"] in response.content.decode()
    assert len(mailoutbox) == 3
    assert (Reason.RECIPIENT_LIMIT, False) in incident_reasons()
    # Another address goes on.
    assert send(client, {**INQUIRY, "email": "other@example.org", **trap_fields("contact")}).status_code == 302
    # The store (the embedded SQLite file and its journal) holds a keyed hash, never the address.
    # (The refusal's incident keeps what was typed, in the database, as every incident's sample does.)
    incidents.flush_pending()
    store = get_store()
    store.close()
    dump = b""
    for suffix in ("", "-wal"):
        try:
            with open(store.path + suffix, "rb") as f:
                dump += f.read()
        except FileNotFoundError:
            pass
    keys = [row[0] for row in sqlite3.connect(store.path).execute("SELECT key FROM counter")]
    assert f"recipient:contact:{recipient_key('victim@example.org')}" in " ".join(keys)
    assert f"recipient:contact:{recipient_key('victim@example.org')}".encode() in dump  # the file was read
    assert b"victim" not in dump.lower() and b"example.org" not in dump


# -- the flood breaker ---------------------------------------------------------


def test_the_breaker_closes_the_demo_form_only_as_the_owners_last_resort_and_it_reopens_by_itself(
    client, mailoutbox, caplog
):
    # The owner opted in: under a flood, if more than the limit still pass every check, close.
    set_policy("*", flood_close=True)
    # At the start of the breaker's 10-minute window (windows end at fixed times).
    end = ratelimits.window_end("*", 600, int(timezone.now().timestamp()))
    start = datetime.fromtimestamp(end - 599, tz=UTC)
    statuses = []
    with override_settings(ADMINS=OWNER), time_machine.travel(start, tick=False) as clock:
        for n in range(500):
            ip = f"10.{n // 250}.{n % 250}.1"
            data = {**INQUIRY, "email": f"c{n}@example.jp", **trap_fields("contact")}
            statuses.append(client.post("/contact/", data, REMOTE_ADDR=ip).status_code)
            clock.shift(1)  # one POST a second: 500 in 8 minutes
        # The demo's threshold: 200 POSTs in its 10-minute window escalate (no captcha in
        # these tests: all still pass); 200 more passing under the flood close the form.
        escalated = ActionLog.objects.get(action=ActionLog.Action.ESCALATED)
        assert escalated.at == start + timedelta(seconds=200)
        opened = statuses.index(503)
        assert opened == 400
        assert set(statuses[:opened]) == {302} and set(statuses[opened:]) == {503}
        row = FormPolicy.objects.get(form_key="contact")
        assert row.closed and row.closed_until == start + timedelta(seconds=opened, minutes=30)
        log = ActionLog.objects.get(action=ActionLog.Action.CLOSED)
        assert log.automatic and "flood breaker" in log.detail and "200/10m" in log.detail
        admin_mails = [m for m in mailoutbox if "owner@example.jp" in m.to]
        assert [("under a flood" in m.subject, "closed" in m.subject) for m in admin_mails] == [
            (True, False),
            (False, True),
        ]
        sent = len(mailoutbox) - 2
        assert sent == opened
        clock.move_to(start + timedelta(seconds=opened, minutes=31))
        policies.invalidate()
        assert client.get("/contact/", REMOTE_ADDR="192.0.2.99").status_code == 200
        data = {**INQUIRY, "email": "after@example.jp", **trap_fields("contact")}
        assert client.post("/contact/", data, REMOTE_ADDR="192.0.2.99").status_code == 302
    assert len([m for m in mailoutbox if "owner@example.jp" in m.to]) == 2


def test_the_breaker_and_japanese_required_are_off_by_default_in_the_library():
    from formguard.conf import DEFAULT_POLICY

    assert DEFAULT_POLICY["flood_limit"] == "off" and DEFAULT_POLICY["japanese_action"] == "off"
    assert DEFAULT_POLICY["flood_close"] is False  # closing by itself: only if the owner opts in
    assert DEFAULT_POLICY["recipient_limit"] == "3/d" and DEFAULT_POLICY["time_trap_min"] == 3
    assert policies.get_policy("contact").flood_limit == "200/10m"  # the demo's


# -- a template that forgets formguard's field ---------------------------------


def test_a_form_shown_without_formguards_field_is_reported_at_once(client, caplog, admin_client):
    with caplog.at_level(logging.ERROR, logger="formguard.middleware"):
        page = client.get("/t/pieces/").content.decode()
    assert TIME_FIELD not in page
    assert "without formguard's field" in caplog.text and "{{ form.formguard }}" in caplog.text
    diagnosis = admin_client.get("/admin/formguard/blockrule/inspect/").content.decode()
    assert "pieces" in diagnosis and "Shown without formguard" in diagnosis
    # The visitor is told (the form came back with the reason nowhere on it), the text kept.
    refused = client.post("/t/pieces/", {"message": "こんにちは"})
    assert refused.status_code == 400 and "こんにちは" in refused.content.decode()
