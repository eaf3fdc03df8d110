"""The review inbox: held messages, newest first, released, discarded or labelled in one click.

A held message (``holds.py``) waits here with why it was held, in the owner's
words, and what the visitor wrote. Each row and each message's page has the
buttons 公開（送信）(release: the form's own view runs on it and sends it,
``release.py``), 破棄 (discard), and the labels 迷惑・営業・お客様
(``labels.give``, so the owner-taught filter learns); the same as bulk actions.
Django's admin history (``LogEntry``) records who released or discarded what.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import geo, holds, labels, release
from ..forms import label_for
from ..models import Incident, Label, Reason, Submission, SubmissionStatus
from ..traps import HONEYPOT_FIELD
from .base import CountryFilter, FormGuardAdmin

# The fields a person reads first; the rest follow in the order sent.
NAME_FIELDS = ("name", "your-name", "お名前", "氏名")
EMAIL_FIELDS = ("email", "your-email", "mail", "メールアドレス")
MESSAGE_FIELDS = ("message", "body", "inquiry", "your-message", "お問い合わせ内容")
PREVIEW_CHARS = 140


def _first(submission: Submission, names: tuple[str, ...]) -> str:
    return next((value for name in names if (value := submission.value(name))), "")


def why_held(submission: Submission) -> str:
    """Why a submission was held, as the owner reads it ("honeypot field filled", "filter: 営業 93%")."""
    try:
        why = str(Reason(submission.reason).label)
    except ValueError:
        why = submission.reason
    detail = submission.detail or {}
    if submission.reason == Reason.FILTER:
        judged = detail.get("label", "")
        score = detail.get("score")
        if judged in Label.values:
            why = f"{why}: {Label(judged).label}"
        if isinstance(score, (int, float)):
            why = f"{why} ({score:.0%})"
    elif detail.get("action") == "fake_success":
        why = gettext("%(reason)s (the sender was shown a fake success)") % {"reason": why}
    return why


class StatusFilter(admin.SimpleListFilter):
    """Held by default: the inbox is what waits for the owner; the rest one click away."""

    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [*SubmissionStatus.choices, ("all", _("All"))]

    def value(self) -> str:
        return super().value() or SubmissionStatus.HELD

    def choices(self, changelist: Any) -> Any:
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset if value == "all" else queryset.filter(status=value)


# What a button does: (URL name part, label, css class); labels after these.
BUTTONS = (
    ("release", _("release (send)"), "fg-release"),
    ("discard", _("discard"), "fg-discard"),
)


@admin.register(Submission)
class SubmissionAdmin(FormGuardAdmin):
    list_display = ("created", "sender", "preview", "why")
    list_display_links = ("created",)
    list_filter = (StatusFilter, "label", "form_key", CountryFilter)
    search_fields = ("ip", "form_key")
    date_hierarchy = "created"
    ordering = ("-created",)
    list_per_page = 50
    actions = ("release_selected", "discard_selected", "label_spam", "label_sales", "label_customer")
    fields = ("buttons", "why", "text", "created", "status", "label", "form_key", "facts", "expires_at")
    readonly_fields = fields

    # -- what a row shows ---------------------------------------------------------

    @admin.display(description=_("sender"))
    def sender(self, obj: Submission) -> str:
        return format_html(
            "{}<br><small>{}</small>", _first(obj, NAME_FIELDS) or "—", _first(obj, EMAIL_FIELDS) or obj.ip or ""
        )

    @admin.display(description=_("message"))
    def preview(self, obj: Submission) -> str:
        """The start of the message, and under it the buttons: read, then decide, in one place."""
        text = _first(obj, MESSAGE_FIELDS) or " ".join(value for _name, value in obj.fields)
        cut = text[:PREVIEW_CHARS] + ("…" if len(text) > PREVIEW_CHARS else "")
        return format_html('<div class="fg-preview">{}</div>{}', cut, self.buttons(obj))

    @admin.display(description=_("why held"), ordering="reason")
    def why(self, obj: Submission) -> str:
        why = why_held(obj) if obj.reason else "—"
        return format_html('{}<br><small class="fg-status">{}</small>', why, self.status_label(obj))

    @admin.display(description=_("status"), ordering="status")
    def status_label(self, obj: Submission) -> str:
        status = obj.get_status_display()
        return f"{status} · {obj.get_label_display()}" if obj.label else status

    @admin.display(description=_("what was sent"))
    def text(self, obj: Submission) -> str:
        rows = [(label_for(name, obj.form_key), value) for name, value in obj.fields if name != HONEYPOT_FIELD]
        return format_html(
            '<table class="fg-detail fg-submission">{}</table>',
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows),
        )

    @admin.display(description=_("sender's details"))
    def facts(self, obj: Submission) -> str:
        rows = [
            (gettext("IP"), obj.ip or "—"),
            (gettext("country"), geo.country_label(obj.country) if obj.country else "—"),
            (gettext("page language"), obj.page_language or "—"),
            (gettext("browser languages"), obj.accept_language or "—"),
            (gettext("time to fill in (seconds)"), "—" if obj.fill_seconds is None else f"{obj.fill_seconds:g}"),
            (gettext("user agent"), obj.user_agent or "—"),
        ]
        return format_html(
            '<table class="fg-detail">{}</table>', format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
        )

    @admin.display(description=_("actions"))
    def buttons(self, obj: Submission) -> str:
        """One-click buttons. They submit the page's own form (the change list's or the
        change page's, which carries the CSRF token) to this message's action URL."""
        info = self.opts.app_label, self.opts.model_name
        items = []
        if obj.status == SubmissionStatus.HELD:
            for action, title, css in BUTTONS:
                url = reverse(f"admin:{info[0]}_{info[1]}_{action}", args=[obj.pk])
                items.append(
                    format_html('<button type="submit" formaction="{}" class="{}">{}</button>', url, css, title)
                )
        for label, title in Label.choices:
            url = reverse(f"admin:{info[0]}_{info[1]}_label", args=[obj.pk, label])
            pressed = "true" if obj.label == label else "false"
            items.append(
                format_html(
                    '<button type="submit" formaction="{}" class="fg-label fg-label-{}" aria-pressed="{}">{}</button>',
                    url,
                    label,
                    pressed,
                    title,
                )
            )
        return format_html('<span class="fg-buttons">{}</span>', format_html_join("", "{}", ((i,) for i in items)))

    # -- permissions ----------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return super().changelist_view(request, {"title": _("Messages held for review"), **(extra_context or {})})

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None) -> Any:
        # Nothing to save: the page is read, and acted on with its buttons.
        extra_context = {
            "title": _("Held message"),
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    # -- one click ------------------------------------------------------------------

    def get_urls(self) -> list:
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/release/", view(self.release_view), name=f"{name}_release"),
            path("<int:pk>/discard/", view(self.discard_view), name=f"{name}_discard"),
            path("<int:pk>/label/<str:label>/", view(self.label_view), name=f"{name}_label"),
            *super().get_urls(),
        ]

    def _acted_on(self, request: HttpRequest, pk: int) -> Submission:
        if request.method != "POST" or not self.has_change_permission(request):
            raise PermissionDenied
        return get_object_or_404(Submission, pk=pk)

    def _back(self, request: HttpRequest) -> HttpResponseRedirect:
        back = request.META.get("HTTP_REFERER", "")
        if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
            back = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        return HttpResponseRedirect(back)

    def release_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        self._release(request, self._acted_on(request, pk))
        return self._back(request)

    def discard_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        self._discard(request, [self._acted_on(request, pk)])
        return self._back(request)

    def label_view(self, request: HttpRequest, pk: int, label: str) -> HttpResponse:
        submission = self._acted_on(request, pk)
        if label not in Label.values:
            raise PermissionDenied
        self._label(request, [submission], label)
        return self._back(request)

    def _release(self, request: HttpRequest, submission: Submission) -> bool:
        outcome = release.release(submission, request)
        who = _first(submission, NAME_FIELDS) or submission.ip or submission.form_key
        if outcome.delivered:
            self.log_change(request, submission, gettext("Released (sent to the staff)."))
            self.message_user(request, f"{who}: {outcome.message}", messages.SUCCESS)
        else:
            self.message_user(request, f"{who}: {outcome.message}", messages.ERROR)
        return outcome.delivered

    def _discard(self, request: HttpRequest, submissions: list[Submission]) -> None:
        discarded = 0
        for submission in submissions:
            # Only a held message: a released one was sent already.
            if Submission.objects.filter(pk=submission.pk, status=SubmissionStatus.HELD).update(
                status=SubmissionStatus.DISCARDED
            ):
                discarded += 1
                self.log_change(request, submission, gettext("Discarded."))
        self.message_user(request, gettext("%(count)d message(s) discarded.") % {"count": discarded}, messages.SUCCESS)

    def _label(self, request: HttpRequest, submissions: list[Submission], label: str) -> None:
        by = request.user.get_username()
        given = sum(labels.give(submission, label, by) for submission in submissions)
        self.message_user(
            request,
            gettext("%(count)d message(s) labelled %(label)s.") % {"count": given, "label": Label(label).label},
            messages.SUCCESS,
        )

    # -- the same, in bulk ----------------------------------------------------------

    @admin.action(description=_("Release (send) the selected messages"), permissions=["change"])
    def release_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        for submission in queryset.filter(status=SubmissionStatus.HELD):
            self._release(request, submission)

    @admin.action(description=_("Discard the selected messages"), permissions=["change"])
    def discard_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._discard(request, list(queryset))

    @admin.action(description=_("Label the selected: spam"), permissions=["change"])
    def label_spam(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._label(request, list(queryset), Label.SPAM)

    @admin.action(description=_("Label the selected: sales pitch"), permissions=["change"])
    def label_sales(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._label(request, list(queryset), Label.SALES)

    @admin.action(description=_("Label the selected: customer"), permissions=["change"])
    def label_customer(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._label(request, list(queryset), Label.CUSTOMER)


# -- labels on the incident log's pages ----------------------------------------------


def _label_incidents(request: HttpRequest, queryset: QuerySet, label: str) -> tuple[int, int]:
    """Label what the selected incidents' samples are; (labelled, without a sample)."""
    by = request.user.get_username()
    labelled = skipped = 0
    for incident in queryset:
        submission = holds.from_incident(incident)
        if submission is None:
            skipped += 1
        else:
            labelled += labels.give(submission, label, by)
    return labelled, skipped


def _incident_label_action(label: Label) -> Any:
    def label_incidents(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        labelled, skipped = _label_incidents(request, queryset, label)
        modeladmin.message_user(
            request,
            gettext("%(count)d message(s) labelled %(label)s.") % {"count": labelled, "label": label.label},
            messages.SUCCESS,
        )
        if skipped:
            modeladmin.message_user(
                request,
                gettext("%(count)d incident(s) kept no sample of what was sent: not labelled.") % {"count": skipped},
                messages.WARNING,
            )

    label_incidents.__name__ = f"label_{label.value}"
    description = format_lazy(_("Label what was sent: {label}"), label=label.label)
    return admin.action(description=description, permissions=["label"])(label_incidents)


# Actions for the incident log (admin/incidents.py): label what an incident's sample is.
INCIDENT_LABEL_ACTIONS = tuple(_incident_label_action(label) for label in Label)
