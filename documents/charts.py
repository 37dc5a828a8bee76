"""Charts for PDFs, drawn from a snapshot with the shared SVG module (inline, no JavaScript)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils.safestring import SafeString

from core.charts import Band, Point, Series, line_chart


def outcome_chart(instrument: dict[str, Any]) -> SafeString:
    points = [
        Point(
            x=date.fromisoformat(row["administered_on"]),
            y=row["total"],
            label=f"{row['administered_at']}: {row['total']}",
        )
        for row in instrument["rows"]
    ]
    return line_chart(
        series=[Series(name=instrument["name"], points=points)],
        title=f"{instrument['name']} over the course",
        y_label="Total score",
        y_min=0,
        y_max=instrument["total_max"],
        bands=[Band(low=low, high=high, label=name) for low, high, name in instrument.get("bands", [])],
        width=640,
        height=220,
    )


def vitals_chart(rows: list[dict[str, Any]], *, title: str = "Vital signs") -> SafeString:
    """Systolic, diastolic, heart rate and SpO2 over the session (x = minutes from start)."""
    names = (
        ("systolic", "Systolic mmHg"),
        ("diastolic", "Diastolic mmHg"),
        ("heart_rate", "Heart rate bpm"),
        ("spo2", "SpO2 %"),
    )
    series = [
        Series(
            name=label, points=[Point(x=row["minute"], y=row.get(key)) for row in rows if row.get("minute") is not None]
        )
        for key, label in names
    ]
    return line_chart(series=series, title=title, y_label="Value", y_min=0, width=640, height=220)


def for_snapshot(snapshot: dict[str, Any]) -> dict[str, Any]:
    """``outcomes``: (instrument, chart or None) pairs; ``vitals``: the session's vitals chart or None."""
    outcomes = [
        (instrument, outcome_chart(instrument) if len(instrument["rows"]) > 1 else None)
        for instrument in snapshot.get("outcomes", {}).get("instruments", [])
    ]
    vitals = vitals_chart(snapshot["vitals_rows"]) if snapshot.get("vitals_rows") else None
    return {"outcomes": outcomes, "vitals": vitals}
