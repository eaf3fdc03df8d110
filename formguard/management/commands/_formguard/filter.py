"""``filter --status`` / ``filter --rebuild``: the owner-taught filter from the command line."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from formguard import learning
from formguard.models import SITE_WIDE
from formguard.policies import get_policy


class FilterCommands(BaseCommand):
    """Mixed into the ``formguard`` command."""

    @staticmethod
    def add_parsers(sub: Any) -> None:
        parser = sub.add_parser(
            "filter", help=gettext_lazy("The filter you teach: how well it does, or learn every label again.")
        )
        what = parser.add_mutually_exclusive_group()
        what.add_argument(
            "--status", action="store_true", help=gettext_lazy("Labels learnt and how well it does (the default).")
        )
        what.add_argument(
            "--rebuild",
            action="store_true",
            help=gettext_lazy("Learn every labelled message kept again, from an empty model."),
        )

    def handle_filter(self, rebuild: bool = False, **options: Any) -> None:
        if rebuild:
            counts = learning.rebuild()
            self.stdout.write(_("Learnt again from %(total)d labelled messages.") % {"total": sum(counts.values())})
        for line in learning.report(get_policy(SITE_WIDE).filter_min_labels):
            self.stdout.write(line)
