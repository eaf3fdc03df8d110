"""Numbers and charts for the admin dashboard: refusals over time by reason,
top IPs and countries, bans in force and closed forms; and this week's
inquiries whose reply is at risk (carrier and China mailboxes, counts only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, Sum
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from . import escalation, holds, incidents, replyhints
from .models import BlockRule, FormPolicy, Incident, Reason

# Colours that read on the admin's light and dark themes alike.
REASON_COLOURS = {
    Reason.CLOSED: "#8c6bb1",
    Reason.BLACKLISTED: "#d62728",
    Reason.AUTO_BANNED: "#ff7f0e",
    Reason.COUNTRY: "#1f77b4",
    Reason.RATE_LIMITED: "#e6ab02",
    Reason.BURST: "#a6761d",
    Reason.HONEYPOT: "#e377c2",
    Reason.TOO_FAST: "#bcbd22",
    Reason.FORM_EXPIRED: "#9edae5",
    Reason.BAD_TOKEN: "#c49c94",
    Reason.NOT_JAPANESE: "#393b79",
    Reason.LINKS: "#637939",
    Reason.NG_WORDS: "#843c39",
    Reason.EMAIL_IN_MESSAGE: "#7b4173",
    Reason.DISPOSABLE_EMAIL: "#5254a3",
    Reason.RECIPIENT_LIMIT: "#8ca252",
    Reason.FLOOD: "#e7298a",
    Reason.CAPTCHA: "#2ca02c",
    Reason.CAPTCHA_UNAVAILABLE: "#7f7f7f",
    Reason.CACHE_UNAVAILABLE: "#17becf",
}

CHART_WIDTH = 720
CHART_HEIGHT = 180


@dataclass
class Chart:
    title: str
    bars: list[dict[str, Any]]
    legend: list[dict[str, str]]
    max_total: int
    total: int
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT


def _chart(title: str, since: datetime, step: timedelta, steps: int, trunc: Any, label_format: str) -> Chart:
    rows = (
        Incident.objects.filter(first_seen__gte=since, monitor_only=False)
        .annotate(bucket=trunc("first_seen"))
        .values("bucket", "reason")
        .annotate(total=Sum("count"))
    )
    counts: dict[tuple[datetime, str], int] = {}
    for row in rows:
        counts[(timezone.localtime(row["bucket"]), row["reason"])] = row["total"]
    start = timezone.localtime(since)
    if step >= timedelta(days=1):
        start = start.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        start = start.replace(minute=0, second=0, microsecond=0)
    reasons = [r for r in Reason.values if any(reason == r for _, reason in counts)]
    buckets = [start + step * i for i in range(steps)]
    totals = [sum(counts.get((b, r), 0) for r in reasons) for b in buckets]
    max_total = max(totals, default=0) or 1
    slot = CHART_WIDTH / steps
    bars = []
    for i, bucket in enumerate(buckets):
        y = CHART_HEIGHT
        segments = []
        for reason in reasons:
            value = counts.get((bucket, reason), 0)
            if not value:
                continue
            height = value / max_total * (CHART_HEIGHT - 10)
            y -= height
            segments.append(
                {
                    "y": round(y, 1),
                    "height": round(max(height, 1), 1),
                    "colour": REASON_COLOURS[reason],
                    "reason": Reason(reason).label,
                    "value": value,
                }
            )
        bars.append(
            {
                "x": round(i * slot + 1, 1),
                "width": round(max(slot - 2, 1), 1),
                "segments": segments,
                "label": bucket.strftime(label_format),
                "show_label": i % max(1, steps // 8) == 0,
                "total": totals[i],
            }
        )
    legend = [{"reason": Reason(r).label, "colour": REASON_COLOURS[r]} for r in reasons]
    return Chart(title=title, bars=bars, legend=legend, max_total=max(totals, default=0), total=sum(totals))


def build(now: datetime | None = None) -> dict[str, Any]:
    from django.utils.translation import gettext as _

    uncounted = incidents.flush_for_reading()
    now = now or timezone.now()
    hourly_since = now - timedelta(hours=47)
    daily_since = now - timedelta(days=29)
    week = now - timedelta(days=7)
    recent = Incident.objects.filter(last_seen__gte=week, monitor_only=False)
    top_ips = list(recent.values("ip_bucket").annotate(total=Sum("count")).order_by("-total", "ip_bucket")[:10])
    countries = dict(recent.exclude(country="").values_list("ip_bucket", "country"))
    for row in top_ips:
        row["country"] = countries.get(row["ip_bucket"], "")
    top_countries = list(
        recent.exclude(country="").values("country").annotate(total=Sum("count")).order_by("-total", "country")[:10]
    )
    in_force = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    bans = BlockRule.objects.filter(in_force, kind=BlockRule.Kind.BLOCK)
    closed = [p for p in FormPolicy.objects.filter(closed=True) if p.is_closed_at(now)]
    keys = FormPolicy.objects.exclude(flood_limit="off").values_list("form_key", flat=True)
    escalated = [e for e in (escalation.current(key, now) for key in keys) if e is not None]
    return {
        "hourly": _chart(
            _("Refusals per hour, last 48 hours"), hourly_since, timedelta(hours=1), 48, TruncHour, "%H:00"
        ),
        "daily": _chart(_("Refusals per day, last 30 days"), daily_since, timedelta(days=1), 30, TruncDay, "%m/%d"),
        "top_ips": top_ips,
        "top_countries": top_countries,
        "ban_count": bans.count(),
        "latest_bans": list(bans.order_by("-created_at")[:10]),
        "closed_forms": closed,
        "site_closed": any(p.is_site_wide for p in closed),
        "escalated_forms": escalated,
        "week_total": recent.aggregate(total=Sum("count"))["total"] or 0,
        # Counted in formguard's store per ISO week, from every process: no
        # addresses, no rows, one small counter per kind and week.
        "replies_at_risk": replyhints.week_counts(now),
        "uncounted": uncounted,
        # Messages waiting in the review inbox (docs/review.md).
        "held_count": holds.held_count(),
    }
