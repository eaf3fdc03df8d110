"""The one exit for every refusal, as Django's CSRF middleware has ``_reject``.

``respond(attempt, verdict)`` records the incident, carries out an automatic
ban, sends the signals and renders the page. Monitor-only would-be refusals
are recorded here too, and nothing else happens to them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from . import contacts, durations, facts, holds, incidents, policies, problems, replyhints, rules, signals
from .attempt import Attempt, Verdict
from .conf import conf
from .forms import known_fields, label_for
from .marks import DEFAULT_JSON_SUCCESS, json_success_of, success_url_of
from .models import BURST_REASON, FLOOD_REASON, Reason
from .problems import NEVER_CACHE
from .store import StoreUnavailable, get_store
from .typed import MAX_KEPT, body_key, submitted_fields

logger = logging.getLogger("formguard.security")


def _event(attempt: Attempt, verdict: Verdict, monitor_only: bool) -> incidents.Event:
    request = attempt.request
    return incidents.Event(
        ip=str(attempt.ip),
        ip_bucket=attempt.bucket,
        form_key=attempt.form_key,
        reason=verdict.reason,
        monitor_only=monitor_only,
        method=request.method or "",
        path=request.path,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        country=lambda: facts.country(attempt),
        detail=verdict.detail,
        sample=lambda: (
            dict(submitted_fields(request, conf.INCIDENT_SAMPLE_CHARS)) if conf.INCIDENT_SAMPLE_CHARS else {}
        ),
        rule_id=verdict.rule_id,
    )


def _carry_out_ban(attempt: Attempt, verdict: Verdict) -> None:
    ban = verdict.ban
    assert ban is not None
    network = ban["network"]
    # Several workers can see the same burst at once; one of them bans.
    try:
        if not get_store().claim(f"banning:{network}", 30):
            return
    except StoreUnavailable:
        pass
    if rules.find_block(attempt.ip, attempt.now) is not None:
        return
    rule = rules.auto_ban(
        network,
        form_key=ban["form_key"],
        reason=BURST_REASON.format(posts=verdict.detail.get("posts"), window=verdict.detail.get("window")),
        first=ban["first"],
        growth=ban["growth"],
        cap=ban["cap"],
        lookback=ban["lookback"],
    )
    signals.ip_banned.send(sender=Attempt, rule=rule, form_key=ban["form_key"], offence=rule.offence)


def _carry_out_closure(attempt: Attempt, verdict: Verdict) -> None:
    until = verdict.close_until
    assert until is not None
    # Every process past the threshold gets here; one of them closes.
    try:
        if not get_store().claim(f"flood:{attempt.form_key}", max(1.0, (until - attempt.now).total_seconds())):
            return
    except StoreUnavailable:
        return  # no shared count either: nothing crossed a threshold anyone agrees on
    detail = verdict.detail
    policies.set_closed(
        attempt.form_key,
        True,
        until=until,
        automatic=FLOOD_REASON.format(posts=detail.get("posts"), limit=detail.get("limit")),
    )


def fake_success(attempt: Attempt) -> HttpResponse:
    """What a sent form answers, for a guarded view that does not answer a fake success itself.

    ``FormGuardMiddleware.process_view`` returns it, at the view's place, so
    that every middleware of the site adds to it what it adds to the real
    success (X-Frame-Options, Vary, cookies), and nothing of formguard's own
    (no Cache-Control). The reply hint is kept in the session as
    ``note_inquiry`` keeps it, when the site shows it after the form (its
    context processor is installed), so the thanks page is the same.
    """
    request = attempt.request
    if problems.wants_json(request):
        # A script reads what the endpoint answers, not a redirect (``guard_form(json_success=...)``).
        answer = json_success_of(attempt.view)
        if callable(answer):
            return answer(request)
        return JsonResponse(DEFAULT_JSON_SUCCESS if answer is None else answer, safe=False)
    if replyhints.shown_after_the_form():
        address = attempt.submitted.get(attempt.policy.email_field, "") or ""
        replyhints.remember(request, replyhints.hint_for(address))
    return HttpResponseRedirect(success_url_of(attempt.view) or request.path)


def _notify(attempt: Attempt, verdict: Verdict, monitor_only: bool) -> None:
    key = incidents.aggregation_key(
        attempt.bucket, attempt.form_key, verdict.reason, monitor_only, attempt.now, attempt.request.method or ""
    )
    incidents.record(key, lambda: _event(attempt, verdict, monitor_only), attempt.now)
    signals.request_refused.send(
        sender=Attempt,
        request=attempt.request,
        form_key=attempt.form_key,
        ip=str(attempt.ip),
        reason=verdict.reason,
        status=verdict.status,
        monitor_only=monitor_only,
    )


# Where the typed text goes in a page: put in per request, since only it
# differs between the requests of a flood.
SUBMITTED_MARKER = "<!--formguard:submitted-->"
# Where "try again in about N minutes" goes (formguard's own 429 page,
# ``{{ retry_text }}``): N differs per address and minute, the page does not.
RETRY_MARKER = "<!--formguard:retry-->"
OWN_REFUSED_TEMPLATE = "formguard/refused.html"


def retry_text(minutes: int) -> str:
    return ngettext(
        "Please try again in about %(minutes)s minute.", "Please try again in about %(minutes)s minutes.", minutes
    ) % {"minutes": minutes}


def _box(name: str, value: str, known: dict[str, tuple[Any, bool]]) -> SafeString:
    label, multiline = known.get(name, (label_for(name), False))
    if multiline or "\n" in value or len(value) > 80:
        # As tall as the text, within reason: a one-line message is not an 8-row box.
        lines = sum(1 + len(line) // 50 for line in value.splitlines()) or 1
        return format_html(
            '<label>{}<textarea readonly name="fg-copy-{}" rows="{}">{}</textarea></label>',
            label,
            name,
            min(max(lines, 2), 12),
            value,
        )
    return format_html('<label>{}<input readonly name="fg-copy-{}" value="{}"></label>', label, name, value)


def submitted_html(fields: list[tuple[str, str]], form_key: str = "") -> str:
    """What the visitor typed, to copy (``{{ submitted_html }}`` in the refusal templates).

    Built here rather than by a template: a flood against a closed form
    would render it once per request.
    """
    if not fields:
        return ""
    known = known_fields(form_key)
    boxes = mark_safe("\n".join(_box(name, value, known) for name, value in fields))  # noqa: S308 (each box escaped)
    return format_html(
        '<section class="fg-submitted">\n<h2>{}</h2>\n<p class="fg-note">{}</p>\n{}\n</section>',
        _("Your message was not sent"),
        _("Here is what you typed, so that you can keep a copy and send it later or by another way."),
        boxes,
    )


# Visitors whose Chinese is Traditional: by country, or by what their browser asks for.
TRADITIONAL_CHINESE_COUNTRIES = frozenset({"TW", "HK", "MO"})
CHINESE_COUNTRIES = frozenset({"CN", *TRADITIONAL_CHINESE_COUNTRIES})


def chinese_script(request: HttpRequest, country: str) -> str:
    """ "hant" or "hans": which Chinese the hidden page speaks to this visitor."""
    preferred = contacts.preferred_language(request.META.get("HTTP_ACCEPT_LANGUAGE", ""))
    if preferred.startswith(("zh-hant", "zh-tw", "zh-hk", "zh-mo")):
        return "hant"
    if preferred.startswith(("zh-hans", "zh-cn", "zh-sg")):
        return "hans"
    return "hant" if country in TRADITIONAL_CHINESE_COUNTRIES else "hans"


def _ban_length(attempt: Attempt, verdict: Verdict) -> str:
    """Roughly how long a ban lasts, for a person ("about 1 day"); "" if it never ends.

    The blacklist check sends no Retry-After, so that a bot does not learn to
    the second when to come back (rules.BAN_JITTER). A person needs an idea,
    not the second: the page says "about N hours/days", rounded up, which a
    bot gains nothing from that its ban's length did not already tell it.
    """
    if verdict.reason == Reason.BURST:
        return ""  # the page of the POST that earned the ban says nothing of its length
    seconds = problems.ban_seconds(attempt, verdict)
    return durations.about(seconds) if seconds is not None else ""


# A flood is refused thousands of times with the same page, so each page is
# rendered once per template, language and what it says, then reused.
_pages: dict[tuple[Any, ...], str] = {}
MAX_PAGES = 512


def forget_pages() -> None:
    """Drop the rendered pages and typed-text sections (templates or translations changed: tests)."""
    _pages.clear()
    _typed.clear()


# The typed-text section, per language, form and body (``typed.body_key``):
# a flood replays one body thousands of times, and the same body shows the
# same text, so its section is built once. Any other body is read each time.
_typed: dict[tuple[str | None, str, str, bytes], str] = {}


def typed_section(request: HttpRequest, form_key: str) -> str:
    """``submitted_html()`` of what ``request`` carries ("" for a GET or a body without text)."""
    if request.method != "POST":
        return ""
    body = body_key(request)
    key = None if body is None else (get_language(), form_key, *body)
    section = _typed.get(key) if key is not None else None
    if section is None:
        section = submitted_html(submitted_fields(request), form_key)
        if key is not None:
            if len(_typed) >= MAX_KEPT:
                _typed.clear()
            _typed[key] = section
    return section


def _page(template: str, key: tuple[Any, ...], context: Callable[[], dict[str, Any]]) -> str:
    page = _pages.get(key)
    if page is None:
        if len(_pages) >= MAX_PAGES:
            _pages.clear()
        page = _pages[key] = render_to_string(template, context())
    return page


def problem_of(attempt: Attempt, verdict: Verdict) -> dict[str, Any]:
    """The refusal as RFC 9457 problem details (``problems``), with the page's contacts and the typed text."""
    country = verdict.detail.get("country", "") or facts.country(attempt)
    return problems.problem_data(
        verdict,
        400 if verdict.form_error else verdict.status,
        retry_after=verdict.retry_after or problems.ban_retry_after(attempt, verdict),
        contacts=contacts.for_visitor(attempt.request, country),
        fields=submitted_fields(attempt.request),
    )


