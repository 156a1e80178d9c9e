"""The weekly report: its numbers as a stored payload, its text, and its chart.

The payload is computed once, when the report is requested (the Monday job, or a command), and
stored with the delivery row; the text and the chart are drawn from that payload when it is sent.
So a retry after a crash sends the same numbers, and the report says what was true at 09:00 on
Monday even if it goes out later.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot import networks
from bot.reports import incidents, metrics
from bot.reports.metrics import Metrics, Period, Unit

WEEKS = 8


def _numbers(m: Metrics) -> dict[str, Any]:
    out = asdict(m)
    out["kept_rate"] = m.kept_rate
    return out


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def payload(
    session: Session,
    *,
    now: datetime,
    tz: str,
    scope: str = "week",
    person: str | None = None,
    complete_weeks: bool = True,
) -> dict[str, Any]:
    """Everything the report shows, as JSON values.

    ``complete_weeks``: the Monday report covers the last whole week (the new one has just begun);
    a command asks about the current week so far. ``scope`` "month" puts the last four weeks in the
    headline instead of one. ``person`` narrows the headline to one person.
    """
    anchor = now - timedelta(days=7) if complete_weeks else now
    spans = metrics.last_periods(anchor, WEEKS, Unit.WEEK, tz)
    report = metrics.compute(session, spans, unit=Unit.WEEK, tz=tz, now=now, person=person)
    days = metrics.periods(spans[0].start.astimezone(ZoneInfo(tz)).date(), WEEKS * 7, Unit.DAY, tz)
    daily = metrics.daily_complaints(session, days)
    if scope == "month":
        headline = Period(f"{spans[-4].label} to {spans[-1].label}", spans[-4].start, spans[-1].end)
        before_spans = [Period("the 4 weeks before", spans[-8].start, spans[-5].end)]
        pair = metrics.compute(session, [*before_spans, headline], unit=Unit.WEEK, tz=tz, now=now, person=person)
        groups = pair.groups
    else:
        headline = spans[-1]
        groups = {key: rows[-2:] for key, rows in report.groups.items()}
    label = headline.label
    # An incident is the team's, not one person's: the team's report only, and only when there was one.
    outages = incidents.week_numbers(session, headline) if person is None else incidents.WeekNumbers()
    group = ("person", person) if person else ("team", "")
    current = groups.get(group, [Metrics(), Metrics()])
    oldest = report.oldest_open.get(group)
    team = report.team
    return {
        "title": f"Followthrough — {label}" + (" so far" if not complete_weeks and scope == "week" else ""),
        "period": label,
        "scope": scope,
        "person": person,
        "tz": tz,
        "as_of": now.isoformat(),
        "current": _numbers(current[-1]),
        "previous": _numbers(current[0]),
        "people": {
            key: _numbers(rows[-1])
            for (kind, key), rows in groups.items()
            if kind == "person" and rows[-1] != Metrics()
        },
        "networks": {key: _numbers(rows[-1]) for (kind, key), rows in groups.items() if kind == "network"},
        "costs": networks.usage_lines(session, now),
        "incidents": asdict(outages) if outages else None,
        "oldest_open": None
        if oldest is None
        else {
            "promise_id": oldest.promise_id,
            "complaint_id": oldest.complaint_id,
            "owner": oldest.owner_id,
            "since": oldest.created_at.isoformat(),
        },
        "chart": {
            "days": [p.label for p in days],
            "complaints_per_day": daily,
            "weeks": [p.label for p in spans],
            "kept_rate": [m.kept_rate for m in team],
            "response_median_min": [_minutes(m.first_response_median_s) for m in team],
            "response_p90_min": [_minutes(m.first_response_p90_s) for m in team],
        },
    }


def is_empty(report: dict[str, Any]) -> bool:
    """Nothing came in, was answered, promised or settled in the reported period, and no incident
    was detected, updated or resolved in it."""
    c = report["current"]
    return not report.get("incidents") and not any(
        c[k] for k in ("complaints_in", "first_responses", "promises_made", "kept_on_time", "kept_late", "broken")
    )


def chart_png(report: dict[str, Any]) -> bytes:
    from bot.reports import charts  # matplotlib loads only where a chart is drawn

    return charts.render_png(charts.ChartData(title=report["title"], **report["chart"]))


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes = seconds / 60
    if minutes < 90:
        return f"{minutes:.0f} min"
    hours = minutes / 60
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def short_duration(seconds: float | None) -> str:
    """``duration``, in seconds under a minute and a half: an incident is often found within a minute
    of the post that made it one, and "0 min" would hide by how much."""
    if seconds is not None and abs(seconds) < 90:
        return f"{seconds:.0f} s"
    return duration(seconds)


def incident_line(i: dict[str, Any]) -> str:
    """The week's incidents: how many and how big, then how fast — each median with how many it is of."""
    return (
        f"Incidents: {i['detected']} detected, {i['customers']} customers affected"
        f" · time to detect: median {short_duration(i['detect_median_s'])}"
        f" · to first public update: median {short_duration(i['first_update_median_s'])} ({i['updated']} updated)"
        f" · to resolve: median {short_duration(i['resolve_median_s'])} ({i['resolved']} resolved)"
    )


def percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.0f}%"


def arrow(now: float | None, before: float | None, *, lower_is_better: bool = False) -> str:
    """An arrow and the change against the period before; words too, so screen readers say it."""
    if now is None or before is None:
        return ""
    if abs(now - before) < 1e-9:
        return " → same as before"
    up = now > before
    better = up != lower_is_better
    return f" {'↑' if up else '↓'} ({'better' if better else 'worse'} than {before_text(before, lower_is_better)})"


def before_text(value: float, lower_is_better: bool) -> str:
    return duration(value) if lower_is_better else (f"{value * 100:.0f}%" if value <= 1 else f"{value:g}")


def headline_lines(report: dict[str, Any]) -> list[str]:
    """The numbers in words, for the message text (screen readers, search) and the command."""
    c, p = report["current"], report["previous"]
    kept = c["kept_on_time"] + c["kept_late"] + c["broken"]
    lines = [
        f"*Promises kept on time: {percent(c['kept_rate'])}*{arrow(c['kept_rate'], p['kept_rate'])}"
        f" — {c['kept_on_time']} of {kept} settled ({c['kept_late']} late, {c['broken']} broken);"
        f" {c['promises_made']} made, {c['rescheduled']} reschedule(s) of {c['rescheduled_promises']} promise(s)",
        f"Complaints in: {c['complaints_in']}"
        + (f" (before: {p['complaints_in']})" if report.get("person") is None else "")
        + f" · claimed {c['claimed']} · resolved {c['resolved']} · reopened {c['reopened']}",
        f"First response: median {duration(c['first_response_median_s'])}"
        f"{arrow(c['first_response_median_s'], p['first_response_median_s'], lower_is_better=True)},"
        f" 90% within {duration(c['first_response_p90_s'])}",
        f"Time to claim: median {duration(c['claim_median_s'])}, 90% within {duration(c['claim_p90_s'])}"
        f" · to resolve: median {duration(c['resolve_median_s'])}, 90% within {duration(c['resolve_p90_s'])}",
    ]
    if report.get("person") is None and report.get("incidents"):  # a report stored before incidents has none
        lines.append(incident_line(report["incidents"]))
    oldest = report.get("oldest_open")
    if oldest:
        since = datetime.fromisoformat(oldest["since"])
        made = f"<!date^{int(since.timestamp())}^{{date_short}}|{since.date().isoformat()}>"
        lines.append(f"Oldest open promise: on #{oldest['complaint_id']}, <@{oldest['owner']}>'s, made {made}")
    if report.get("person") is None and report["people"]:
        people = sorted(report["people"].items(), key=lambda kv: -(kv[1]["kept_on_time"] + kv[1]["claimed"]))[:10]
        lines.append(
            "Per person: "
            + " · ".join(
                f"<@{user}> {_kept(m)}, first response {duration(m['first_response_median_s'])}" for user, m in people
            )
        )
    if report.get("person") is None and report["networks"]:
        lines.append(
            "Per network: "
            + " · ".join(
                f"{name} {m['complaints_in']} in, first response {duration(m['first_response_median_s'])}"
                for name, m in sorted(report["networks"].items())
            )
        )
    if report.get("person") is None:
        lines.extend(report.get("costs") or [])
    return lines


def _kept(m: dict[str, Any]) -> str:
    settled = m["kept_on_time"] + m["kept_late"] + m["broken"]
    return f"kept {percent(m['kept_rate'])} of {settled} on time" if settled else "no promises settled"


def text(report: dict[str, Any]) -> str:
    who = f" for <@{report['person']}>" if report.get("person") else ""
    return f"*{report['title']}*{who}\n" + "\n".join(headline_lines(report))


def alt_text(report: dict[str, Any]) -> str:
    chart = report["chart"]
    rates = ", ".join(percent(r) for r in chart["kept_rate"])
    return (
        f"Chart for {report['period']}: complaints per day over {len(chart['days'])} days"
        f" (total {sum(chart['complaints_per_day'])}); promises kept on time per week: {rates};"
        " median and 90th-percentile first response time per week."
    )[:1000]
