"""The admin: policies with the close switch, block rules, the incident log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import captcha, dashboard, diagnosis, geo, incidents, policies, reports, rules
from .models import ActionLog, AlternativeContact, BlockRule, CountryMode, FormPolicy, Incident


def _close(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, hours: int | None) -> None:
    until = timezone.now() + timedelta(hours=hours) if hours else None
    for row in queryset:
        policies.set_closed(row.form_key, True, until=until)
    modeladmin.message_user(
        request,
        ngettext("Closed %(count)d form.", "Closed %(count)d forms.", queryset.count()) % {"count": queryset.count()},
        messages.WARNING,
    )


@admin.action(description=_("Close now (until reopened)"), permissions=["change"])
def close_forms(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    _close(modeladmin, request, queryset, None)


@admin.action(description=_("Close for 1 hour"), permissions=["change"])
def close_forms_1h(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    _close(modeladmin, request, queryset, 1)


@admin.action(description=_("Close for 24 hours"), permissions=["change"])
def close_forms_24h(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    _close(modeladmin, request, queryset, 24)


@admin.action(description=_("Reopen"), permissions=["change"])
def reopen_forms(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    for row in queryset:
        policies.set_closed(row.form_key, False)
    modeladmin.message_user(
        request,
        ngettext("Reopened %(count)d form.", "Reopened %(count)d forms.", queryset.count())
        % {"count": queryset.count()},
        messages.SUCCESS,
    )


@admin.register(FormPolicy)
class FormPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "state",
        "switch",
        "closed",
        "closed_until",
        "enabled",
        "monitor_only",
        "rate_limit",
        "captcha_required",
        "country_mode",
        "updated_at",
    ]
    list_editable = ["closed", "closed_until"]
    list_display_links = ["__str__"]
    actions = [close_forms, close_forms_1h, close_forms_24h, reopen_forms]
    search_fields = ["form_key"]
    readonly_fields = ["updated_at"]
    fieldsets = [
        (None, {"fields": ["form_key", "enabled", "monitor_only"]}),
        (
            _("Emergency close"),
            {"fields": ["closed", "closed_until", "closed_message_ja", "closed_message_en"]},
        ),
        (
            _("Captcha"),
            {"fields": ["captcha_required", "captcha_min_score", "captcha_difficulty"]},
        ),
        (
            _("Country filter (GeoIP)"),
            {"fields": ["country_mode", "allowed_countries", "unknown_country", "private_country"]},
        ),
        (
            _("Rate limit and automatic bans"),
            {
                "fields": [
                    "rate_limit",
                    "burst_count",
                    "burst_window",
                    "ban_duration",
                    "ban_growth",
                    "ban_max",
                    "ban_lookback",
                    "shared_ip_challenge",
                    "shared_ip_ceiling",
                    "ipv6_network_prefix",
                    "ipv6_network_rate_limit",
                    "ipv6_network_burst_count",
                ],
                "description": _("On a form's row, leave a field empty to use the site-wide default."),
            },
        ),
        (None, {"fields": ["updated_at"]}),
    ]

    def _captcha_notice(self, request: HttpRequest) -> None:
        provider = captcha.get_provider()
        if provider is None:
            self.message_user(
                request,
                _(
                    "Captcha is off: no captcha keys are set in settings (FORMGUARD['CAPTCHA']). "
                    "“Captcha required” has no effect until they are."
                ),
                messages.WARNING,
            )
        elif provider.uses_test_keys:
            self.message_user(
                request,
                _("Captcha uses the provider's published test keys, which let every robot through."),
                messages.WARNING,
            )

    def _geoip_notice(self, request: HttpRequest) -> None:
        uses_country = FormPolicy.objects.exclude(country_mode__in=["", CountryMode.OFF]).exists()
        if uses_country and geo.database_info() is None:
            self.message_user(
                request,
                _(
                    "The country filter is on, but no GeoIP database can be read (FORMGUARD['GEOIP_PATH']): "
                    "every visitor counts as unknown (ZZ)."
                ),
                messages.WARNING,
            )

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if request.method == "GET":
            self._captcha_notice(request)
            self._geoip_notice(request)
        return super().changelist_view(request, extra_context)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None):
        if request.method == "GET":
            self._captcha_notice(request)
            self._geoip_notice(request)
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description=_("state"))
    def state(self, obj: FormPolicy) -> str:
        now = timezone.now()
        if obj.is_closed_at(now):
            if obj.closed_until:
                return format_html(
                    '<strong style="color:#ba2121">{}</strong>',
                    _("closed until %(time)s")
                    % {"time": timezone.localtime(obj.closed_until).strftime("%Y-%m-%d %H:%M")},
                )
            return format_html('<strong style="color:#ba2121">{}</strong>', _("closed"))
        if obj.enabled is False:
            return _("not checked")
        if obj.monitor_only:
            return _("monitor only")
        return _("open")

    # One click from the list: the buttons submit the changelist form (which
    # carries the CSRF token) to switch_view through their formaction.
    SWITCHES = {
        "close": None,
        "close1": 1,
        "close24": 24,
    }

    @admin.display(description=_("switch"))
    def switch(self, obj: FormPolicy) -> str:
        url = reverse("admin:formguard_formpolicy_switch")
        if obj.is_closed_at(timezone.now()):
            buttons = [("open", _("Reopen"))]
        else:
            buttons = [("close", _("Close")), ("close1", _("Close 1 h")), ("close24", _("Close 24 h"))]
        return format_html_join(
            " ",
            '<button type="submit" class="button" formaction="{}" name="fg_switch" value="{}|{}">{}</button>',
            ((url, op, obj.pk, label) for op, label in buttons),
        )

    def get_urls(self) -> list:
        return [
            path("switch/", self.admin_site.admin_view(self.switch_view), name="formguard_formpolicy_switch"),
            *super().get_urls(),
        ]

    def switch_view(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST" or not self.has_change_permission(request):
            raise PermissionDenied
        op, _sep, pk = request.POST.get("fg_switch", "").partition("|")
        row = FormPolicy.objects.filter(pk=pk).first() if pk.isdigit() else None
        if row is None or (op != "open" and op not in self.SWITCHES):
            self.message_user(request, _("Nothing was changed."), messages.ERROR)
        elif op == "open":
            policies.set_closed(row.form_key, False)
            self.message_user(request, _("%(form)s reopened.") % {"form": row}, messages.SUCCESS)
        else:
            hours = self.SWITCHES[op]
            until = timezone.now() + timedelta(hours=hours) if hours else None
            policies.set_closed(row.form_key, True, until=until)
            self.message_user(request, _("%(form)s closed.") % {"form": row}, messages.WARNING)
        return HttpResponseRedirect(reverse("admin:formguard_formpolicy_changelist"))

    def get_readonly_fields(self, request: HttpRequest, obj: FormPolicy | None = None) -> list[str]:
        if obj is not None:
            return [*self.readonly_fields, "form_key"]
        return list(self.readonly_fields)


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


@admin.action(description=_("Unban / lift now"), permissions=["change"])
def lift_rules(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    count = rules.lift_rules(queryset)
    modeladmin.message_user(request, _("Lifted %(count)d rules.") % {"count": count}, messages.SUCCESS)


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
    modeladmin.message_user(request, _("%(count)d rules no longer expire.") % {"count": count}, messages.SUCCESS)


@admin.register(BlockRule)
class BlockRuleAdmin(admin.ModelAdmin):
    list_display = ["network", "kind", "source", "in_force", "expires_at", "offence", "hits", "reason", "created_at"]
    list_filter = [ActiveFilter, "kind", "source", "form_key"]
    search_fields = ["network", "reason"]
    date_hierarchy = "created_at"
    actions = [lift_rules, extend_rules, make_permanent]
    readonly_fields = ["hits", "offence"]
    fields = ["network", "kind", "reason", "expires_at", "source", "form_key", "offence", "hits"]

    @admin.display(boolean=True, description=_("in force"))
    def in_force(self, obj: BlockRule) -> bool:
        return obj.is_active_at(timezone.now())

    def get_urls(self) -> list:
        return [
            path(
                "inspect/",
                self.admin_site.admin_view(self.inspect_view),
                name="formguard_inspect",
            ),
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


@admin.action(description=_("Ban these IPs (7 days)"), permissions=["ban"])
def ban_incident_ips(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    networks = sorted(set(queryset.values_list("ip_bucket", flat=True)))
    for network in networks:
        if not rules.is_blocked(network.split("/")[0]):
            rules.add_rule(network, duration=timedelta(days=7), reason=str(_("banned from the incident log")))
    modeladmin.message_user(request, _("Banned %(count)d IPs for 7 days.") % {"count": len(networks)}, messages.SUCCESS)


class ReportForm(forms.Form):
    since = forms.DateField(label=_("from"), widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("to (included)"), widget=forms.DateInput(attrs={"type": "date"}))
    format = forms.ChoiceField(
        label=_("format"),
        choices=[
            ("html", _("report for the spam consultation center (printable page)")),
            ("eml", _("report for the spam consultation center (.eml mail)")),
            ("text", _("report for the spam consultation center (text)")),
            ("csv", _("CSV (Excel)")),
            ("json", "JSON"),
        ],
    )
    form_key = forms.CharField(label=_("form key"), required=False)
    include_personal = forms.BooleanField(
        label=_("include names, email addresses and other personal data"), required=False
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            raise forms.ValidationError(_("The end of the period comes before its start."))
        return data


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["last_seen", "ip", "country", "form_key", "reason", "count", "monitor_only", "path"]
    list_filter = ["reason", "form_key", "country", "monitor_only"]
    search_fields = ["ip", "ip_bucket"]
    date_hierarchy = "first_seen"
    actions = [ban_incident_ips]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Incident | None = None) -> bool:
        # Viewing only; actions check their own "change" permission below.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Incident | None = None) -> bool:
        return request.user.is_superuser

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        incidents.flush_pending()
        return super().changelist_view(request, extra_context)

    def get_urls(self) -> list:
        return [
            path("dashboard/", self.admin_site.admin_view(self.dashboard_view), name="formguard_dashboard"),
            path("report/", self.admin_site.admin_view(self.report_view), name="formguard_report"),
            *super().get_urls(),
        ]

    def dashboard_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = timezone.localdate()
        context = {
            **self.admin_site.each_context(request),
            **dashboard.build(),
            "title": _("formguard dashboard"),
            "opts": self.model._meta,
            "report_form": ReportForm(initial={"since": today - timedelta(days=6), "until": today}),
        }
        return TemplateResponse(request, "admin/formguard/dashboard.html", context)

    def report_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = ReportForm(request.GET or None)
        if not form.is_valid():
            context = {
                **self.admin_site.each_context(request),
                "title": _("Report"),
                "opts": self.model._meta,
                "report_form": form,
            }
            return TemplateResponse(
                request, "admin/formguard/report_form.html", context, status=400 if request.GET else 200
            )
        data = form.cleaned_data
        since, _unused = reports.period_for_day(data["since"])
        _unused, until = reports.period_for_day(data["until"])
        report = reports.build(
            since,
            until,
            form_key=data["form_key"] or None,
            include_personal=data["include_personal"],
            site=request.get_host(),
        )
        fmt = data["format"]
        response = HttpResponse(reports.render(report, fmt), content_type=reports.FORMATS[fmt][0])
        if fmt != "html":
            response["Content-Disposition"] = f'attachment; filename="{reports.filename(report, fmt)}"'
        return response

    def has_ban_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("formguard.add_blockrule")


@admin.register(AlternativeContact)
class AlternativeContactAdmin(admin.ModelAdmin):
    list_display = ["__str__", "country", "kind", "order"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_filter = ["country", "kind"]
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


@admin.register(ActionLog)
class ActionLogAdmin(admin.ModelAdmin):
    list_display = ["at", "action", "target", "automatic", "detail"]
    list_filter = ["action", "automatic"]
    search_fields = ["target", "detail"]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ActionLog | None = None) -> bool:
        return False
