"""``manage.py formguard``: the operator's switchboard when the admin is not at hand.

manage.py formguard status
manage.py formguard close [--form KEY] [--for 2h] [--message TEXT]
manage.py formguard open [--form KEY]
manage.py formguard ban IP_OR_CIDR [--for 1d] [--reason TEXT]
manage.py formguard unban IP_OR_CIDR
manage.py formguard allow IP_OR_CIDR [--for 1d] [--reason TEXT]
manage.py formguard inspect IP
manage.py formguard geoip IP
manage.py formguard report --since DATE --until DATE --format csv|json|text|html|eml [--output FILE]
manage.py formguard purge [--older-than 90d]
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from formguard import captcha, diagnosis, geo, policies, reports, rules
from formguard.conf import conf
from formguard.ip import network_text, parse_network
from formguard.models import SITE_WIDE, BlockRule, FormPolicy
from formguard.store import StoreUnavailable, get_store

DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> timedelta:
    """``"90m"``, ``"2h"``, ``"1d"``, ``"2w"`` → timedelta."""
    match = DURATION_RE.match(text or "")
    if not match or int(match.group(1)) < 1:
        raise CommandError(_("Not a duration: %(text)r. Write it like 30m, 2h, 1d or 2w.") % {"text": text})
    return timedelta(seconds=int(match.group(1)) * UNITS[match.group(2)])


def parse_moment(text: str, *, end: bool) -> datetime:
    """``YYYY-MM-DD`` (a whole local day: its start, or with ``end`` the next
    day's start) or ``YYYY-MM-DDTHH:MM`` (that moment), as an aware datetime."""
    try:
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip())
            start, stop = reports.period_for_day(day)
            return stop if end else start
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(
            _("Not a date: %(text)r. Write it like 2026-11-21 or 2026-11-21T09:30.") % {"text": text}
        ) from None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def network_arg(text: str) -> str:
    try:
        return network_text(parse_network(text))
    except ValueError:
        raise CommandError(_("Not an IP address or CIDR range: %(text)r") % {"text": text}) from None


def _geoip_line(info: geo.DatabaseInfo) -> str:
    return _("GeoIP: %(path)s (%(type)s, built %(date)s)") % {
        "path": info.path,
        "type": info.database_type,
        "date": f"{info.built:%Y-%m-%d}",
    }


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z")


