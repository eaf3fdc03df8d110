"""``manage.py formguard``: the operator's switchboard when the admin is not at hand.

manage.py formguard status
manage.py formguard close [--form KEY [--create]] [--for 2h] [--message TEXT]
manage.py formguard open [--form KEY]
manage.py formguard ban IP_OR_CIDR [--for 1d] [--reason TEXT] [--force]   (no --for: permanent)
manage.py formguard unban IP_OR_CIDR
manage.py formguard allow IP_OR_CIDR [--for 1d] [--reason TEXT]
manage.py formguard unallow IP_OR_CIDR
manage.py formguard rules [--kind block|allow] [--ip IP] [--all]
manage.py formguard inspect IP
manage.py formguard geoip IP
manage.py formguard report --since DATE --until DATE --format csv|json|text|html|eml [--output FILE]
manage.py formguard purge [--older-than 90d] [--dry-run] [--yes]

Every change is recorded in the action log as done from the command line,
with the OS user.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import sys
import unicodedata
from datetime import date, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from formguard import actors, captcha, diagnosis, durations, geo, policies, reports, rules
from formguard.conf import conf
from formguard.ip import network_text, parse_network
from formguard.marks import discover_form_keys
from formguard.models import SITE_WIDE, BlockRule, FormPolicy, describe_reason
from formguard.store import get_store

# Networks wider than these are refused without --force: 0.0.0.0/0 would
# lock out every visitor with one typo.
WIDEST_BAN = {4: 8, 6: 32}


def parse_duration(text: str) -> timedelta:
    """``"90m"``, ``"2h"``, ``"1d"``, ``"2w"``, ``"1時間"`` → timedelta (``durations.parse``)."""
    try:
        return durations.parse(text)
    except ValueError:
        raise CommandError(_("Not a duration: %(text)r. Write it like 30m, 2h, 1d or 2w.") % {"text": text}) from None


def parse_age(text: str) -> timedelta:
    """An age for purge: days or weeks only ("90d", "12w"); "1m" could be a minute or a month."""
    try:
        return durations.parse(text, smallest="d")
    except ValueError:
        raise CommandError(
            _("Not an age in days: %(text)r. Write it like 90d or 12w (days or weeks; a bare number is refused).")
            % {"text": text}
        ) from None


def width(text: str) -> int:
    """Columns a text takes in a terminal: full-width (Japanese) characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def pad(text: str, columns: int) -> str:
    return text + " " * max(0, columns - width(text))


