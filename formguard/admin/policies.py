"""Form policies: the close switch, and each form's values over the site-wide row's."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, ngettext, pgettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from .. import captcha, escalation, geo, learning, policies
from ..models import SITE_WIDE, CountryMode, FormPolicy
from .base import FormGuardAdmin
from .policy_form import FormPolicyForm, describe_value, inherited_text


def _close(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, hours: int | None) -> None:
    until = timezone.now() + timedelta(hours=hours) if hours else None
    for row in queryset:
        policies.set_closed(row.form_key, True, until=until)
    count = queryset.count()
    modeladmin.message_user(
        request,
        ngettext("Closed %(count)d form.", "Closed %(count)d forms.", count) % {"count": count},
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
    count = queryset.count()
    modeladmin.message_user(
        request,
        ngettext("Reopened %(count)d form.", "Reopened %(count)d forms.", count) % {"count": count},
        messages.SUCCESS,
    )


# Named as Django's delete action, which it replaces on this list (a ModelAdmin's
# own action wins over the site's of the same name).
@admin.action(description=django_delete_selected.short_description, permissions=["delete"])
def delete_selected(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
    """Django's delete action, without the site-wide row (it would only come back with defaults)."""
    if queryset.filter(form_key=SITE_WIDE).exists():
        modeladmin.message_user(
            request, _("The site-wide default cannot be deleted; it was left out."), messages.WARNING
        )
        queryset = queryset.exclude(form_key=SITE_WIDE)
        if not queryset.exists():
            return None
    return django_delete_selected(modeladmin, request, queryset)