class Command(BaseCommand):
    help = "Close and reopen forms, ban and allow IPs, and see formguard's state."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        sub.add_parser("status", help="Every form's state: open or closed, by what, until when.")

        close = sub.add_parser("close", help="Close a form (default: every form).")
        close.add_argument("--form", default=SITE_WIDE, help="Form key; default: every form (site-wide).")
        close.add_argument("--for", dest="duration", help="Reopen by itself after this long: 30m, 2h, 1d.")
        close.add_argument("--message", help="Text shown to visitors instead of the default.")

        reopen = sub.add_parser("open", help="Reopen a form (default: the site-wide switch).")
        reopen.add_argument("--form", default=SITE_WIDE, help="Form key; default: the site-wide switch.")

        for name, text in (("ban", "Blacklist an IP or CIDR range."), ("allow", "Allowlist an IP or CIDR range.")):
            p = sub.add_parser(name, help=text)
            p.add_argument("network", metavar="IP_OR_CIDR")
            p.add_argument("--for", dest="duration", help="Expire after this long: 2h, 1d, 2w. Default: never.")
            p.add_argument("--reason", default="", help="Why (shown in the admin).")

        unban = sub.add_parser("unban", help="Lift the blacklist rules for exactly this IP or range.")
        unban.add_argument("network", metavar="IP_OR_CIDR")

        report = sub.add_parser("report", help="Refusals of a period, e.g. for the 迷惑メール相談センター.")
        report.add_argument("--since", required=True, help="First day (YYYY-MM-DD) or moment (YYYY-MM-DDTHH:MM).")
        report.add_argument(
            "--until", help="Last day, included (YYYY-MM-DD) or moment, excluded. Default: --since's day."
        )
        report.add_argument("--format", default="text", choices=sorted(reports.FORMATS))
        report.add_argument("--output", help="Write to this file instead of standard output.")
        report.add_argument("--form", help="Only this form key.")
        report.add_argument("--include-personal", action="store_true", help="Keep names, email addresses and the like.")
        report.add_argument("--site", default="", help="The site's name in the report.")

        purge = sub.add_parser("purge", help="Delete incidents (and action log entries) older than a duration.")
        purge.add_argument(
            "--older-than", dest="older_than", help="Default: FORMGUARD['INCIDENT_RETENTION_DAYS'] days."
        )

        for name in ("inspect", "geoip"):
            look = sub.add_parser(name, help="What formguard sees for this IP: country, rules, what the visitor gets.")
            look.add_argument("ip")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, "handle_" + options["action"])(**options)

    def _status_of_store(self) -> None:
        # This command and the site must share the store, or a switch flipped
        # here would not reach the site: say which one it is.
        store = get_store()
        if store.name == "embedded":
            where = _("the embedded store %(path)s, shared by every process of this machine") % {"path": store.path}
        else:
            where = _("Redis (cache %(alias)s), shared by every process that names it") % {"alias": store.alias}
        try:
            store.read(["generation:policies"])
        except StoreUnavailable as exc:
            self.stdout.write(
                self.style.ERROR(_("State: %(where)s — does not answer: %(error)s") % {"where": where, "error": exc})
            )
            return
        self.stdout.write(_("State: %(where)s") % {"where": where})

    def handle_status(self, **options: Any) -> None:
        now = timezone.now()
        rows = list(FormPolicy.objects.all())
        if not rows:
            self.stdout.write(_("No form has been used yet; every form is open."))
        site = next((r for r in rows if r.is_site_wide), None)
        site_closed = site is not None and site.is_closed_at(now)
        for row in sorted(rows, key=lambda r: (not r.is_site_wide, r.form_key)):
            name = _("* (site-wide)") if row.is_site_wide else row.form_key
            if row.is_closed_at(now):
                if row.closed_until:
                    state = self.style.ERROR(_("CLOSED until %(time)s") % {"time": _local(row.closed_until)})
                else:
                    state = self.style.ERROR(_("CLOSED until reopened by hand"))
            elif site_closed and not row.is_site_wide:
                state = self.style.ERROR(_("CLOSED by the site-wide switch"))
            elif row.closed and row.closed_until and row.closed_until <= now:
                state = self.style.SUCCESS(
                    _("open (reopened by itself at %(time)s)") % {"time": _local(row.closed_until)}
                )
            else:
                state = self.style.SUCCESS(_("open"))
            extra = []
            if row.enabled is False:
                extra.append(_("checks off"))
            if row.monitor_only:
                extra.append(_("monitor only"))
            self.stdout.write(f"{name:<24} {state}" + (f"  [{', '.join(extra)}]" if extra else ""))
        active = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        bans = BlockRule.objects.filter(active, kind=BlockRule.Kind.BLOCK).count()
        allows = BlockRule.objects.filter(active, kind=BlockRule.Kind.ALLOW).count()
        self.stdout.write(
            _("Block rules in force: %(bans)d blacklist, %(allows)d allowlist.") % {"bans": bans, "allows": allows}
        )
        self._status_of_store()
        provider = captcha.get_provider()
        if provider is None:
            self.stdout.write(self.style.WARNING(_("Captcha: off (no keys in FORMGUARD['CAPTCHA'])")))
        else:
            line = _("Captcha: %(provider)s, script from %(host)s") % {
                "provider": provider.label,
                "host": provider.script_host,
            }
            if provider.uses_test_keys:
                line += " -- " + _("PUBLISHED TEST KEYS")
            self.stdout.write(line)
        info = geo.database_info()
        if info is None:
            self.stdout.write(self.style.WARNING(_("GeoIP: no readable database (every country unknown, ZZ)")))
        else:
            self.stdout.write(_geoip_line(info))

    def handle_close(self, form: str, duration: str | None, message: str | None, **options: Any) -> None:
        until = timezone.now() + parse_duration(duration) if duration else None
        policies.set_closed(form, True, until=until, message=message)
        if form == SITE_WIDE:
            text = _("Every form closed until %(time)s.") if until else _("Every form closed until `formguard open`.")
        else:
            text = (
                _("Form %(form)r closed until %(time)s.")
                if until
                else _("Form %(form)r closed until `formguard open`.")
            )
        self.stdout.write(self.style.WARNING(text % {"form": form, "time": _local(until) if until else ""}))

    def handle_open(self, form: str, **options: Any) -> None:
        policies.set_closed(form, False)
        text = _("The site-wide switch is open.") if form == SITE_WIDE else _("Form %(form)r is open.")
        self.stdout.write(self.style.SUCCESS(text % {"form": form}))
        now = timezone.now()
        still = [r.form_key for r in FormPolicy.objects.filter(closed=True) if r.is_closed_at(now)]
        if still:
            self.stdout.write(self.style.WARNING(_("Still closed: %(forms)s") % {"forms": ", ".join(still)}))

    def _add(self, kind: str, network: str, duration: str | None, reason: str) -> None:
        network = network_arg(network)
        delta = parse_duration(duration) if duration else None
        rule = rules.add_rule(network, kind=kind, duration=delta, reason=reason)
        if rule.expires_at:
            text = _("%(kind)s: %(network)s until %(time)s.")
        else:
            text = _("%(kind)s: %(network)s with no expiry.")
        values = {
            "kind": rule.get_kind_display(),
            "network": network,
            "time": _local(rule.expires_at) if rule.expires_at else "",
        }
        self.stdout.write(self.style.SUCCESS(text % values))

    def handle_ban(self, network: str, duration: str | None, reason: str, **options: Any) -> None:
        self._add(BlockRule.Kind.BLOCK, network, duration, reason)

    def handle_allow(self, network: str, duration: str | None, reason: str, **options: Any) -> None:
        self._add(BlockRule.Kind.ALLOW, network, duration, reason)

    def handle_unban(self, network: str, **options: Any) -> None:
        network = network_arg(network)
        lifted = rules.lift(network)
        if lifted:
            self.stdout.write(
                self.style.SUCCESS(
                    _("Lifted %(count)d rule(s) for %(network)s.") % {"count": lifted, "network": network}
                )
            )
            return
        address = parse_network(network).network_address
        wider = [m for m in rules.get_index().matches(address, timezone.now()) if m.kind == BlockRule.Kind.BLOCK]
        if wider:
            names = ", ".join(m.network for m in wider)
            raise CommandError(
                _("No rule for exactly %(network)s; it is blocked by %(names)s. Unban that instead.")
                % {"network": network, "names": names}
            )
        raise CommandError(_("No blacklist rule in force for %(network)s.") % {"network": network})

    def handle_report(
        self,
        since: str,
        until: str | None,
        format: str,
        output: str | None,
        form: str | None,
        include_personal: bool,
        site: str,
        **options: Any,
    ) -> None:
        start = parse_moment(since, end=False)
        end = parse_moment(until or since, end=True)
        if end <= start:
            raise CommandError(_("--until must come after --since."))
        report = reports.build(start, end, form_key=form, include_personal=include_personal, site=site)
        data = reports.render(report, format)
        if output:
            with open(output, "wb") as handle:
                handle.write(data)
            self.stderr.write(
                _("Wrote %(file)s: %(total)d refusals from %(ips)d IPs.")
                % {"file": output, "total": report.total, "ips": len(report.senders)}
            )
        elif format == "eml" or format == "csv":
            self.stdout.buffer.write(data) if hasattr(self.stdout, "buffer") else self.stdout.write(data.decode())
        else:
            self.stdout.write(data.decode("utf-8"), ending="")

    def handle_purge(self, older_than: str | None, **options: Any) -> None:
        age = parse_duration(older_than) if older_than else timedelta(days=conf.INCIDENT_RETENTION_DAYS)
        removed, actions = reports.purge(age)
        self.stdout.write(
            self.style.SUCCESS(
                _("Deleted %(incidents)d incidents and %(actions)d action log entries.")
                % {"incidents": removed, "actions": actions}
            )
        )

    def handle_geoip(self, ip: str, **options: Any) -> None:
        info = geo.database_info()
        if info is None:
            self.stdout.write(self.style.WARNING(_("GeoIP: no readable database (every country unknown, ZZ)")))
        else:
            self.stdout.write(_geoip_line(info))
        self.handle_inspect(ip)

    def handle_inspect(self, ip: str, **options: Any) -> None:
        found = diagnosis.describe_ip(ip)
        if "error" in found:
            raise CommandError(_("Not an IP address: %(ip)r") % {"ip": ip})
        self.stdout.write(
            _("IP: %(ip)s  country: %(country)s  (counted and banned as %(bucket)s)")
            % {"ip": found["ip"], "country": found["country"], "bucket": found["bucket"]}
        )
        for match in found["rules"]:
            until = _local(match.expires_at) if match.expires_at else _("never expires")
            self.stdout.write(f"  {match.kind} {match.network} ({match.source}, {until}) {match.reason}")
        if not found["rules"]:
            self.stdout.write("  " + _("no block or allow rule matches"))
        for outcome in found["outcomes"]:
            self.stdout.write(f"  {outcome['form_key']}: {outcome['outcome']}")
            self.stdout.write(f"    traps and rules: {outcome['traps']}")
            if outcome["warning"]:
                self.stdout.write(f"    {outcome['warning']}")
