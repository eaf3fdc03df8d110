"""What follows a change: of policies, rules and contacts (in any process), and of settings."""

from __future__ import annotations

from typing import Any

from django.core.signals import setting_changed
from django.db.models.signals import post_delete, post_init, post_save
from django.dispatch import receiver
from django.utils import timezone

from . import actors, contacts, notify, policies, rules, signals
from .models import ActionLog, AlternativeContact, BlockRule, FormPolicy

# Settings whose change can change what formguard keeps (override_settings).
_STATE_SETTINGS = frozenset({"FORMGUARD", "CACHES", "DATABASES"})
_PAGE_SETTINGS = frozenset({"TEMPLATES", "LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS", "USE_I18N"})


@receiver(setting_changed, dispatch_uid="formguard.setting_changed")
def setting_changed_receiver(sender: Any, setting: str, **kwargs: Any) -> None:
    from . import generations, refusal, store
    from .conf import conf

    if setting in _STATE_SETTINGS:
        conf.reset()
        store.forget()
        generations.forget()
        rules.forget()
    if setting in _STATE_SETTINGS or setting in _PAGE_SETTINGS:
        refusal.forget_pages()
    if setting == "ROOT_URLCONF":
        from .middleware import forget_paths

        forget_paths()


def _until(moment: Any) -> str:
    return f"until {timezone.localtime(moment):%Y-%m-%d %H:%M %Z}"


@receiver(post_init, sender=FormPolicy, dispatch_uid="formguard.policy_loaded")
def policy_loaded(sender: type, instance: FormPolicy, **kwargs: Any) -> None:
    instance._formguard_loaded_state = (instance.closed, instance.closed_until)


@receiver([post_save, post_delete], sender=FormPolicy, dispatch_uid="formguard.policy_changed")
def policy_changed(sender: type, instance: FormPolicy, **kwargs: Any) -> None:
    policies.invalidate()
    if kwargs.get("signal") is post_save:
        state = (instance.closed, instance.closed_until)
        if state != getattr(instance, "_formguard_loaded_state", (False, None)):
            instance._formguard_loaded_state = state
            automatic = getattr(instance, "_formguard_automatic", "")
            ActionLog.objects.create(
                action=ActionLog.Action.CLOSED if instance.closed else ActionLog.Action.REOPENED,
                target=instance.form_key,
                automatic=bool(automatic),
                detail=automatic[:300],
                until=instance.closed_until if instance.closed else None,
                actor=actors.AUTOMATIC if automatic else actors.current(),
            )
            signals.form_closed.send(
                sender=FormPolicy,
                form_key=instance.form_key,
                closed=instance.closed,
                until=instance.closed_until,
                automatic=automatic,
            )


@receiver([post_save, post_delete], sender=AlternativeContact, dispatch_uid="formguard.contact_changed")
def contact_changed(sender: type, instance: AlternativeContact, **kwargs: Any) -> None:
    contacts.invalidate()


@receiver([post_save, post_delete], sender=BlockRule, dispatch_uid="formguard.rule_changed")
def rule_changed(sender: type, instance: BlockRule, **kwargs: Any) -> None:
    rules.invalidate(full=kwargs.get("signal") is post_delete)
    if kwargs.get("created"):
        automatic = instance.source == BlockRule.Source.AUTOMATIC
        ActionLog.objects.create(
            at=instance.created_at,
            action=ActionLog.Action.BANNED if instance.kind == BlockRule.Kind.BLOCK else ActionLog.Action.ALLOWED,
            target=instance.network,
            automatic=automatic,
            actor=actors.AUTOMATIC if automatic else actors.current(),
            detail=instance.reason[:300],
            until=instance.expires_at,
        )


@receiver(signals.ip_banned, dispatch_uid="formguard.notify_ban")
def notify_ban(sender: Any, rule: BlockRule, form_key: str, offence: int, **kwargs: Any) -> None:
    notify.admins(f"{rule.network} banned automatically on form {form_key!r} (offence {offence}): {rule.reason}")


@receiver(signals.form_closed, dispatch_uid="formguard.notify_close")
def notify_close(sender: Any, form_key: str, closed: bool, until: Any, automatic: str = "", **kwargs: Any) -> None:
    if closed:
        target = "every form" if form_key == "*" else f"form {form_key!r}"
        event = f"{target} closed" + (f" {_until(until)}" if until else "")
        if automatic:
            # The site asked for the breaker: its admins hear of it at once.
            notify.admins(f"{event} by itself ({automatic})", urgent=True)
        else:
            notify.admins(event)


def create_policy_rows(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """After migrate: a row for the site-wide default and each guarded view found.

    So the admin lists every form before its first visitor. Connected in
    ``FormGuardConfig.ready()`` for formguard's own app config only.
    """
    from django.db import DEFAULT_DB_ALIAS

    from .decorators import discover_form_keys
    from .models import SITE_WIDE

    if using != DEFAULT_DB_ALIAS:
        return
    try:
        keys = discover_form_keys()
    except Exception:  # a URLconf that cannot load yet must not break migrate
        keys = []
    for key in [SITE_WIDE, *keys]:
        policies.ensure_row(key)
