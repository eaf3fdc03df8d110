"""``inspect``, ``geoip``: what formguard sees for one address."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from formguard import diagnosis, geo
from formguard.models import BlockRule, describe_reason

from .text import geoip_line, local_time


class LookupCommands(BaseCommand):
    """Mixed into the ``formguard`` command."""

    @staticmethod
    def add_parsers(sub: Any) -> None:
        # description too: the subcommand's own --help says it (help is only its line in the list).
        said = gettext_lazy("What formguard does with this IP on each form: rules, what the visitor gets, traps.")
        inspect = sub.add_parser("inspect", help=said, description=str(said))
        inspect.add_argument("ip", help=gettext_lazy("An IPv4 or IPv6 address."))
        said = gettext_lazy(
            "Which GeoIP database formguard reads (its date), and the country it gives this IP; then as inspect."
        )
        geoip = sub.add_parser("geoip", help=said, description=str(said))
        geoip.add_argument("ip", help=gettext_lazy("An IPv4 or IPv6 address."))

    def handle_geoip(self, ip: str, **options: Any) -> None:
        info = geo.database_info()
        if info is None:
            self.stdout.write(self.style.WARNING(_("GeoIP: no readable database (every country unknown, ZZ)")))
        else:
            self.stdout.write(geoip_line(info))
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
            until = local_time(match.expires_at) if match.expires_at else _("never expires")
            self.stdout.write(
                f"  {kinds.get(match.kind, match.kind)} {match.network} "
                f"({sources.get(match.source, match.source)}, {until}) {describe_reason(match.reason)}"
            )
        if not found["rules"]:
            self.stdout.write("  " + _("no block or allow rule matches"))
        for outcome in found["outcomes"]:
            self.stdout.write(f"  {outcome['form_key']}: {outcome['outcome']}")
            self.stdout.write("    " + _("traps and rules: %(traps)s") % {"traps": outcome["traps"]})
            if outcome["warning"]:
                self.stdout.write(f"    {outcome['warning']}")
