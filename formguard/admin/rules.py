"""The blacklist and the allowlist, and the diagnosis page "What does formguard see?"."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .. import diagnosis, rules
from ..models import BlockRule, describe_reason
from .base import FormGuardAdmin


class ActiveFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "active"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [("yes", _("in force")), ("no", _("expired"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        in_force = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        if self.value() == "yes":
            return queryset.filter(in_force)
        if self.value() == "no":
            return queryset.exclude(in_force)
        return queryset


def lifted_message(count: int) -> str:
    return ngettext("Lifted %(count)d rule.", "Lifted %(count)d rules.", count) % {"count": count}


@admin.action(description=_("Unban / lift now"), permissions=["change"])
def lift_rules(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    modeladmin.message_user(request, lifted_message(rules.lift_rules(queryset)), messages.SUCCESS)


@admin.action(description=_("Extend by 7 days"), permissions=["change"])
def extend_rules(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    now = timezone.now()
    for rule in queryset.exclude(expires_at__isnull=True):
        rule.expires_at = max(rule.expires_at, now) + timedelta(days=7)
        rule.save(update_fields=["expires_at", "updated_at"])
    rules.invalidate()
    modeladmin.message_user(request, _("Extended the selected rules by 7 days."), messages.SUCCESS)


@admin.action(description=_("Make permanent"), permissions=["change"])
def make_permanent(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    count = queryset.update(expires_at=None, updated_at=timezone.now())
    rules.invalidate()
    modeladmin.message_user(
        request,
        ngettext("%(count)d rule no longer expires.", "%(count)d rules no longer expire.", count) % {"count": count},
        messages.SUCCESS,
    )


@admin.register(BlockRule)
class BlockRuleAdmin(FormGuardAdmin):
    # Few, short columns (the list fits 1280 px beside the sidebar and the filters):
    # "expires" also says whether the rule is in force.
    list_display = ["network", "kind", "source", "expires", "stopped", "reason_text"]
    list_filter = [ActiveFilter, "kind", "source", "form_key"]
    search_fields = ["network", "reason"]
    date_hierarchy = "created_at"
    actions = [lift_rules, extend_rules, make_permanent]
    readonly_fields = ["hits", "offence"]
    fields = ["network", "kind", "reason", "expires_at", "source", "form_key", "offence", "hits"]

    @admin.display(boolean=True, description=_("in force"))
    def in_force(self, obj: BlockRule) -> bool:
        return obj.is_active_at(timezone.now())

    @admin.display(description=_("expires"), ordering="expires_at")
    def expires(self, obj: BlockRule) -> str:
        if obj.expires_at is None:
            return gettext("never expires")
        when = date_format(timezone.localtime(obj.expires_at), "SHORT_DATETIME_FORMAT")
        if obj.expires_at <= timezone.now():
            return format_html('<span class="fg-inherited">{}</span>', gettext("ended %(time)s") % {"time": when})
        return gettext("until %(time)s") % {"time": when}

    @admin.display(description=_("stopped"), ordering="hits")
    def stopped(self, obj: BlockRule) -> int:
        return obj.hits

    @admin.display(description=_("reason"), ordering="reason")
    def reason_text(self, obj: BlockRule) -> str:
        return describe_reason(obj.reason)

    def get_urls(self) -> list:
        return [
            path("inspect/", self.admin_site.admin_view(self.inspect_view), name="formguard_inspect"),
            *super().get_urls(),
        ]

    def inspect_view(self, request: HttpRequest) -> HttpResponse:
        typed = request.GET.get("ip", "").strip()
        context = {
            **self.admin_site.each_context(request),
            "title": _("What does formguard see?"),
            "opts": self.model._meta,
            "typed": typed,
            "current": diagnosis.describe_request(request),
            "lookup": diagnosis.describe_ip(typed) if typed else None,
        }
        return TemplateResponse(request, "admin/formguard/inspect.html", context)
