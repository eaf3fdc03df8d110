"""What formguard sees for a request or an IP: the admin's diagnosis page and the CLI.

Most trouble with a tool of this kind is a misread proxy setup; this puts
every input of the client-IP decision next to its result.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import geo, rules
from .attempt import Attempt, Verdict
from .conf import conf
from .durations import format_duration
from .ip import IPAddress, bucket_key, is_trusted_proxy, parse_ip, peer_ip, resolve_client_ip
from .marks import carries_traps, discover_form_views
from .models import FormPolicy, Reason, TrapAction
from .pipeline import check_allowlist, check_blacklist, check_closed, check_country, run_checks
from .policies import Policy, get_policy
from .ratelimits import format_rate
from .store import StoreUnavailable, get_store

FORWARDING_HEADERS = (
    "X-Forwarded-For",
    "X-Real-IP",
    "Forwarded",
    "CF-Connecting-IP",
    "True-Client-IP",
    "Client-IP",
)

# The checks that only read state; the counting ones are described, not run.
READ_ONLY_CHECKS = (check_allowlist, check_closed, check_blacklist, check_country)


# What a refusal looks like to the visitor, in the owner's words (not an HTTP status).
_SEEN = {
    200: gettext_lazy("the form comes back with a message"),
    302: gettext_lazy("the visitor sees the usual thanks"),
    403: gettext_lazy("the visitor sees the “access refused” page"),
    429: gettext_lazy("the visitor is asked to wait and send again later"),
    503: gettext_lazy("the visitor sees the “closed for now” page"),
}


def _describe(verdict: Verdict, attempt: Attempt) -> str:
    if verdict.allowed:
        if verdict.check == "allowlist":
            outcome = _("allowed (allowlist): no further checks")
        elif attempt.is_submission:
            outcome = _("accepted, up to %(rate)s") % {"rate": format_rate(attempt.policy.rate_limit)}
            if attempt.wants_captcha:
                from . import captcha

                if captcha.get_provider() is None:
                    outcome += " " + _("(captcha required, but no captcha provider is configured: not asked)")
                else:
                    outcome += " " + _("(with the captcha)")
        else:
            outcome = _("form shown")
        if verdict.monitored:
            outcome += " " + _("(monitor only; would refuse: %(reasons)s)") % {
                "reasons": ", ".join(str(Reason(v.reason).label) for v in verdict.monitored)
            }
        return outcome
    if verdict.reason == Reason.COUNTRY and verdict.status == 200:
        return _("form hidden, other ways to reach you shown")
    seen = _SEEN.get(verdict.status)
    if seen is None:
        return _("refused: %(reason)s") % {"reason": Reason(verdict.reason).label}
    return _("refused: %(reason)s; %(seen)s") % {"reason": Reason(verdict.reason).label, "seen": str(seen)}


def describe_traps(policy: Policy, has_field: bool = True) -> str:
    """The bot traps and content rules in force on a form, in a line.

    ``has_field``: the form's view renders formguard's field (only then can
    it carry the honeypot and the time trap).
    """
    actions = {"refuse": _("refuse"), "challenge": _("captcha"), "fake_success": _("fake success")}
    rules = [
        (_("Japanese required"), policy.japanese_action, ""),
        (_("links"), policy.links_action, " " + _("up to %(count)d") % {"count": policy.max_links}),
        (_("NG words"), policy.ng_words_action if policy.ng_words.strip() else TrapAction.OFF, ""),
        (_("sender address"), policy.sender_action, ""),
    ]
    if has_field:
        rules[:0] = [
            (_("honeypot"), policy.honeypot_action, ""),
            (
                _("time trap"),
                policy.time_trap_action,
                " "
                + _("%(min)s to %(max)s")
                % {"min": format_duration(policy.time_trap_min), "max": format_duration(policy.time_trap_max)},
            ),
        ]
    parts = [
        _("%(rule)s (%(action)s)") % {"rule": f"{label}{extra}", "action": actions.get(action, action)}
        for label, action, extra in rules
        if action != "off"
    ]
    if policy.recipient_limit != "off":
        parts.append(f"{_('messages per address')} {format_rate(policy.recipient_limit)}")
    if policy.flood_limit != "off":
        parts.append(
            _("over %(limit)s from everyone: captcha for everyone for %(duration)s")
            % {"limit": format_rate(policy.flood_limit), "duration": format_duration(policy.flood_escalation)}
        )
        if policy.flood_close:
            parts.append(
                _("last resort: closes for %(duration)s")
                % {"duration": format_duration(policy.flood_close_minutes * 60)}
            )
    return " · ".join(parts) or _("none")


def _traps_missing_since(form_key: str) -> str:
    from .middleware import MISSING_TRAPS

    try:
        seen = get_store().get(MISSING_TRAPS.format(form_key))
    except StoreUnavailable:
        return ""
    if not seen:
        return ""
    moment = timezone.localtime(datetime.fromtimestamp(seen, tz=UTC))
    return _(
        "Shown without formguard's field at %(time)s: its POSTs carry no time token and are refused. "
        "Render {{ form.formguard }} in the template."
    ) % {"time": f"{moment:%Y-%m-%d %H:%M}"}


def plain_view_warning() -> str:
    """What a plain ``@guard_form`` view (no ``form_errors=True``, no ``GuardedFormMixin``) goes without."""
    return _(
        "A plain @guard_form view: its form carries no formguard field, so no honeypot, no time trap and no "
        "captcha widget, whatever the policy says. Give its form FormGuardFormMixin and write "
        "@guard_form(…, form_errors=True), or use GuardedFormMixin."
    )


def _outcomes(request: HttpRequest, address: IPAddress) -> list[dict[str, Any]]:
    now = timezone.now()
    outcomes = []
    keys = FormPolicy.objects.exclude(form_key="*").values_list("form_key", flat=True)
    views = discover_form_views()
    methods = {"GET": _("opening the form"), "POST": _("sending it")}
    for form_key in keys:
        policy = get_policy(form_key)
        plain = form_key in views and not carries_traps(views[form_key])
        parts = []
        for method in ("GET", "POST"):
            probe = copy.copy(request)
            probe.method = method
            attempt = Attempt(request=probe, form_key=form_key, policy=policy, ip=address, now=now)
            said = _describe(run_checks(attempt, READ_ONLY_CHECKS), attempt)
            parts.append(_("%(method)s: %(outcome)s") % {"method": methods[method], "outcome": said})
        outcomes.append(
            {
                "form_key": form_key,
                "outcome": " / ".join(parts),
                "traps": describe_traps(policy, not plain),
                "warning": " ".join(
                    w for w in (plain_view_warning() if plain else "", _traps_missing_since(form_key)) if w
                ),
            }
        )
    return outcomes


def describe_ip(typed: str, request: HttpRequest | None = None) -> dict[str, Any]:
    address = parse_ip(typed)
    if address is None:
        return {"typed": typed, "error": _("Not an IP address.")}
    now = timezone.now()
    return {
        "typed": typed,
        "ip": str(address),
        "country": geo.country_of(address),
        "bucket": bucket_key(address),
        "rules": rules.get_index().matches(address, now),
        "outcomes": _outcomes(request or HttpRequest(), address),
    }


def describe_request(request: HttpRequest) -> dict[str, Any]:
    headers = {name: request.META.get("HTTP_" + name.upper().replace("-", "_"), "") for name in FORWARDING_HEADERS}
    description: dict[str, Any] = {
        "remote_addr": request.META.get("REMOTE_ADDR", ""),
        "headers": {k: v for k, v in headers.items() if v},
        "trusted_proxies": [str(n) for n in conf.TRUSTED_PROXIES],
        "header_read": conf.CLIENT_IP_HEADER,
        "resolver": conf.CLIENT_IP_RESOLVER or "formguard.ip.resolve_client_ip",
    }
    try:
        peer = peer_ip(request)
        description["peer_trusted"] = is_trusted_proxy(peer)
        client = resolve_client_ip(request)
    except Exception as exc:  # ImproperlyConfigured: shown, not raised, on this page
        description["error"] = str(exc)
        return description
    description.update(describe_ip(str(client), request))
    return description
