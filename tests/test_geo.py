"""Hiding the form from overseas IPs: real .mmdb files built here, read by maxminddb."""

import logging
from datetime import datetime, timedelta

import pytest
import time_machine
from django.core.checks import run_checks
from django.core.management import call_command
from django.test import override_settings
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from formguard import geo, incidents, policies
from formguard.models import AlternativeContact, BlockRule, FormPolicy, Incident, Reason

pytestmark = pytest.mark.django_db

CN_V4, JP_V4, US_V4 = "114.114.114.114", "133.11.0.1", "8.8.8.8"
CN_V6, JP_V6 = "240e:1::1", "2001:200::1"
UNKNOWN_V4 = "100.200.1.1"


def build_mmdb(path, database_type):
    writer = MMDBWriter(ip_version=6, database_type=database_type, ipv4_compatible=True, languages=["en"])

    def record(code):
        country = {"iso_code": code, "names": {"en": code}, "geoname_id": 1}
        if "City" in database_type:
            return {"country": country, "city": {"names": {"en": "Somewhere"}, "geoname_id": 2}}
        return {"country": country}

    writer.insert_network(IPSet(["114.114.114.0/24", "240e::/20"]), record("CN"))
    writer.insert_network(IPSet(["133.11.0.0/16", "2001:200::/23"]), record("JP"))
    writer.insert_network(IPSet(["8.8.8.0/24"]), record("US"))
    writer.to_db_file(str(path))
    return str(path)


@pytest.fixture(scope="module", params=["GeoLite2-Country", "GeoLite2-City"])
def mmdb(request, tmp_path_factory):
    return build_mmdb(tmp_path_factory.mktemp("geo") / f"{request.param}.mmdb", request.param)


@pytest.fixture
def geoip(mmdb):
    geo.reset()
    with override_settings(FORMGUARD={"GEOIP_PATH": mmdb}):
        yield mmdb
    geo.reset()


def set_policy(**values):
    FormPolicy.objects.update_or_create(form_key="*", defaults={"enabled": True, "monitor_only": False, **values})
    policies.invalidate()


def test_country_of_with_country_and_city_layouts(geoip):
    assert geo.country_of(CN_V4) == "CN"
    assert geo.country_of(JP_V4) == "JP"
    assert geo.country_of(CN_V6) == "CN"
    assert geo.country_of(JP_V6) == "JP"
    assert geo.country_of("::ffff:114.114.114.114") == "CN"
    assert geo.country_of(UNKNOWN_V4) == "ZZ"
    assert geo.country_of("127.0.0.1") == "XX"
    assert geo.country_of("10.1.2.3") == "XX"
    assert geo.country_of("::1") == "XX"
    assert geo.country_of("fe80::1") == "XX"


def test_one_reader_per_process(geoip):
    geo.country_of(CN_V4)
    first = geo._reader
    geo.country_of(JP_V4)
    assert geo._reader is first


@pytest.fixture
def hide_jp_only(geoip):
    set_policy(country_mode="hide", allowed_countries="JP")


