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
manage.py formguard filter [--status | --rebuild]

Every change is recorded in the action log as done from the command line,
with the OS user.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext_lazy

from formguard import actors

from ._formguard.blocklists import RuleCommands
from ._formguard.filter import FilterCommands
from ._formguard.lookup import LookupCommands
from ._formguard.records import RecordCommands
from ._formguard.switches import SwitchCommands

# The logger of the switches (policies.set_closed): its line says what this
# command has just printed, in nearly the same words.
SWITCH_LOGGER = "formguard.policies"


class _AlreadySaid(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(SWITCH_LOGGER)


@contextmanager
def _no_echo_on_the_terminal() -> Iterator[None]:
    """Keep the switches' log lines off the operator's terminal while the command runs.

    Only handlers that write to this terminal are filtered: a log file, syslog
    or a test's capture still gets the line, and the action log has the change.
    """
    terminal = {sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__}
    handlers = []
    logger: logging.Logger | None = logging.getLogger(SWITCH_LOGGER)
    while logger is not None:
        handlers += [
            h
            for h in logger.handlers
            if isinstance(h, logging.StreamHandler) and getattr(h, "stream", None) in terminal
        ]
        logger = logger.parent if logger.propagate else None
    quiet = _AlreadySaid()
    for handler in handlers:
        handler.addFilter(quiet)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(quiet)


class Command(SwitchCommands, RuleCommands, RecordCommands, LookupCommands, FilterCommands, BaseCommand):
    help = gettext_lazy("Close and reopen forms, ban and allow IPs, and see formguard's state.")

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        # argparse wants a plain str; translated now, in the site's language.
        self.help = str(self.help)
        return super().create_parser(prog_name, subcommand, **kwargs)

    def execute(self, *args: Any, **options: Any) -> Any:
        # Recorded in the action log as done from the command line.
        with actors.acting_as(actors.command_line()), _no_echo_on_the_terminal():
            return super().execute(*args, **options)

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        # In this order in the help, as before the subcommands had modules of their own.
        SwitchCommands.add_parsers(sub)
        RuleCommands.add_parsers(sub)
        RecordCommands.add_parsers(sub)
        LookupCommands.add_parsers(sub)
        FilterCommands.add_parsers(sub)

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, "handle_" + options["action"])(**options)
