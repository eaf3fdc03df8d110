"""``status``, ``close``, ``open``: the forms' switches and the state store they live in."""

from __future__ import annotations

import difflib
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from formguard import captcha, geo, policies
from formguard.marks import discover_form_keys
from formguard.models import SITE_WIDE, BlockRule, FormPolicy
from formguard.store import get_store

from .text import geoip_line, local_time, pad, parse_duration, width
from .topology import write_topology


class SwitchCommands(BaseCommand):
    """Mixed into the ``formguard`` command."""

    @staticmethod
    def add_parsers(sub: Any) -> None:

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
        # -- a closure's own message (issue 23, item 2) --
        close.add_argument(
            "--message",
            help=gettext_lazy(
                "This closure's text for visitors of its language (Japanese if it has kana or kanji, "
                "else English; or say --lang); forgotten when the form reopens."
            ),
        )
        close.add_argument("--message-en", help=gettext_lazy("This closure's text for visitors who read English."))
        close.add_argument("--lang", choices=["ja", "en"], help=gettext_lazy("The language of --message."))

        reopen = sub.add_parser("open", help=gettext_lazy("Reopen a form (default: the site-wide switch)."))
        reopen.add_argument("--form", default=SITE_WIDE, help=gettext_lazy("Form key; default: the site-wide switch."))

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
        write_topology(self, get_store())
        provider = captcha.get_provider()
        if provider is None:
            self.stdout.write(self.style.WARNING(_("Captcha: off (no keys in FORMGUARD['CAPTCHA'])")))
        else:
            # The providers' labels are plain strings (captcha/); their Japanese is in the catalogue.
            label = _(provider.label)
            if provider.script_host:
                line = _("Captcha: %(provider)s, script from %(host)s") % {
                    "provider": label,
                    "host": provider.script_host,
                }
            else:
                line = _("Captcha: %(provider)s, served by this site (no outside service)") % {"provider": label}
            if provider.uses_test_keys:
                line += " -- " + _("PUBLISHED TEST KEYS")
            self.stdout.write(line)
        info = geo.database_info()
        if info is None:
            self.stdout.write(self.style.WARNING(_("GeoIP: no readable database (every country unknown, ZZ)")))
        else:
            self.stdout.write(geoip_line(info))

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

    @staticmethod
    def _closure_messages(message: str | None, message_en: str | None, lang: str | None) -> dict[str, str]:
        """``--message`` (in its language) and ``--message-en`` as ``set_closed``'s arguments."""
        texts = {"message_ja": "", "message_en": message_en or ""}
        if message:
            key = f"message_{lang or policies.language_of(message)}"
            if texts[key]:
                raise CommandError(_("--message is English here and --message-en too: give one English text."))
            texts[key] = message
        return texts

    def handle_close(
        self,
        form: str,
        duration: str | None,
        message: str | None,
        create: bool = False,
        message_en: str | None = None,
        lang: str | None = None,
        **options: Any,
    ) -> None:
        self._known_form(form, create=create)
        until = timezone.now() + parse_duration(duration) if duration else None
        texts = self._closure_messages(message, message_en, lang)
        policies.set_closed(form, True, until=until, **texts)
        if form == SITE_WIDE:
            text = _("Every form closed until %(time)s.") if until else _("Every form closed until `formguard open`.")
        else:
            text = (
                _("Form %(form)r closed until %(time)s.")
                if until
                else _("Form %(form)r closed until `formguard open`.")
            )
        self.stdout.write(self.style.WARNING(text % {"form": form, "time": local_time(until) if until else ""}))

    def handle_open(self, form: str, **options: Any) -> None:
        self._known_form(form)
        policies.set_closed(form, False)
        text = _("The site-wide switch is open.") if form == SITE_WIDE else _("Form %(form)r is open.")
        self.stdout.write(self.style.SUCCESS(text % {"form": form}))
        now = timezone.now()
        still = [r.form_key for r in FormPolicy.objects.filter(closed=True) if r.is_closed_at(now)]
        if still:
            self.stdout.write(self.style.WARNING(_("Still closed: %(forms)s") % {"forms": ", ".join(still)}))
