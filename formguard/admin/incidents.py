"""The incident log (read-only), the dashboard and the reports."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.defaultfilters import linebreaksbr
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .. import dashboard, durations, geo, incidents, reportrows, reports, rules
from ..forms import FIELD_LABELS
from ..marks import discover_form_keys
from ..models import Incident, Reason, TrapAction
from ..ratelimits import format_rate
from .base import CountryFilter, FormGuardAdmin
from .review import INCIDENT_LABEL_ACTIONS


@admin.action(description=_("Ban these IPs (7 days)"), permissions=["ban"])
def ban_incident_ips(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    networks = sorted(set(queryset.values_list("ip_bucket", flat=True)))
    for network in networks:
        if not rules.is_blocked(network.split("/")[0]):
            rules.add_rule(network, duration=timedelta(days=7), reason=str(_("banned from the incident log")))
    modeladmin.message_user(
        request,
        ngettext("Banned %(count)d IP for 7 days.", "Banned %(count)d IPs for 7 days.", len(networks))
        % {"count": len(networks)},
        messages.SUCCESS,
    )


def _say_uncounted(request: HttpRequest, uncounted: int | None) -> None:
    """Counts that leave refusals out say so, in numbers, above the page."""
    message = reports.uncounted_message(uncounted)
    if message:
        messages.warning(request, message)


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
    form_key = forms.ChoiceField(label=_("form"), required=False)
    include_personal = forms.BooleanField(
        label=_("include names, email addresses and other personal data"), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The forms the site has and the ones the log names, to choose from (a typed key
        # that matches nothing gave an empty report).
        keys = {*discover_form_keys(), *Incident.objects.values_list("form_key", flat=True).distinct()}
        self.fields["form_key"].choices = [("", _("all forms")), *((key, key) for key in sorted(keys))]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            raise forms.ValidationError(_("The end of the period comes before its start."))
        return data


# A row's key on the report page (reportrows.key): anything else sent is ignored.
ROW_KEY = re.compile(r"^[is][0-9]{1,19}$")


def _report_rows(report: reports.Report) -> list[dict[str, Any]]:
    """The report's rows as the report page lists them, each with the key of its "leave out" checkbox."""
    labels = dict(Reason.choices)
    rows = [
        {
            "key": reportrows.key(row),
            "time": row.first_seen,
            "ip": row.ip,
            "country": geo.country_name(row.country),
            "form_key": row.form_key,
            "reason": labels.get(row.reason, row.reason),
            "count": row.count,
            "label": "",
            "text": IncidentAdmin.submitted(None, row),  # type: ignore[arg-type]
        }
        for row in report.rows
    ]
    rows += [
        {
            "key": reportrows.key(row),
            "time": row.created,
            "ip": row.ip or "",
            "country": geo.country_name(row.country),
            "form_key": row.form_key,
            "reason": labels.get(row.reason, row.reason),
            "count": 1,
            "label": row.get_label_display(),
            "text": IncidentAdmin.submitted(None, reportrows.submitted(row)),  # type: ignore[arg-type]
        }
        for row in report.labelled
    ]
    return rows


def _table(values: dict[str, Any], labels: dict[str, Any] | None = None) -> str:
    """A JSON dict as a two-column table a person reads (the raw JSON is for exports)."""
    if not values:
        return "—"
    labels = labels or {}
    rows = format_html_join(
        "\n",
        "<tr><th>{}</th><td>{}</td></tr>",
        ((labels.get(k, FIELD_LABELS.get(str(k).lower(), k)), _cell(v)) for k, v in values.items()),
    )
    return format_html('<table class="fg-detail">{}</table>', rows)


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return format_html("{}", linebreaksbr(str(value)))


# What the keys of an incident's detail mean (the pipeline's checks write them).
DETAIL_LABELS = {
    "posts": _("POSTs"),
    "window": _("window"),
    "rate": _("rate limit"),
    "country": _("country"),
    "mode": _("country filter"),
    "network": _("network"),
    "rule": _("rule"),
    "scope": _("scope"),
    "until": _("until"),
    "error": _("error"),
    "score": _("score"),
    # Bot traps and content rules.
    "action": _("action taken"),
    "also": _("also caught by"),
    "filled": _("hidden field's content"),
    "token": _("time token"),
    "seconds": _("seconds after the form was shown"),
    "shortest": _("shortest time (seconds)"),
    "longest": _("longest time (seconds)"),
    "chars": _("characters"),
    "kana_percent": _("share of kana among the letters (%)"),
    "field": _("field"),
    "links": _("links"),
    "counted": _("links counted (the site's own and the sender's own site once each)"),
    "foreign": _("visitor reads another language"),
    "markup": _("link markup"),
    "word": _("NG word"),
    "domain": _("domain"),
}
TOKEN_STATES = {"missing": _("missing"), "invalid": _("invalid")}


