"""What every formguard admin shares: who acts (for the action log), the stylesheet, and the
warning of refusal pages that show no other way to reach the business."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import actors, contacts, geo
from ..models import AlternativeContact


class FormGuardAdmin(admin.ModelAdmin):
    """Runs each admin view as its user, so the action log says who did what."""

    class Media:
        css = {"all": ["formguard/admin.css"]}

    def _as_user(self, request: HttpRequest, view: Any, *args: Any, **kwargs: Any) -> HttpResponse:
        with actors.acting_as(actors.user(request.user.get_username())):
            return view(request, *args, **kwargs)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if request.method == "GET":
            self._warn_of_dead_ends(request)
        return self._as_user(request, super().changelist_view, extra_context)

    def _warn_of_dead_ends(self, request: HttpRequest) -> None:
        """On every formguard list until it is fixed: a refused visitor who is shown no contact has no
        way to reach the business (system check W010 says it to the developer)."""
        if not contacts.refusals_without_contacts():
            return
        menu = capfirst(AlternativeContact._meta.verbose_name_plural)
        self.message_user(
            request,
            format_html(
                '{} <a href="{}">{}</a>',
                gettext(
                    "Visitors who are banned, send too many messages or find the form closed are asked to reach "
                    "you another way, but no alternative contact is set for every country: their page shows none."
                ),
                reverse("admin:formguard_alternativecontact_add"),
                gettext("Add one under “%(menu)s” (country left empty).") % {"menu": menu},
            ),
            messages.WARNING,
        )

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._as_user(request, super().changeform_view, *args, **kwargs)

    def delete_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._as_user(request, super().delete_view, *args, **kwargs)


class CountryFilter(admin.SimpleListFilter):
    """Countries by name in the reader's language (the codes are ISO's, ZZ and XX formguard's)."""

    title = _("country")
    parameter_name = "country"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        codes = model_admin.get_queryset(request).order_by().values_list("country", flat=True).distinct()
        return geo.country_choices([c for c in codes if c])

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(country=self.value()) if self.value() else queryset