def test_hide_shows_alternative_contact_instead_of_the_form(hide_jp_only, client):
    AlternativeContact.objects.create(country="CN", text_zh="微信公众号：example_shop", text_en="WeChat: example_shop")
    AlternativeContact.objects.create(country="", text_en="Phone: +81-3-0000-0000")
    cn = client.get("/contact/", REMOTE_ADDR=CN_V4, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert cn.status_code == 200
    page = cn.content.decode()
    assert 'id="contact-form"' not in page
    assert "微信公众号：example_shop" in page
    assert "+81-3-0000-0000" not in page

    us = client.get("/contact/", REMOTE_ADDR=US_V4, HTTP_ACCEPT_LANGUAGE="en")
    assert "+81-3-0000-0000" in us.content.decode()
    assert 'id="contact-form"' not in us.content.decode()

    jp = client.get("/contact/", REMOTE_ADDR=JP_V4)
    assert jp.status_code == 200 and 'id="contact-form"' in jp.content.decode()


def test_hide_refuses_posts_with_403_and_records_the_country(hide_jp_only, client, contact_data, mailoutbox):
    response = client.post("/contact/", contact_data, REMOTE_ADDR=CN_V6)
    assert response.status_code == 403
    assert mailoutbox == []
    incidents.flush_pending()
    incident = Incident.objects.get(reason=Reason.COUNTRY)
    assert incident.country == "CN"
    assert incident.ip == CN_V6
    assert client.post("/contact/", contact_data, REMOTE_ADDR=JP_V6).status_code == 302


def test_block_mode(geoip, client, contact_data):
    set_policy(country_mode="block", allowed_countries="JP, TW")
    assert client.get("/contact/", REMOTE_ADDR=CN_V4).status_code == 403
    assert client.post("/contact/", contact_data, REMOTE_ADDR=CN_V4).status_code == 403
    assert client.get("/contact/", REMOTE_ADDR=JP_V4).status_code == 200


def test_private_addresses_allowed_by_default_and_unknown_configurable(hide_jp_only, client):
    assert 'id="contact-form"' in client.get("/contact/", REMOTE_ADDR="127.0.0.1").content.decode()
    assert 'id="contact-form"' in client.get("/contact/", REMOTE_ADDR=UNKNOWN_V4).content.decode()
    set_policy(country_mode="hide", allowed_countries="JP", unknown_country="foreign", private_country="foreign")
    assert 'id="contact-form"' not in client.get("/contact/", REMOTE_ADDR=UNKNOWN_V4).content.decode()
    assert 'id="contact-form"' not in client.get("/contact/", REMOTE_ADDR="10.0.0.5").content.decode()


def test_allowlisted_ips_always_pass(hide_jp_only, client):
    BlockRule.objects.create(network="114.114.114.0/24", kind=BlockRule.Kind.ALLOW, reason="partner in Nanjing")
    assert 'id="contact-form"' in client.get("/contact/", REMOTE_ADDR=CN_V4).content.decode()


def test_monitor_only_shows_the_form_and_records(geoip, client):
    set_policy(country_mode="block", allowed_countries="JP", monitor_only=True)
    assert client.get("/contact/", REMOTE_ADDR=CN_V4).status_code == 200
    incident = Incident.objects.get()
    assert (incident.reason, incident.monitor_only, incident.country) == (Reason.COUNTRY, True, "CN")


def test_turning_the_filter_off_in_the_admin_shows_the_form_again(hide_jp_only, client, admin_client):
    assert 'id="contact-form"' not in client.get("/contact/", REMOTE_ADDR=CN_V4).content.decode()
    row = FormPolicy.objects.get(form_key="*")
    response = admin_client.post(
        f"/admin/formguard/formpolicy/{row.pk}/change/",
        {
            "form_key": "*",
            "enabled": "true",
            "monitor_only": "false",
            "closed_until_0": "",
            "closed_until_1": "",
            "rate_limit": "5/10m",
            "burst_count": 10,
            "burst_window": "60秒",
            "ban_duration": "1h",
            "ban_growth": 4,
            "ban_max": "1日",
            "captcha_required": "true",
            "captcha_min_score": 0.5,
            "country_mode": "off",
            "allowed_countries": "JP",
            "unknown_country": "allow",
            "private_country": "allow",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert 'id="contact-form"' in client.get("/contact/", REMOTE_ADDR=CN_V4).content.decode()


def test_challenge_requires_the_captcha_from_other_countries_only(geoip, client, contact_data, mailoutbox):
    from tests.captcha_server import SiteverifyServer

    server = SiteverifyServer()
    try:
        settings = {
            "GEOIP_PATH": geoip,
            "CAPTCHA": {"SITE_KEY": "k", "SECRET_KEY": "s", "VERIFY_URL": server.url},
        }
        with override_settings(FORMGUARD=settings):
            set_policy(country_mode="challenge", allowed_countries="JP", captcha_required=False)
            assert "g-recaptcha" in client.get("/contact/", REMOTE_ADDR=CN_V4).content.decode()
            assert "g-recaptcha" not in client.get("/contact/", REMOTE_ADDR=JP_V4).content.decode()
            assert client.post("/contact/", contact_data, REMOTE_ADDR=JP_V4).status_code == 302
            refused = client.post("/contact/", contact_data, REMOTE_ADDR=CN_V4)
            assert refused.status_code == 200 and contact_data["message"] in refused.content.decode()
            passed = client.post("/contact/", {**contact_data, "g-recaptcha-response": "ok-cn"}, REMOTE_ADDR=CN_V4)
            assert passed.status_code == 302
        assert len(mailoutbox) == 2
    finally:
        server.close()


def test_missing_database_is_a_check_error_and_requests_still_work(tmp_path, client, contact_data, caplog):
    missing = str(tmp_path / "GeoLite2-Country.mmdb")
    geo.reset()
    with override_settings(FORMGUARD={"GEOIP_PATH": missing}):
        assert "formguard.E012" in {m.id for m in run_checks()}
        set_policy(country_mode="hide", allowed_countries="JP")
        with caplog.at_level(logging.ERROR, logger="formguard.geo"):
            statuses = [client.get("/contact/", REMOTE_ADDR=CN_V4).status_code for _ in range(5)]
            assert client.post("/contact/", contact_data, REMOTE_ADDR=CN_V4).status_code == 302
    geo.reset()
    assert statuses == [200] * 5  # unknown country (ZZ): allowed by the default policy
    assert len([r for r in caplog.records if "cannot open the GeoIP database" in r.getMessage()]) == 1


def test_a_file_that_is_not_an_mmdb(tmp_path):
    bad = tmp_path / "broken.mmdb"
    bad.write_bytes(b"this is not a MaxMind database" * 10)
    geo.reset()
    with override_settings(FORMGUARD={"GEOIP_PATH": str(bad)}):
        assert "formguard.E012" in {m.id for m in run_checks()}
        assert geo.country_of(CN_V4) == "ZZ"
    geo.reset()


def test_old_database_is_a_deploy_warning(tmp_path):
    with time_machine.travel(datetime.now() - timedelta(days=200), tick=False):
        old = build_mmdb(tmp_path / "old.mmdb", "GeoLite2-Country")
    fresh = build_mmdb(tmp_path / "fresh.mmdb", "GeoLite2-Country")
    with override_settings(FORMGUARD={"GEOIP_PATH": old}):
        assert "formguard.W005" in {m.id for m in run_checks(include_deployment_checks=True)}
        assert "formguard.W005" not in {m.id for m in run_checks()}
    with override_settings(FORMGUARD={"GEOIP_PATH": fresh}):
        assert "formguard.W005" not in {m.id for m in run_checks(include_deployment_checks=True)}


def test_geoip_command(geoip, client, capsys):
    set_policy(country_mode="hide", allowed_countries="JP")
    client.get("/contact/", REMOTE_ADDR=JP_V4)
    capsys.readouterr()
    call_command("formguard", "geoip", CN_V4)
    out = capsys.readouterr().out
    assert "country: China (CN)" in out
    assert (
        "contact: opening the form: form hidden, other ways to reach you shown / "
        "sending it: refused: country; the visitor sees the “access refused” page" in out
    )
    call_command("formguard", "geoip", JP_V4)
    assert "country: Japan (JP)" in capsys.readouterr().out


def test_demo_database_out_of_the_box(client, contact_data):
    """The database a PyPI package ships, as the demo is configured."""
    from django.conf import settings

    geo.reset()
    assert settings.FORMGUARD["GEOIP_PATH"].endswith("GeoLite2-City.mmdb")
    set_policy(country_mode="hide", allowed_countries="JP")
    AlternativeContact.objects.create(country="CN", text_ja="WeChat 公式アカウント：example_shop")
    cn = client.get("/contact/", REMOTE_ADDR="114.114.114.114")
    assert cn.status_code == 200
    assert 'id="contact-form"' not in cn.content.decode()
    assert "example_shop" in cn.content.decode()
    assert 'id="contact-form"' in client.get("/contact/", REMOTE_ADDR="133.11.0.1").content.decode()
    assert client.post("/contact/", contact_data, REMOTE_ADDR="114.114.114.114").status_code == 403
    incidents.flush_pending()
    # The hidden page's view and the refused submission, counted apart.
    counted = {row.method: (row.country, row.count) for row in Incident.objects.filter(reason=Reason.COUNTRY)}
    assert counted == {"GET": ("CN", 1), "POST": ("CN", 1)}
    set_policy(country_mode="off")
    assert 'id="contact-form"' in client.get("/contact/", REMOTE_ADDR="114.114.114.114").content.decode()


def test_contact_text_is_escaped_and_linked():
    from formguard.contacts import render_text

    html = render_text("QQ：https://wpa.qq.com/msgrd?v=3&uin=1\n<script>alert(1)</script> 電話 03-0000-0000")
    assert '<a href="https://wpa.qq.com/msgrd?v=3&amp;uin=1" rel="noopener nofollow">' in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<br>" in html
    assert "<a" not in render_text("javascript:alert(1)")  # shown as text, never a link


@pytest.mark.parametrize(
    ("header", "first"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-cn"),
        ("ja,zh-CN;q=0.9", "ja"),
        ("en;q=0.5, zh-TW;q=0.8", "zh-tw"),
        ("zh;q=0, ja;q=0.1", "ja"),
        ("*;q=0.3, zh", "zh"),
        ("", ""),
        ("garbage;;q=x, zh-Hant-TW", "zh-hant-tw"),
        ("en-US;q=1.0, zh;q=1.0", "en-us"),
        ("x" * 600, ""),
    ],
)
def test_the_visitors_first_language(header, first):
    from formguard.contacts import preferred_language

    assert preferred_language(header) == first
