"""What every formguard admin shares: who acts (for the action log) and the stylesheet."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from .. import actors, geo


class FormGuardAdmin(admin.ModelAdmin):
    """Runs each admin view as its user, so the action log says who did what."""

    class Media:
        css = {"all": ["formguard/admin.css"]}

    def _as_user(self, request: HttpRequest, view: Any, *args: Any, **kwargs: Any) -> HttpResponse:
        with actors.acting_as(actors.user(request.user.get_username())):
            return view(request, *args, **kwargs)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return self._as_user(request, super().changelist_view, extra_context)

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
