"""Alternative contacts, and the action log (who did what about spam, and when)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from django_countries.fields import LazyTypedChoiceField

from .. import geo, policies
from ..models import SITE_WIDE, ActionLog, AlternativeContact, describe_reason
from .base import CountryFilter, FormGuardAdmin


@admin.register(AlternativeContact)
class AlternativeContactAdmin(FormGuardAdmin):
    list_display = ["__str__", "country_name", "kind", "order"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_filter = [CountryFilter, "kind"]
    search_fields = ["country", "value", "text_ja", "text_en", "text_zh"]
    fieldsets = [
        (None, {"fields": ["country", "kind", "value", "hours", "qr_image", "order"]}),
        (
            _("Text"),
            {
                "fields": ["text_ja", "text_en", "text_zh", "image_url"],
                "description": _("Free text, or a note shown under the channel, in each language."),
            },
        ),
    ]

    def formfield_for_dbfield(self, db_field: models.Field, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name != "country":
            return super().formfield_for_dbfield(db_field, request, **kwargs)
        # A chooser of country names in the reader's language (django-countries), not a
        # free two-letter box where “china” became “ch”, Switzerland.
        choices = [
            ("", gettext("every other country")),
            *countries,
            (geo.UNKNOWN, geo.country_name(geo.UNKNOWN)),
            (geo.PRIVATE, geo.country_name(geo.PRIVATE)),
        ]
        return LazyTypedChoiceField(
            choices=choices,
            required=False,
            label=capfirst(db_field.verbose_name),
            help_text=db_field.help_text,
        )

    @admin.display(description=_("country"), ordering="country")
    def country_name(self, obj: AlternativeContact) -> str:
        return geo.country_label(obj.country) if obj.country else gettext("every other country")


@admin.register(ActionLog)
class ActionLogAdmin(FormGuardAdmin):
    list_display = ["at", "action", "target_text", "by", "detail_text"]
    list_filter = ["action", "automatic"]
    search_fields = ["target", "detail", "actor"]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ActionLog | None = None) -> bool:
        return False

    @admin.display(description=_("form or IP"), ordering="target")
    def target_text(self, obj: ActionLog) -> str:
        return gettext("every form (site-wide)") if obj.target == SITE_WIDE else obj.target

    @admin.display(description=_("by"), ordering="actor")
    def by(self, obj: ActionLog) -> str:
        return obj.actor_display()

    @admin.display(description=_("detail"))
    def detail_text(self, obj: ActionLog) -> str:
        parts = [describe_reason(obj.detail)] if obj.detail else []
        if obj.until:
            parts.append(gettext("until %(time)s") % {"time": policies.local_time(obj.until)})
        return " ".join(parts) if parts else "—"
