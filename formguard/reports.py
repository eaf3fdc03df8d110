"""Reports of refusals for a period: CSV, JSON, and a Japanese report for the
spam consultation center (迷惑メール相談センター) as text, HTML and .eml.

What the center takes, plainly: it collects spam *email* (the whole mail,
with its headers) and answers no one individually; it does not take web-form
logs. The report says so, and its .eml carries in its body what mail headers
cannot (the submitter's IP, country, time, user agent and text), so staff can
send or attach it when they consult the center.

What each report holds, and why the one for the center holds spam only:
``reportrows``.

Submitted names, email addresses and the like (``REPORT_PERSONAL_FIELDS``)
are left out of every format unless asked for.

What a visitor sent (fields, user agent, path) goes through
``requesttext.shown()`` in every format: no control characters, no
bidirectional controls that reorder a line. The text report also quotes each
line of a submitted value ("> "), so that a message cannot print a section
of the report as if the site wrote it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from defusedcsv import csv
from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from . import incidents, reportrows
from .conf import conf
from .models import ActionLog, Incident, Label, Reason, Submission
from .reportrows import Report, Sender, is_personal, local, period_for_day, sample, uncounted_message
from .requesttext import shown

# Kept here for the admin, the command and sites that import them from reports.
__all__ = ["Report", "is_personal", "period_for_day", "uncounted_message"]

MAX_SAMPLES = 30


_sample, _local = sample, local
# Submissions the owner labelled spam, in the totals beside the refusals' reasons.
LABELLED_SPAM = "labelled_spam"


def build(
    since: datetime,
    until: datetime,
    *,
    form_key: str | None = None,
    include_personal: bool = False,
    site: str = "",
    spam_only: bool = False,
    leave_out: Collection[str] = (),
) -> Report:
    """Collect the refusals seen in [since, until). Pending counts are flushed first.

    ``spam_only`` (the report for the consultation center): only submissions
    with evidence of spam, and those the owner labelled spam
    (``reportrows``); closures are listed with the measures taken. Otherwise
    every refusal, and the submissions labelled spam or sales pitch.
    ``leave_out``: keys (``reportrows.key``) of rows the owner left out.
    """
    uncounted = incidents.flush_for_reading(since=since - timedelta(seconds=conf.INCIDENT_WINDOW))
    rows = reportrows.incidents(since, until, form_key, spam_only, leave_out)
    labelled = reportrows.labelled(since, until, form_key, spam_only, leave_out)

    totals_by_reason: dict[str, int] = {}
    senders: dict[str, Sender] = {}
    for row in rows:
        totals_by_reason[row.reason] = totals_by_reason.get(row.reason, 0) + row.count
        sender = senders.get(row.ip_bucket)
        if sender is None:
            sender = senders[row.ip_bucket] = Sender(
                ip_bucket=row.ip_bucket,
                ip=row.ip,
                country=row.country,
                first_seen=row.first_seen,
                last_seen=row.last_seen,
                count=0,
            )
        sender.count += row.count
        sender.first_seen = min(sender.first_seen, row.first_seen)
        sender.last_seen = max(sender.last_seen, row.last_seen)
        sender.country = sender.country or row.country
        sender.reasons[row.reason] = sender.reasons.get(row.reason, 0) + row.count
    for submission in labelled:
        if submission.label != Label.SPAM:
            continue  # sales pitches are listed apart, never counted as spam
        totals_by_reason[LABELLED_SPAM] = totals_by_reason.get(LABELLED_SPAM, 0) + 1
        ip, at = submission.ip or "", submission.created
        sender = senders.setdefault(ip, Sender(ip, ip, submission.country, at, at, 0))
        sender.count += 1
        sender.first_seen, sender.last_seen = min(sender.first_seen, at), max(sender.last_seen, at)
        sender.reasons[LABELLED_SPAM] = sender.reasons.get(LABELLED_SPAM, 0) + 1

    labels = {**dict(Reason.choices), LABELLED_SPAM: _("labelled spam by the owner")}
    totals = sorted(
        ((reason, labels.get(reason, reason), count) for reason, count in totals_by_reason.items()),
        key=lambda t: -t[2],
    )
    samples = [
        {
            "time": row.first_seen,
            "ip": row.ip,
            "country": row.country,
            "form_key": row.form_key,
            "reason": labels.get(row.reason, row.reason),
            "user_agent": shown(row.user_agent),
            "fields": _sample(row.sample, include_personal),
        }
        for row in rows
        if row.sample and _sample(row.sample, include_personal)
    ]
    samples += [
        {
            "time": row.created,
            "ip": row.ip or "",
            "country": row.country,
            "form_key": row.form_key,
            "reason": labels[LABELLED_SPAM],
            "user_agent": shown(row.user_agent),
            "fields": _sample(reportrows.submitted(row), include_personal),
        }
        for row in labelled
        if row.label == Label.SPAM
    ]
    samples = samples[:MAX_SAMPLES]
    measures = list(ActionLog.objects.filter(at__gte=since, at__lt=until).order_by("at"))
    if form_key:
        measures = [m for m in measures if m.target in (form_key, "*") or m.action in ("banned", "allowed", "lifted")]
    return Report(
        site=site or conf.REPORT_SITE_NAME or _site_from_settings(),
        since=since,
        until=until,
        generated=timezone.now(),
        form_key=form_key,
        include_personal=include_personal,
        spam_only=spam_only,
        total=sum(totals_by_reason.values()),
        totals=totals,
        # Every sending address: the spam consultation center asks for them all.
        senders=sorted(senders.values(), key=lambda s: (-s.count, s.first_seen)),
        samples=samples,
        measures=measures,
        rows=rows,
        uncounted=uncounted,
        labelled=labelled,
    )


def _site_from_settings() -> str:
    hosts = [h for h in settings.ALLOWED_HOSTS if h and not h.startswith(".") and h not in ("*", "testserver")]
    return hosts[0] if hosts else "(this site)"


# The CSV's columns, in the order ``to_csv`` writes a row's cells, headed with
# the incident log's own labels (``Incident``'s verbose names).
CSV_FIELDS = (
    *("first_seen", "last_seen", "ip", "ip_bucket", "country", "form_key"),
    *("reason", "count", "method", "path", "user_agent", "sample", "label"),
)


def _csv_heading(name: str) -> str:
    if name == "form_key":
        return str(_("form"))  # shorter than the model's "form key", as the CSV always said
    model = Submission if name == "label" else Incident
    return str(model._meta.get_field(name).verbose_name)


# A cell that starts with one of these is read by a spreadsheet as a formula
# (=, +, -, @, and | or % in some), or as a cell or row break in front of one
# (tab, CR, LF). User agents and submitted text are the attacker's to choose.
# defusedcsv covers the formula characters (and keeps negative numbers as
# numbers); it leaves the breaks, which OWASP lists too, so they are handled
# here the same way: a leading apostrophe, which Excel does not show.
_BREAKS = ("\t", "\r", "\n")


def _spreadsheet_safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_BREAKS):
        return "'" + value.replace("|", "\\|")
    return value


def to_csv(report: Report) -> bytes:
    """UTF-8 with a BOM and CRLF lines: opens right in Excel on a Japanese Windows.

    Every cell goes through defusedcsv: a refusal's user agent or sample
    never becomes a live formula when the owner opens the report.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # excel dialect: CRLF, quotes where needed
    writer.writerow([_csv_heading(name) for name in CSV_FIELDS])
    labels = dict(Reason.choices)
    for row in report.rows:
        sample = _sample(row.sample, report.include_personal)
        writer.writerow(
            _spreadsheet_safe(cell)
            for cell in [
                _local(row.first_seen),
                _local(row.last_seen),
                row.ip,
                row.ip_bucket,
                row.country,
                row.form_key,
                str(labels.get(row.reason, row.reason)),
                row.count,
                row.method,
                shown(row.path),
                shown(row.user_agent),
                json.dumps(sample, ensure_ascii=False) if sample else "",
                "",
            ]
        )
    for submission in report.labelled:
        # What the owner labelled, apart from the refusals: spam, and sales pitches.
        sample = _sample(reportrows.submitted(submission), report.include_personal)
        writer.writerow(
            _spreadsheet_safe(cell)
            for cell in [
                *(_local(submission.created), _local(submission.created), submission.ip or "", submission.ip or ""),
                *(submission.country, submission.form_key, str(labels.get(submission.reason, submission.reason))),
                *(1, "POST", shown(submission.path), shown(submission.user_agent)),
                json.dumps(sample, ensure_ascii=False) if sample else "",
                submission.get_label_display(),
            ]
        )
    message = uncounted_message(report.uncounted)
    if message:
        # Only when the counts above are not complete: a last row says so.
        writer.writerow([f"# {message}"])
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def to_json(report: Report) -> str:
    def when(moment: datetime) -> str:
        return timezone.localtime(moment).isoformat()

    payload = {
        "site": report.site,
        "since": when(report.since),
        "until": when(report.until),
        "generated": when(report.generated),
        "form_key": report.form_key,
        "total": report.total,
        # Refusals not yet in the counts below: 0 when they are exact, null when unknown.
        "uncounted": report.uncounted,
        "complete": report.uncounted == 0,
        "totals": [{"reason": r, "label": str(label), "count": c} for r, label, c in report.totals],
        "senders": [
            {
                "ip": s.ip_bucket,
                "country": s.country,
                "first_seen": when(s.first_seen),
                "last_seen": when(s.last_seen),
                "count": s.count,
                "reasons": s.reasons,
            }
            for s in report.senders
        ],
        "incidents": [
            {
                "first_seen": when(row.first_seen),
                "last_seen": when(row.last_seen),
                "ip": row.ip,
                "ip_group": row.ip_bucket,
                "country": row.country,
                "form_key": row.form_key,
                "reason": row.reason,
                "count": row.count,
                "method": row.method,
                "path": shown(row.path),
                "user_agent": shown(row.user_agent),
                "sample": _sample(row.sample, report.include_personal),
                "label": "",
            }
            for row in report.rows
        ],
        # Submissions the owner labelled ("spam" or "sales"), apart from the refusals.
        "labelled": [
            {
                "received": when(row.created),
                "ip": row.ip,
                "country": row.country,
                "form_key": row.form_key,
                "reason": row.reason,
                "label": row.label,
                "path": shown(row.path),
                "user_agent": shown(row.user_agent),
                "sample": _sample(reportrows.submitted(row), report.include_personal),
            }
            for row in report.labelled
        ],
        "measures": [
            {"at": when(m.at), "action": m.action, "target": m.target, "automatic": m.automatic, "detail": m.detail}
            for m in report.measures
        ],
    }
    return json.dumps(payload, ensure_ascii=False, indent=2)