def operator_addresses() -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The address the operator is connected from, when over SSH (SSH_CLIENT / SSH_CONNECTION)."""
    found = []
    for name in ("SSH_CLIENT", "SSH_CONNECTION"):
        first = (os.environ.get(name) or "").split(" ")[0]
        try:
            found.append(ipaddress.ip_address(first))
        except ValueError:
            continue
    return found


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
    help = gettext_lazy("Close and reopen forms, ban and allow IPs, and see formguard's state.")

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        # argparse wants a plain str; translated now, in the site's language.
        self.help = str(self.help)
        return super().create_parser(prog_name, subcommand, **kwargs)

    def execute(self, *args: Any, **options: Any) -> Any:
        # Recorded in the action log as done from the command line.
        with actors.acting_as(actors.command_line()):
            return super().execute(*args, **options)

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        sub.add_parser("status", help=gettext_lazy("Every form's state: open or closed, by what, until when."))

        close = sub.add_parser("close", help=gettext_lazy("Close a form (default: every form)."))
        close.add_argument("--form", default=SITE_WIDE, help=gettext_lazy("Form key; default: every form (site-wide)."))
        close.add_argument(
            "--create",
            action="store_true",
            help=gettext_lazy("Accept a form key formguard does not know yet (creates it)."),
        )
        close.add_argument(
            "--for", dest="duration", help=gettext_lazy("Reopen by itself after this long: 30m, 2h, 1d.")
        )
        close.add_argument("--message", help=gettext_lazy("Text shown to visitors instead of the default."))

        reopen = sub.add_parser("open", help=gettext_lazy("Reopen a form (default: the site-wide switch)."))
        reopen.add_argument("--form", default=SITE_WIDE, help=gettext_lazy("Form key; default: the site-wide switch."))

        ban = sub.add_parser(
            "ban", help=gettext_lazy("Blacklist an IP or CIDR range (permanent unless --for is given).")
        )
        allow = sub.add_parser(
            "allow", help=gettext_lazy("Allowlist an IP or CIDR range (permanent unless --for is given).")
        )
        for p in (ban, allow):
            p.add_argument("network", metavar="IP_OR_CIDR")
            p.add_argument(
                "--for", dest="duration", help=gettext_lazy("Expire after this long: 2h, 1d, 2w. Default: never.")
            )
            p.add_argument("--reason", default="", help=gettext_lazy("Why (shown in the admin)."))
        ban.add_argument(
            "--force",
            action="store_true",
            help=gettext_lazy(
                "Ban even a network wider than /8 (IPv4) or /32 (IPv6), or one holding your own SSH address."
            ),
        )

        unban = sub.add_parser("unban", help=gettext_lazy("Lift the blacklist rules for exactly this IP or range."))
        unban.add_argument("network", metavar="IP_OR_CIDR")
        unallow = sub.add_parser("unallow", help=gettext_lazy("Lift the allowlist rules for exactly this IP or range."))
        unallow.add_argument("network", metavar="IP_OR_CIDR")

        listing = sub.add_parser("rules", help=gettext_lazy("List the blacklist and allowlist rules in force."))
        listing.add_argument(
            "--kind", choices=["block", "allow"], help=gettext_lazy("Only the blacklist or the allowlist.")
        )
        listing.add_argument("--ip", help=gettext_lazy("Only the rules that match this IP (or contain this range)."))
        listing.add_argument("--all", action="store_true", help=gettext_lazy("Include expired and lifted rules."))

        report = sub.add_parser(
            "report", help=gettext_lazy("Refusals of a period, e.g. for the 迷惑メール相談センター.")
        )
        report.add_argument(
            "--since", required=True, help=gettext_lazy("First day (YYYY-MM-DD) or moment (YYYY-MM-DDTHH:MM).")
        )
        report.add_argument(
            "--until", help=gettext_lazy("Last day, included (YYYY-MM-DD) or moment, excluded. Default: --since's day.")
        )
        report.add_argument("--format", default="text", choices=sorted(reports.FORMATS))
        report.add_argument("--output", help=gettext_lazy("Write to this file instead of standard output."))
        report.add_argument("--form", help=gettext_lazy("Only this form key."))
        report.add_argument(
            "--include-personal", action="store_true", help=gettext_lazy("Keep names, email addresses and the like.")
        )
        report.add_argument("--site", default="", help=gettext_lazy("The site's name in the report."))

        purge = sub.add_parser(
            "purge", help=gettext_lazy("Delete incidents (and action log entries) older than an age in days.")
        )
        purge.add_argument(
            "--older-than",
            dest="older_than",
            help=gettext_lazy("An age in days or weeks: 90d, 12w. Default: FORMGUARD['INCIDENT_RETENTION_DAYS'] days."),
        )
        purge.add_argument("--dry-run", action="store_true", help=gettext_lazy("Only say what would be deleted."))
        purge.add_argument("--yes", action="store_true", help=gettext_lazy("Do not ask for confirmation."))

        for name in ("inspect", "geoip"):
            look = sub.add_parser(
                name, help=gettext_lazy("What formguard sees for this IP: country, rules, what the visitor gets.")
            )
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
            # A write, as the site's requests make: a store that only reads cannot count.
            store.probe()
        except Exception as exc:  # sqlite3 or Redis errors
            self.stdout.write(
                self.style.ERROR(
                    _("State: %(where)s — does not answer or cannot be written: %(error)s")
                    % {"where": where, "error": f"{type(exc).__name__}: {exc}"}
                )
            )
            return
        self.stdout.write(_("State: %(where)s") % {"where": where})
        space = store.space()
        if space is not None:
            free, wanted = space
            line = _("Free space where it writes: %(free)s MiB (it wants at least %(wanted)s MiB)") % {
                "free": f"{free / 2**20:.1f}",
                "wanted": f"{wanted / 2**20:.0f}",
            }
            self.stdout.write(self.style.WARNING(line) if free < wanted else line)

    def handle_status(self, **options: Any) -> None:
        now = timezone.now()
        rows = list(FormPolicy.objects.all())
        if not rows:
            self.stdout.write(_("No form has been used yet; every form is open."))
        lines = []
        for row in sorted(rows, key=lambda r: (not r.is_site_wide, r.form_key)):
            name = _("* (site-wide)") if row.is_site_wide else row.form_key
            state = policies.state_of(row, now)
            extra = []
            if row.enabled is False:
                extra.append(_("checks off"))
            if row.monitor_only:
                extra.append(_("monitor only"))
            lines.append((name, state, extra))
        # Aligned by display width: a Japanese character takes two columns.
        columns = max((width(name) for name, _state, _extra in lines), default=0) + 2
        for name, state, extra in lines:
            style = self.style.ERROR if state.closed else self.style.SUCCESS
            self.stdout.write(pad(name, columns) + style(state.text) + (f"  [{', '.join(extra)}]" if extra else ""))
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

    def _known_form(self, form: str, *, create: bool = False) -> None:
        """Refuse a form key formguard does not know: a typo would close nothing and say it did."""
        if form == SITE_WIDE or create:
            return
        known = sorted(set(FormPolicy.objects.values_list("form_key", flat=True)) | set(discover_form_keys()))
        if form in known:
            return
        others = [k for k in known if k != SITE_WIDE]
        close = difflib.get_close_matches(form, others, n=3)
        hint = (
            _("Did you mean: %(keys)s?") % {"keys": ", ".join(close)}
            if close
            else _("Known forms: %(keys)s.") % {"keys": ", ".join(others) or "—"}
        )
        raise CommandError(
            _("No form %(form)r is known. %(hint)s (Leave out --form for every form; add --create for a new key.)")
            % {"form": form, "hint": hint}
        )

    def handle_close(
        self, form: str, duration: str | None, message: str | None, create: bool = False, **options: Any
    ) -> None:
        self._known_form(form, create=create)
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
        self._known_form(form)
        policies.set_closed(form, False)
        text = _("The site-wide switch is open.") if form == SITE_WIDE else _("Form %(form)r is open.")
        self.stdout.write(self.style.SUCCESS(text % {"form": form}))
        now = timezone.now()
        still = [r.form_key for r in FormPolicy.objects.filter(closed=True) if r.is_closed_at(now)]
        if still:
            self.stdout.write(self.style.WARNING(_("Still closed: %(forms)s") % {"forms": ", ".join(still)}))

    def _add(self, kind: str, network: str, duration: str | None, reason: str) -> None:
        delta = parse_duration(duration) if duration else None
        rule = rules.add_rule(network, kind=kind, duration=delta, reason=reason)
        values = {
            "kind": rule.get_kind_display(),
            "network": network,
            "time": _local(rule.expires_at) if rule.expires_at else "",
        }
        if rule.expires_at:
            self.stdout.write(self.style.SUCCESS(_("%(kind)s: %(network)s until %(time)s.") % values))
            return
        command = "unban" if kind == BlockRule.Kind.BLOCK else "unallow"
        self.stdout.write(
            self.style.WARNING(
                _(
                    "%(kind)s: %(network)s, permanent (no --for given). Lift it with `formguard %(command)s %(network)s`."
                )
                % {**values, "command": command}
            )
        )

    def _refuse_wide_ban(self, network: str) -> None:
        parsed = parse_network(network)
        widest = WIDEST_BAN[parsed.version]
        if parsed.prefixlen < widest:
            raise CommandError(
                _(
                    "%(network)s holds %(count)s addresses: wider than /%(widest)d, it would lock out far more "
                    "than one sender. Check the prefix, or add --force."
                )
                % {"network": network, "count": f"{parsed.num_addresses:,}", "widest": widest}
            )
        mine = [a for a in operator_addresses() if a.version == parsed.version and a in parsed]
        if mine:
            raise CommandError(
                _(
                    "%(network)s holds your own address %(me)s (from SSH_CLIENT): the ban would lock you out of "
                    "the site's forms. Add --force if you mean it."
                )
                % {"network": network, "me": mine[0]}
            )

    def handle_ban(self, network: str, duration: str | None, reason: str, force: bool = False, **options: Any) -> None:
        network = network_arg(network)
        if not force:
            self._refuse_wide_ban(network)
        self._add(BlockRule.Kind.BLOCK, network, duration, reason)

    def handle_allow(self, network: str, duration: str | None, reason: str, **options: Any) -> None:
        self._add(BlockRule.Kind.ALLOW, network_arg(network), duration, reason)

    def _lift(self, network: str, kind: str) -> int:
        lifted = rules.lift(network, kind)
        if lifted:
            self.stdout.write(
                self.style.SUCCESS(
                    ngettext(
                        "Lifted %(count)d rule for %(network)s.", "Lifted %(count)d rules for %(network)s.", lifted
                    )
                    % {"count": lifted, "network": network}
                )
            )
        return lifted

    def handle_unban(self, network: str, **options: Any) -> None:
        network = network_arg(network)
        if self._lift(network, BlockRule.Kind.BLOCK):
            return
        address = parse_network(network).network_address
        wider = [m for m in rules.get_index().matches(address, timezone.now()) if m.kind == BlockRule.Kind.BLOCK]
        if wider:
            names = ", ".join(m.network for m in wider)
            raise CommandError(
                _("No rule for exactly %(network)s; it is blocked by %(names)s. Unban that instead.")
                % {"network": network, "names": names}
            )
        if self._in_force(network, BlockRule.Kind.ALLOW):
            raise CommandError(
                _("%(network)s is on the allowlist, not the blacklist: use `formguard unallow %(network)s`.")
                % {"network": network}
            )
        raise CommandError(_("No blacklist rule in force for %(network)s.") % {"network": network})

    def handle_unallow(self, network: str, **options: Any) -> None:
        network = network_arg(network)
        if self._lift(network, BlockRule.Kind.ALLOW):
            return
        if self._in_force(network, BlockRule.Kind.BLOCK):
            raise CommandError(
                _("%(network)s is on the blacklist, not the allowlist: use `formguard unban %(network)s`.")
                % {"network": network}
            )
        raise CommandError(_("No allowlist rule in force for %(network)s.") % {"network": network})

    def _in_force(self, network: str, kind: str) -> bool:
        now = timezone.now()
        return (
            BlockRule.objects.filter(network=network, kind=kind)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
            .exists()
        )

    def handle_rules(self, kind: str | None, ip: str | None, all: bool = False, **options: Any) -> None:
        now = timezone.now()
        found = BlockRule.objects.order_by("kind", "-created_at")
        if kind:
            found = found.filter(kind=kind)
        if not all:
            found = found.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        found = list(found)
        if ip:
            wanted = parse_network(network_arg(ip))
            found = [
                r
                for r in found
                if r.ip_network.version == wanted.version and wanted.subnet_of(r.ip_network)  # type: ignore[arg-type]
            ]
        if not found:
            self.stdout.write(_("No rule matches."))
            return
        table = []
        for rule in found:
            if rule.expires_at is None:
                until = _("permanent")
            elif rule.expires_at <= now:
                until = _("ended %(time)s") % {"time": _local(rule.expires_at)}
            else:
                until = _("until %(time)s") % {"time": _local(rule.expires_at)}
            table.append(
                [rule.get_kind_display(), rule.network, rule.get_source_display(), until, describe_reason(rule.reason)]
            )
        header = [_("kind"), _("IP or CIDR"), _("source"), _("expires"), _("reason")]
        columns = [max(width(str(row[i])) for row in [header, *table]) + 2 for i in range(4)]
        for row in [header, *table]:
            self.stdout.write("".join(pad(str(cell), columns[i]) for i, cell in enumerate(row[:4])) + str(row[4]))
        self.stdout.write(ngettext("%(count)d rule.", "%(count)d rules.", len(table)) % {"count": len(table)})

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
        missing = reports.uncounted_message(report.uncounted)
        if missing:
            self.stderr.write(self.style.WARNING(missing))
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

    def handle_purge(self, older_than: str | None, dry_run: bool = False, yes: bool = False, **options: Any) -> None:
        age = parse_age(older_than) if older_than else timedelta(days=conf.INCIDENT_RETENTION_DAYS)
        going = reports.purgeable(age)
        cutoff = _local(timezone.now() - age)
        self.stdout.write(
            _("Older than %(age)s (before %(cutoff)s): %(incidents)d incidents and %(actions)d action log entries.")
            % {"age": durations.format_duration(age), "cutoff": cutoff, "incidents": going[0], "actions": going[1]}
        )
        if dry_run or going == (0, 0):
            self.stdout.write(_("Nothing was deleted."))
            return
        if not yes:
            if not sys.stdin.isatty():
                raise CommandError(_("Not deleted: confirm with --yes (no terminal to ask on)."))
            answer = input(_("Delete them? Type yes to confirm: "))
            if answer.strip().lower() not in ("yes", "y", "はい"):
                self.stdout.write(_("Nothing was deleted."))
                return
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
            % {"ip": found["ip"], "country": geo.country_label(found["country"]), "bucket": found["bucket"]}
        )
        kinds, sources = dict(BlockRule.Kind.choices), dict(BlockRule.Source.choices)
        for match in found["rules"]:
            until = _local(match.expires_at) if match.expires_at else _("never expires")
            self.stdout.write(
                f"  {kinds.get(match.kind, match.kind)} {match.network} "
                f"({sources.get(match.source, match.source)}, {until}) {describe_reason(match.reason)}"
            )
        if not found["rules"]:
            self.stdout.write("  " + _("no block or allow rule matches"))
        for outcome in found["outcomes"]:
            self.stdout.write(f"  {outcome['form_key']}: {outcome['outcome']}")
            self.stdout.write(f"    traps and rules: {outcome['traps']}")
            if outcome["warning"]:
                self.stdout.write(f"    {outcome['warning']}")