def render_refusal(attempt: Attempt, verdict: Verdict) -> HttpResponse:
    """The refusal page (or problem, for a request that asks for JSON). Its templates get no
    ``request`` and no context processors: the page is rendered once and reused, only the
    typed text (``submitted_html``) is put in per request."""
    request = attempt.request
    if problems.wants_json(request):
        return problems.problem_response(problem_of(attempt, verdict))
    status = verdict.status
    if verdict.form_error:
        # The view will not show the error in its form: refuse the POST
        # with a page that says why and keeps what was typed.
        status = 400
    if verdict.reason == Reason.COUNTRY and verdict.detail.get("mode") == "hide":
        template = conf.HIDDEN_TEMPLATE
    elif verdict.reason == Reason.CLOSED:
        template = conf.CLOSED_TEMPLATE
    elif verdict.status == 403:
        template = conf.BLOCKED_TEMPLATE
    else:
        template = conf.REFUSED_TEMPLATE
    country = verdict.detail.get("country", "") or facts.country(attempt)
    # Every refusal page says how else to reach the business.
    visitor_contacts = contacts.for_visitor(request, country)
    ban_length = _ban_length(attempt, verdict)
    chinese = country in CHINESE_COUNTRIES or contacts.prefers_chinese(request)
    script = chinese_script(request, country) if template == conf.HIDDEN_TEMPLATE and chinese else ""
    closure = verdict.closure
    closed_message = closure.message() if closure else ""
    retry_minutes = -(-(verdict.retry_after or 0) // 60)
    key = (
        template,
        get_language(),
        status,
        verdict.reason,
        attempt.form_key,
        bool(verdict.retry_after),
        # (formguard's own page says the minutes through RETRY_MARKER; a site's may use the number.)
        None if template == OWN_REFUSED_TEMPLATE else retry_minutes,
        closed_message,
        closure.until if closure else None,
        # The reopening time is shown in the active time zone.
        timezone.get_current_timezone_name() if closure and closure.until else "",
        str(verdict.form_error),
        country,
        tuple(tuple(c.values()) for c in visitor_contacts),
        conf.BASE_TEMPLATE,
        ban_length,
        script,
    )
    context: Callable[[], dict[str, Any]] = lambda: {  # noqa: E731 (built only when the page is not kept)
        "verdict": verdict,
        "status": status,
        "reason": verdict.reason,
        "form_key": attempt.form_key,
        "retry_after": verdict.retry_after,
        "retry_minutes": retry_minutes,
        "retry_text": mark_safe(RETRY_MARKER),  # noqa: S308 (a constant)
        "closure": closure,
        "closed_message": closed_message,
        "submitted_html": mark_safe(SUBMITTED_MARKER),  # noqa: S308 (a constant)
        "form_error": verdict.form_error,
        "country": country,
        "contacts": visitor_contacts,
        "base_template": conf.BASE_TEMPLATE,
        "ban_length": ban_length,
        "chinese": script,
    }
    page = _page(template, key, context)
    # A person whose message was refused (closed, rate-limited, banned by
    # mistake, from another country) can copy it from the page instead of
    # losing it. A GET has nothing to keep.
    if SUBMITTED_MARKER in page:  # (a site's own template may leave the text out: nothing to read then)
        page = page.replace(SUBMITTED_MARKER, typed_section(request, attempt.form_key))
    if RETRY_MARKER in page:
        page = page.replace(RETRY_MARKER, conditional_escape(retry_text(retry_minutes)))
    response = HttpResponse(page, status=status)
    if verdict.retry_after:
        response["Retry-After"] = str(verdict.retry_after)
    # What add_never_cache_headers() sets, without parsing headers that a
    # new response does not have.
    response["Cache-Control"] = NEVER_CACHE
    response["Expires"] = problems.now_http_date()
    # formguard logs refusals itself, aggregated (incidents.py). Without this
    # Django logs every refused request of a flood to django.request, at
    # ERROR for a 503, which mails ADMINS once per request.
    response._has_been_logged = True
    return response


def respond(attempt: Attempt, verdict: Verdict, *, view_shows_form_errors: bool = False) -> HttpResponse | None:
    """Act on a verdict: ``None`` lets the request go on, else the refusal page.

    A form-error refusal (a failed captcha) lets the view run when the view
    shows formguard's errors in its form (``GuardedFormMixin`` on a form view,
    or ``guard_form(..., form_errors=True)`` with ``FormGuardFormMixin``): the
    visitor gets the form back with an error and everything typed. Any other
    view gets formguard's own page, with the typed text to copy.
    """
    if not carry_out(attempt, verdict) or verdict.fake_success:
        # A fake success is answered where the real success is (the view, or
        # the middleware in the view's place: fake_success()), after the site's CSRF check.
        return None
    if verdict.form_error and view_shows_form_errors and not problems.wants_json(attempt.request):
        # (A JSON request gets the problem instead: the view would answer its HTML form.)
        return None
    return render_refusal(attempt, verdict)


def carry_out(attempt: Attempt, verdict: Verdict) -> bool:
    """Record the verdict and carry it out (ban, closure, hold); whether it refuses."""
    for would_be in verdict.monitored:
        _notify(attempt, would_be, monitor_only=True)
    for noted in verdict.noted:
        _notify(attempt, noted, monitor_only=False)
    if verdict.allowed:
        return False
    if verdict.ban is not None:
        _carry_out_ban(attempt, verdict)
    if verdict.close_until is not None:
        _carry_out_closure(attempt, verdict)
    _notify(attempt, verdict, monitor_only=False)
    if verdict.held:
        # Kept for the owner (the review inbox); the visitor gets the fake success below.
        holds.keep(attempt, verdict, submitted_fields(attempt.request, holds.MAX_CHARS, holds.MAX_FIELDS))
    return True