@admin.register(FormPolicy)
class FormPolicyAdmin(FormGuardAdmin):
    form = FormPolicyForm
    # Few, short columns: the list fits 1280 px beside the admin's sidebar.
    list_display = ["__str__", "state", "switch", "protection", "rate", "captcha", "countries"]
    list_display_links = ["__str__"]
    actions = [close_forms, close_forms_1h, close_forms_24h, reopen_forms, delete_selected]
    search_fields = ["form_key"]
    readonly_fields = ["updated_at", "filter_report"]
    # One fieldset per topic: other issues add their fields to theirs.
    fieldsets = [
        (None, {"fields": ["form_key", "enabled", "monitor_only"]}),
        (
            _("Emergency close"),
            {
                "fields": [
                    "closed",
                    "closed_until",
                    "closure_message_ja",
                    "closure_message_en",
                    "closed_message_ja",
                    "closed_message_en",
                ]
            },
        ),
        (_("Captcha"), {"fields": ["captcha_required", "captcha_min_score", "captcha_difficulty"]}),
        (
            _("Country filter (GeoIP)"),
            {"fields": ["country_mode", "allowed_countries", "unknown_country", "private_country"]},
        ),
        (
            _("Bot traps and content rules"),
            {
                "fields": list(policies.TRAP_FIELDS),
                "description": _(
                    "What each trap or rule does to a submission it catches: refuse (the form comes back with "
                    "an error and everything typed), require the captcha, or, for signals no person sends, "
                    "pretend it was sent (the incident keeps the message, to rescue it). Empty: the site-wide default."
                ),
            },
        ),
        (
            _("Held messages and the filter you teach"),
            {
                "fields": ["filter_report", *policies.REVIEW_FIELDS],
                "description": _(
                    "What a check holds waits in the review inbox: the visitor sees the usual thanks, nothing "
                    "reaches the staff until you release it. Label messages 迷惑 (spam), 営業 (sales pitch) or "
                    "お客様 (customer) and the filter learns; it acts only once it has enough labels of each kind."
                ),
            },
        ),
        (
            _("Under a flood"),
            {
                "fields": list(policies.FLOOD_FIELDS),
                "description": _(
                    "When more submissions than the limit arrive from everyone together, formguard raises the bar "
                    "instead of closing: every message must pass the captcha and the bot traps refuse where they would "
                    "ask for it. Customers still get through. The admins get one mail; it ends by itself."
                ),
            },
        ),
        (
            _("Rate limit and automatic bans"),
            {
                "fields": list(policies.RATE_LIMIT_FIELDS),
                "description": _("On a form's row, leave a field empty to use the site-wide default."),
            },
        ),
        (
            _("IPv6 networks"),
            {
                "fields": ["ipv6_network_prefix", "ipv6_network_rate_limit", "ipv6_network_burst_count"],
                "classes": ["collapse"],
            },
        ),
        (None, {"fields": ["updated_at"]}),
    ]

    def has_delete_permission(self, request: HttpRequest, obj: FormPolicy | None = None) -> bool:
        if obj is not None and obj.is_site_wide:
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        super().delete_queryset(request, queryset.exclude(form_key=SITE_WIDE))

    def _notices(self, request: HttpRequest) -> None:
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
        if provider is None and FormPolicy.objects.exclude(flood_limit__in=["", "off"]).exists():
            self.message_user(
                request,
                _(
                    "The flood breaker is on but no captcha is configured: under a flood formguard can only make "
                    "the bot traps strict, and a flood that passes them reaches you. Set FORMGUARD['CAPTCHA'] "
                    "(the self-hosted ALTCHA needs no outside service)."
                ),
                messages.WARNING,
            )
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
        hiding = policies.forms_hiding_without_contacts()
        if hiding:
            self.message_user(
                request,
                _(
                    "The form is hidden from some countries (%(forms)s), but there is no alternative contact: "
                    "those visitors have no way to reach you. Add one under “Alternative contacts”."
                )
                % {"forms": ", ".join(hiding)},
                messages.WARNING,
            )

    def _escalations(self, request: HttpRequest, form_keys: list[str]) -> None:
        now = timezone.now()
        for form_key in form_keys:
            found = escalation.current(form_key, now)
            if found is not None:
                label = gettext("every form (site-wide)") if form_key == SITE_WIDE else form_key
                self.message_user(request, f"[{label}] {found.describe()}", messages.WARNING)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if request.method == "GET":
            self._notices(request)
            self._escalations(request, list(FormPolicy.objects.values_list("form_key", flat=True)))
        return super().changelist_view(request, extra_context)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None):
        if request.method == "GET":
            self._notices(request)
            row = self.get_object(request, object_id)
            if row is not None:
                self._escalations(request, [row.form_key])
        return super().change_view(request, object_id, form_url, extra_context)

    # -- close and reopen in one click (the list and the dashboard) --

    def get_urls(self) -> list:
        switch = self.admin_site.admin_view(require_POST(self.switch_view))
        return [path("switch/<str:how>/", switch, name="formguard_formpolicy_switch"), *super().get_urls()]

    def switch_view(self, request: HttpRequest, how: str) -> HttpResponse:
        """Close (until reopened) or reopen the posted ``form_key``, then back to the page the button was on."""
        if not self.has_change_permission(request) or how not in ("close", "open"):
            raise PermissionDenied
        form_key, closing = request.POST.get("form_key", ""), how == "close"
        row = FormPolicy.objects.filter(form_key=form_key).first()
        if row is None:
            self.message_user(request, gettext("No such form: %(form)s") % {"form": form_key}, messages.ERROR)
        else:
            self._as_user(request, lambda request: policies.set_closed(form_key, closing))
            name = gettext("every form (site-wide)") if row.is_site_wide else row.form_key
            text = (gettext("Closed: %(form)s") if closing else gettext("Reopened: %(form)s")) % {"form": name}
            self.message_user(request, text, messages.WARNING if closing else messages.SUCCESS)
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, {request.get_host()}, require_https=request.is_secure()):
            back = reverse("admin:formguard_formpolicy_changelist")
        return HttpResponseRedirect(back)

    @admin.display(description=_("state"))
    def state(self, obj: FormPolicy) -> str:
        now = timezone.now()
        state = policies.state_of(obj, now)
        if state.closed:
            return format_html('<strong class="fg-closed">{}</strong>', state.text)
        found = escalation.current(obj.form_key, now)
        if found is not None:
            return format_html(
                '<span class="fg-open">{}</span><br><strong class="fg-escalated" title="{}">{}</strong>',
                state.text,
                found.describe(),
                gettext("captcha for everyone until %(time)s") % {"time": policies.local_time(found.until)},
            )
        return format_html('<span class="fg-open">{}</span>', state.text)

    @admin.display(description=_("switch"))
    def switch(self, obj: FormPolicy) -> str:
        # Inside the list's own form (no nested form): the button posts it to the switch.
        how = "open" if obj.is_closed_at(timezone.now()) else "close"
        return format_html(
            '<button type="submit" class="fg-switch button" formaction="{}" formmethod="post" '
            'name="form_key" value="{}">{}</button>',
            reverse("admin:formguard_formpolicy_switch", args=[how]),
            obj.form_key,
            # With a context: Django's own "Close" (閉じる, of a window) would win over formguard's.
            gettext("Reopen") if how == "open" else pgettext("close the form", "Close"),
        )

    def _value(self, obj: FormPolicy, field: str) -> str:
        own = getattr(obj, field)
        if obj.is_site_wide or own not in (None, ""):
            return describe_value(field, own) if own not in (None, "") else "—"
        # fg-value: broken between words ("サイト全体:" / "5回/10分"), never a lone "し" of "なし".
        return format_html(
            '<span class="fg-inherited fg-value" title="{}">{}</span>',
            inherited_text(field),
            gettext("site-wide: %(value)s") % {"value": describe_value(field, policies.site_value(field))},
        )

    @admin.display(description=_("protection"))
    def protection(self, obj: FormPolicy) -> str:
        policy = policies.get_policy(obj.form_key)
        if not policy.enabled:
            return gettext("not checked")
        if policy.monitor_only:
            return gettext("monitor only")
        return gettext("on")

    @admin.display(description=_("how the filter does"))
    def filter_report(self, obj: FormPolicy | None) -> str:
        # Cross-validated on the owner's own labels (learning.report keeps the
        # figures per model change): the site has one model, every form's page shows it.
        minimum = policies.get_policy(obj.form_key if obj and obj.form_key else SITE_WIDE).filter_min_labels
        lines = learning.report(minimum)
        return format_html_join("", '<p class="fg-filter-report">{}</p>', ((line,) for line in lines))

    @admin.display(description=_("rate limit"))
    def rate(self, obj: FormPolicy) -> str:
        return self._value(obj, "rate_limit")

    @admin.display(description=_("captcha required"))
    def captcha(self, obj: FormPolicy) -> str:
        return self._value(obj, "captcha_required")

    @admin.display(description=_("country filter"))
    def countries(self, obj: FormPolicy) -> str:
        return self._value(obj, "country_mode")

    def get_readonly_fields(self, request: HttpRequest, obj: FormPolicy | None = None) -> list[str]:
        if obj is not None:
            return [*self.readonly_fields, "form_key"]
        return list(self.readonly_fields)