class CaughtFilter(admin.SimpleListFilter):
    """Submissions answered with a fake success: where an owner looks for a
    real customer's message that a trap caught (its sample holds the text)."""

    title = _("answered")
    parameter_name = "caught"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [("fake_success", _("Caught with a fake success"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "fake_success":
            return queryset.filter(detail__action="fake_success")
        return queryset


@admin.register(Incident)
class IncidentAdmin(FormGuardAdmin):
    list_display = ["last_seen", "ip", "country_name", "form_key", "reason_text", "count"]
    list_filter = [CaughtFilter, "reason", "form_key", CountryFilter, "monitor_only"]
    search_fields = ["ip", "ip_bucket"]
    date_hierarchy = "first_seen"
    actions = [ban_incident_ips, *INCIDENT_LABEL_ACTIONS]  # labels: issue 22 (admin/review.py)
    exclude = ["detail", "sample"]
    readonly_fields = ["country_label", "monitor_only_text", "method_text", "detail_table", "sample_table"]

    @admin.display(description=_("what the visitor did"))
    def method_text(self, obj: Incident) -> str:
        # What the visitor was doing, not the HTTP method.
        return {"GET": gettext("opening the form"), "POST": gettext("sending it")}.get(obj.method, obj.method)

    @admin.display(description=_("monitor only"))
    def monitor_only_text(self, obj: Incident) -> str:
        # Words, not the admin's ✔/✘ icons.
        return gettext("Yes: recorded, nothing was refused") if obj.monitor_only else gettext("No")

    @admin.display(description=_("country"))
    def country_label(self, obj: Incident) -> str:
        return geo.country_label(obj.country)

    @admin.display(description=_("reason"), ordering="reason")
    def reason_text(self, obj: Incident) -> str:
        if obj.monitor_only:
            reason = gettext("%(reason)s (monitor only: not refused)") % {"reason": obj.get_reason_display()}
        else:
            reason = obj.get_reason_display()
        # The start of what was sent, under the reason: to spot a customer among the bots.
        text = self.submitted(obj)
        return format_html('{}<br><small class="fg-submitted-start">{}</small>', reason, text) if text else reason

    @admin.display(description=_("country"), ordering="country")
    def country_name(self, obj: Incident) -> str:
        return geo.country_name(obj.country)

    @admin.display(description=_("detail"))
    def detail_table(self, obj: Incident) -> str:
        detail = dict(obj.detail or {})
        if "country" in detail:
            detail["country"] = geo.country_label(detail["country"])
        if "rate" in detail:
            detail["rate"] = format_rate(str(detail["rate"]))
        if isinstance(detail.get("window"), int):
            detail["window"] = durations.format_duration(detail["window"])
        if "action" in detail:
            detail["action"] = (
                TrapAction(detail["action"]).label if detail["action"] in TrapAction else detail["action"]
            )
        if isinstance(detail.get("also"), list):
            detail["also"] = ", ".join(str(Reason(r).label) if r in Reason else str(r) for r in detail["also"])
        if "token" in detail:
            detail["token"] = TOKEN_STATES.get(detail["token"], detail["token"])
        return _table(detail, DETAIL_LABELS)

    @admin.display(description=_("submitted"))
    def submitted(self, obj: Incident | dict[str, Any]) -> str:
        # The start of what was sent, to spot a customer among the bots.
        sample = obj if isinstance(obj, dict) else (obj.sample or {})
        text = str(sample.get("message") or next(iter(sample.values()), ""))
        return f"{text[:20]}…" if len(text) > 20 else text

    @admin.display(description=_("submitted sample"))
    def sample_table(self, obj: Incident) -> str:
        return _table(obj.sample or {})

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Incident | None = None) -> bool:
        # Viewing only; actions check their own "change" permission below.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Incident | None = None) -> bool:
        return request.user.is_superuser

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        _say_uncounted(request, incidents.flush_for_reading())
        return super().changelist_view(request, extra_context)

    def get_fields(self, request: HttpRequest, obj: Incident | None = None) -> list[str]:
        extra = ("country_label", "monitor_only_text", "method_text", "detail_table", "sample_table")
        fields = [f for f in super().get_fields(request, obj) if f not in extra]
        # The country by name where its code was, the mode in words where its box was.
        named = {"country": "country_label", "monitor_only": "monitor_only_text", "method": "method_text"}
        return [*(named.get(f, f) for f in fields), "detail_table", "sample_table"]

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
        built = dashboard.build()
        _say_uncounted(request, built["uncounted"])
        context = {
            **self.admin_site.each_context(request),
            **built,
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
        # The rows the owner left out on this page before sending (their keys).
        leave_out = {k for k in request.GET.getlist("leave_out") if ROW_KEY.match(k)}
        report = reports.build(
            since,
            until,
            form_key=data["form_key"] or None,
            include_personal=data["include_personal"],
            site=request.get_host(),
            spam_only=data["format"] in reports.SPAM_FORMATS,
            leave_out=() if "show" in request.GET else leave_out,
        )
        if "show" in request.GET:
            # What the report would hold, row by row, for the owner to leave some out.
            context = {
                **self.admin_site.each_context(request),
                "title": _("Report"),
                "opts": self.model._meta,
                "report_form": form,
                "rows": _report_rows(report),
                "left_out": leave_out,
                "shown": True,
            }
            return TemplateResponse(request, "admin/formguard/report_form.html", context)
        fmt = data["format"]
        response = HttpResponse(reports.render(report, fmt), content_type=reports.FORMATS[fmt][0])
        if fmt != "html":
            response["Content-Disposition"] = f'attachment; filename="{reports.filename(report, fmt)}"'
        # For scripts that fetch reports: "unknown" when the store did not answer.
        response["X-Formguard-Uncounted"] = "unknown" if report.uncounted is None else str(report.uncounted)
        return response

    def has_ban_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("formguard.add_blockrule")

    # Labels from the incident log (issue 22): who may label held messages may label these.
    def has_label_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("formguard.change_submission")
