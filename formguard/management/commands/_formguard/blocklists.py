"""``ban``, ``allow``, ``unban``, ``unallow``, ``rules``: the blacklist and the allowlist."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from formguard import rules
from formguard.ip import parse_network
from formguard.models import BlockRule, describe_reason

from .text import WIDEST_BAN, local_time, network_arg, operator_addresses, pad, parse_duration, width


class RuleCommands(BaseCommand):
    """Mixed into the ``formguard`` command."""

    @staticmethod
    def add_parsers(sub: Any) -> None:
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

    def _add(self, kind: str, network: str, duration: str | None, reason: str) -> None:
        delta = parse_duration(duration) if duration else None
        rule = rules.add_rule(network, kind=kind, duration=delta, reason=reason)
        values = {
            "kind": rule.get_kind_display(),
            "network": network,
            "time": local_time(rule.expires_at) if rule.expires_at else "",
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
                until = _("ended %(time)s") % {"time": local_time(rule.expires_at)}
            else:
                until = _("until %(time)s") % {"time": local_time(rule.expires_at)}
            table.append(
                [rule.get_kind_display(), rule.network, rule.get_source_display(), until, describe_reason(rule.reason)]
            )
        header = [_("kind"), _("IP or CIDR"), _("source"), _("expires"), _("reason")]
        columns = [max(width(str(row[i])) for row in [header, *table]) + 2 for i in range(4)]
        for row in [header, *table]:
            self.stdout.write("".join(pad(str(cell), columns[i]) for i, cell in enumerate(row[:4])) + str(row[4]))
        self.stdout.write(ngettext("%(count)d rule.", "%(count)d rules.", len(table)) % {"count": len(table)})
