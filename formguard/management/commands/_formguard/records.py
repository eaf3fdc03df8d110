"""``report``, ``purge``: the incident log, reported on and deleted by age; held messages past their retention."""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from formguard import durations, holds, reports
from formguard.conf import conf

from .text import local_time, parse_age, parse_moment


class RecordCommands(BaseCommand):
    """Mixed into the ``formguard`` command."""

    @staticmethod
    def add_parsers(sub: Any) -> None:
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
            "purge",
            help=gettext_lazy(
                "Delete incidents (and action log entries) older than an age in days, and held messages past "
                "their retention."
            ),
        )
        purge.add_argument(
            "--older-than",
            dest="older_than",
            help=gettext_lazy("An age in days or weeks: 90d, 12w. Default: FORMGUARD['INCIDENT_RETENTION_DAYS'] days."),
        )
        purge.add_argument("--dry-run", action="store_true", help=gettext_lazy("Only say what would be deleted."))
        purge.add_argument("--yes", action="store_true", help=gettext_lazy("Do not ask for confirmation."))

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
        # The formats for the consultation center hold spam only (reportrows).
        spam_only = format in reports.SPAM_FORMATS
        report = reports.build(
            start, end, form_key=form, include_personal=include_personal, site=site, spam_only=spam_only
        )
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
        # Held (and kept) messages go by their own retention, the policy's, not by --older-than.
        expired = holds.expired_count()
        cutoff = local_time(timezone.now() - age)
        counts = {"age": durations.format_duration(age), "cutoff": cutoff, "incidents": going[0], "actions": going[1]}
        if age:
            said = _("Older than %(age)s (before %(cutoff)s): incidents %(incidents)d, action log entries %(actions)d.")
        else:
            said = _("Everything up to now (%(cutoff)s): incidents %(incidents)d, action log entries %(actions)d.")
        self.stdout.write(said % counts)
        self.stdout.write(_("Messages kept past their retention: %(count)d.") % {"count": expired})
        if dry_run or (going == (0, 0) and not expired):
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
        messages = holds.purge_expired()
        self.stdout.write(
            self.style.SUCCESS(
                _("Deleted: incidents %(incidents)d, action log entries %(actions)d.")
                % {"incidents": removed, "actions": actions}
            )
        )
        self.stdout.write(
            self.style.SUCCESS(_("Deleted: messages past their retention %(count)d.") % {"count": messages})
        )