def _context(report: Report) -> dict[str, Any]:
    return {"report": report, "recipient": conf.REPORT_RECIPIENT}


def to_text(report: Report) -> str:
    """The report for the 迷惑メール相談センター, in Japanese, as plain text."""
    with translation.override("ja"):
        return render_to_string("formguard/report/report.txt", _context(report))


def to_html(report: Report) -> str:
    """The same report as a printable HTML page."""
    with translation.override("ja"):
        return render_to_string("formguard/report/report.html", _context(report))


def to_eml(report: Report) -> bytes:
    """An .eml ready to send or attach: the text report in the body, the CSV attached."""
    with translation.override("ja"):
        subject = "【情報提供】Webフォームへの迷惑送信の記録 {site}（{since}〜{until}）".format(
            site=report.site,
            since=timezone.localtime(report.since).strftime("%Y-%m-%d %H:%M"),
            until=timezone.localtime(report.until).strftime("%Y-%m-%d %H:%M"),
        )
    message = EmailMessage(
        subject=subject,
        body=to_text(report),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[conf.REPORT_RECIPIENT] if conf.REPORT_RECIPIENT else [],
    )
    message.attach("formguard-report.csv", to_csv(report), "text/csv")
    return message.message().as_bytes()


# The formats for the consultation center hold spam only; CSV and JSON are the
# owner's own exports of every refusal.
SPAM_FORMATS = frozenset({"text", "html", "eml"})

FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "json": ("application/json; charset=utf-8", "json"),
    "text": ("text/plain; charset=utf-8", "txt"),
    "html": ("text/html; charset=utf-8", "html"),
    "eml": ("message/rfc822", "eml"),
}


def render(report: Report, fmt: str) -> bytes:
    if fmt == "csv":
        return to_csv(report)
    if fmt == "json":
        return to_json(report).encode("utf-8")
    if fmt == "text":
        return to_text(report).encode("utf-8")
    if fmt == "html":
        return to_html(report).encode("utf-8")
    if fmt == "eml":
        return to_eml(report)
    raise ValueError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")


def filename(report: Report, fmt: str) -> str:
    since = timezone.localtime(report.since).strftime("%Y%m%d")
    until = timezone.localtime(report.until - timedelta(seconds=1)).strftime("%Y%m%d")
    return f"formguard-report-{since}-{until}.{FORMATS[fmt][1]}"


def purgeable(older_than: timedelta) -> tuple[int, int]:
    """How many incidents and action log entries ``purge(older_than)`` would delete now."""
    cutoff = timezone.now() - older_than
    return (
        Incident.objects.filter(last_seen__lt=cutoff).count(),
        ActionLog.objects.filter(at__lt=cutoff).count(),
    )


def purge(older_than: timedelta) -> tuple[int, int]:
    """Delete incidents last seen, and action log entries made, before now - older_than."""
    cutoff = timezone.now() - older_than
    removed_incidents, _ = Incident.objects.filter(last_seen__lt=cutoff).delete()
    removed_actions, _ = ActionLog.objects.filter(at__lt=cutoff).delete()
    return removed_incidents, removed_actions
