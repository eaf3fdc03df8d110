"""Under a flood, with real processes: gunicorn's workers, a botnet of 500 addresses, a person in chromium.

The demo site runs under gunicorn with several workers behind a trusted proxy
(X-Forwarded-For), its self-hosted captcha on but not asked of everyone, and
short windows: a flood limit of 40 plausible submissions per 20 s, an
escalation of 25 s. Bots from 500 rotating addresses send forged POSTs (no
CSRF token, no time token) all along, and real-looking ones (the form loaded,
its tokens sent back) until the form escalates. In the middle of it a person
sends an inquiry from chromium, solving the captcha. The form is never closed;
the escalation starts and ends by itself, once.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from django.contrib.staticfiles import finders

from tests.test_browser import browser, fill_contact  # noqa: F401 (fixture)
from tests.test_state import site  # noqa: F401 (fixture)
from tests.test_traps import FormInputs

pytestmark = [pytest.mark.state, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FORGED_POOL = [f"10.1.{n // 200}.{n % 200 + 1}" for n in range(400)]
REAL_POOL = [f"10.2.{n // 100}.{n % 100 + 1}" for n in range(100)]
ESCALATION_SECONDS = 25
FLOOD_LIMIT = "40/20s"


def _form(url: str, ip: str, session: requests.Session) -> tuple[int, dict[str, str], str]:
    response = session.get(url + "/contact/", headers={"X-Forwarded-For": ip}, timeout=20)
    parser = FormInputs()
    parser.feed(response.text)
    return response.status_code, parser.fields, response.text


def _escalated(page_html: str) -> bool:
    return "altcha-widget" in page_html


class Flood:
    """Bots in threads: forged POSTs all along, real-looking ones while ``real`` is set."""

    def __init__(self, url: str):
        self.url = url
        self.stop = threading.Event()
        self.real = threading.Event()
        self.real.set()
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.lock = threading.Lock()

    def note(self, kind: str, status: int) -> None:
        with self.lock:
            self.statuses[(kind, status)] += 1

    def forged(self) -> None:
        n = 0
        while not self.stop.is_set():
            ip = FORGED_POOL[n % len(FORGED_POOL)]
            n += 1
            try:
                status = requests.post(
                    self.url + "/contact/", data={}, headers={"X-Forwarded-For": ip}, timeout=20
                ).status_code
            except requests.RequestException:
                status = 0
            self.note("forged", status)

    def real_looking(self) -> None:
        n = 0
        session = requests.Session()
        while not self.stop.is_set() and self.real.is_set():
            # A handful of forms loaded, then sent back a few seconds later (the time trap's 3 s).
            loaded = []
            for _ in range(20):
                ip = REAL_POOL[n % len(REAL_POOL)]
                n += 1
                status, fields, _page = _form(self.url, ip, session)
                self.note("real-get", status)
                loaded.append((ip, fields))
            time.sleep(3.2)
            for number, (ip, fields) in enumerate(loaded):
                data = {
                    **fields,
                    "name": "山田",
                    "email": f"bot{n}-{number}@example.jp",
                    "message": "在庫はありますか。至急ご連絡ください。",
                }
                try:
                    status = session.post(
                        self.url + "/contact/",
                        data=data,
                        headers={"X-Forwarded-For": ip, "Referer": self.url + "/contact/"},
                        allow_redirects=False,
                        timeout=20,
                    ).status_code
                except requests.RequestException:
                    status = 0
                self.note("real", status)


def _serve_static(route) -> None:
    # gunicorn serves no static files (a real site's web server does); the
    # browser gets formguard's widget scripts from the app's static folder.
    path = route.request.url.split("/static/", 1)[1].split("?", 1)[0]
    found = finders.find(path)
    if not found:
        route.fulfill(status=404)
        return
    types = {".js": "text/javascript", ".css": "text/css"}
    route.fulfill(body=Path(found).read_bytes(), content_type=types.get(Path(found).suffix, "application/octet-stream"))


def test_a_botnet_of_500_addresses_escalates_the_form_and_a_person_still_sends(site, browser):  # noqa: F811
    site.manage(
        "shell",
        "-c",
        "from formguard import policies; from formguard.models import FormPolicy; policies.ensure_row('*'); "
        "FormPolicy.objects.filter(form_key='*').update(captcha_required=False, captcha_difficulty=200, "
        f"flood_limit='{FLOOD_LIMIT}', flood_escalation={ESCALATION_SECONDS}); policies.invalidate()",
    )
    site.env["FORMGUARD_DEMO_CAPTCHA"] = "altcha"
    url = site.start("gunicorn", "-w", "3")
    session = requests.Session()
    assert not _escalated(_form(url, "192.0.2.1", session)[2])

    flood = Flood(url)
    threads = [threading.Thread(target=flood.forged) for _ in range(2)] + [threading.Thread(target=flood.real_looking)]
    for thread in threads:
        thread.start()
    try:
        # The escalation starts by itself once the real-looking submissions pass the limit.
        deadline = time.monotonic() + 40
        started = None
        while time.monotonic() < deadline:
            status, _fields, page_html = _form(url, "192.0.2.2", session)
            assert status == 200
            if _escalated(page_html):
                started = time.monotonic()
                break
            time.sleep(0.5)
        assert started is not None, flood.statuses
        flood.real.clear()  # the real-looking bots meet the captcha and give up; the forgers go on

        # In the middle of it, a person: chromium loads the form, types, and the widget solves the work.
        context = browser.new_context(
            locale="ja-JP", extra_http_headers={"Accept-Language": "ja", "X-Forwarded-For": "133.11.0.1"}
        )
        context.route("**/static/**", _serve_static)
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(url + "/contact/")
        page.locator("altcha-widget input[type=checkbox]").wait_for()
        fill_contact(page, message="洪水の最中ですが、注文の件でご連絡しました。")
        page.wait_for_timeout(3500)  # a person takes a few seconds (the time trap)
        page.click("button[type=submit]")
        page.wait_for_url("**/contact/thanks/")
        context.close()
        assert time.monotonic() - started < ESCALATION_SECONDS, "the person came after the escalation"

        # It ends by itself: the form without the captcha again, while the forgers still post.
        deadline = started + ESCALATION_SECONDS + 20
        ended = False
        while time.monotonic() < deadline:
            status, _fields, page_html = _form(url, "192.0.2.3", session)
            assert status == 200
            if not _escalated(page_html):
                ended = True
                break
            time.sleep(0.5)
        assert ended, "still escalated"
    finally:
        flood.stop.set()
        for thread in threads:
            thread.join(30)

    statuses = flood.statuses
    # Never closed: no 503 to anyone, bot or person.
    assert not [key for key in statuses if key[1] in (0, 503)], statuses
    assert statuses[("forged", 403)] > 300, statuses  # the CSRF check, and later bans and limits
    assert statuses[("real", 302)] >= 40 and statuses[("real", 200)] >= 1, statuses
    done = site.manage(
        "shell",
        "-c",
        "from formguard.models import ActionLog, FormPolicy; "
        "print(sorted(a.action for a in ActionLog.objects.exclude(action='banned')), "
        "FormPolicy.objects.filter(closed=True).exists())",
    )
    # (Forgers that burst are banned, each ban on the record; nothing else happened to the form.)
    assert done.stdout.strip().splitlines()[-1] == "['escalated', 'escalation_ended'] False"
    print("flood:", dict(statuses))
