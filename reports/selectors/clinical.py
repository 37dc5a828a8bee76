"""Clinical quality: response and remission by indication and instrument over time.

Thresholds come from ``assessments.instruments`` (one source with the pure
``change()`` rule); the time windows below are clinic policy.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef, Subquery, Value
from django.utils import timezone

from assessments.instruments import (
    CHANGE_CODES,
    INSTRUMENTS,
    MADRS_REMISSION_MAX_DEFAULT,
    PHQ9_MEASURE_MIN_BASELINE,
    PHQ9_REMISSION_MAX,
    QIDS_REMISSION_MAX,
    RESPONSE_MIN_REDUCTION_PERCENT,
)
from assessments.models import InstrumentResponse, ResponseContext
from consultations.choices import INDICATION_SHORT, PlanStatus
from consultations.models import Consultation, TreatmentPlan
from core import charts
from reports.sql import local_date, utc_window
from reports.tables import Column, Section, one_decimal, rate

# Clinic policy (no clinical source gives windows): days after the baseline in which a
# score counts for each time point; the latest score in the window is used.
TIME_POINTS: tuple[tuple[str, str, int, int], ...] = (
    ("eoi", "End of induction", 14, 42),
    ("m3", "3 months", 76, 104),
    ("m6", "6 months", 166, 194),
)
RESPONSE_CODES = ("phq9", "madrs")  # the instruments the reference gives a response rule for
REMISSION_MAX = {"phq9": PHQ9_REMISSION_MAX, "madrs": MADRS_REMISSION_MAX_DEFAULT, "qids_sr16": QIDS_REMISSION_MAX}


_FU = tuple(f"fu_{key}" for key, *_ in TIME_POINTS)


def _aggregate(per_baseline, *, now: datetime) -> list[dict]:
    """Group the per-baseline rows by indication and instrument.

    Done over the per-baseline rows as a derived table so that each follow-up
    subquery runs once per baseline; aggregating the ORM annotations directly
    would repeat every subquery inside every aggregate that reads it.
    """
    inner_sql, params = per_baseline.query.get_compiler(using=per_baseline.db).as_sql()
    applicable = f"NOT (instrument = 'phq9' AND total < {int(PHQ9_MEASURE_MIN_BASELINE)})"
    responds = "instrument IN ('phq9', 'madrs')"
    remits = "instrument IN ('phq9', 'madrs', 'qids_sr16')"
    columns, outer_params = ["COUNT(*) AS baseline_n"], []
    for key, _, _, high in TIME_POINTS:
        fu = f"fu_{key}"
        has = f"{fu} IS NOT NULL"
        closed = "administered_at < %s"
        outer_params += [now - timedelta(days=high + 1)] * 2
        remitted = " OR ".join(f"(instrument = '{code}' AND {fu} <= {int(top)})" for code, top in REMISSION_MAX.items())
        keep = 100 - int(RESPONSE_MIN_REDUCTION_PERCENT)
        columns += [
            f"COUNT(*) FILTER (WHERE {has}) AS {key}_n",
            f"COUNT(*) FILTER (WHERE NOT ({has}) AND {closed}) AS {key}_lost",
            f"COUNT(*) FILTER (WHERE NOT ({has}) AND NOT ({closed})) AS {key}_pending",
            f"COUNT(*) FILTER (WHERE {has} AND {responds} AND {applicable}) AS {key}_resp_den",
            f"COUNT(*) FILTER (WHERE {has} AND {responds} AND {applicable} AND {fu} * 100 <= total * {keep})"
            f" AS {key}_resp",
            f"COUNT(*) FILTER (WHERE {has} AND {remits} AND {applicable}) AS {key}_rem_den",
            f"COUNT(*) FILTER (WHERE {has} AND {remits} AND {applicable} AND ({remitted})) AS {key}_rem",
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {fu} - total) AS {key}_median_change",
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY ({fu} - total) * 100.0 / NULLIF(total, 0))"
            f" AS {key}_median_pct",
        ]
    # Only constants and our own column names are interpolated; values travel as parameters.
    sql = (
        f"SELECT indication, instrument, {', '.join(columns)} "  # noqa: S608
        f"FROM ({inner_sql}) AS per_baseline GROUP BY indication, instrument ORDER BY indication, instrument"
    )
    # The "closed" cut-offs come first in the SELECT list, before the derived table's parameters.
    with connection.cursor() as cursor:
        cursor.execute(sql, [*outer_params, *params])
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _current(qs):
    return qs.filter(superseded_by__isnull=True)


def outcome_rows(f: dict, *, now: datetime) -> list[dict]:
    baselines = _current(InstrumentResponse.objects.filter(context=ResponseContext.BASELINE)).filter(
        instrument__in=sorted(CHANGE_CODES)
    )
    low, high = utc_window(f["start"], f["end"])
    baselines = (
        baselines.filter(administered_at__gte=low, administered_at__lt=high)
        .alias(day=local_date("administered_at", Value(settings.TIME_ZONE)))
        .filter(day__gte=f["start"], day__lte=f["end"])
    )
    if f["location"] is not None:
        baselines = baselines.filter(
            Exists(Consultation.objects.filter(patient=OuterRef("patient"), appointment__location=f["location"]))
        )
    indication = Subquery(
        TreatmentPlan.objects.filter(patient=OuterRef("patient"))
        .exclude(status=PlanStatus.DRAFT)
        .order_by("created_at")
        .values("indication")[:1]
    )
    qs = baselines.annotate(indication=indication).filter(indication__isnull=False)
    for key, _, first_day, last_day in TIME_POINTS:
        later = _current(
            InstrumentResponse.objects.filter(
                patient=OuterRef("patient"),
                instrument=OuterRef("instrument"),
                administered_at__gte=OuterRef("administered_at") + timedelta(days=first_day),
                administered_at__lt=OuterRef("administered_at") + timedelta(days=last_day + 1),
            ).exclude(context=ResponseContext.BASELINE)
        )
        qs = qs.annotate(**{f"fu_{key}": Subquery(later.order_by("-administered_at", "-id").values("total")[:1])})

    grouped = _aggregate(qs.values("indication", "instrument", "total", "administered_at", *_FU), now=now)
    rows = []
    for g in grouped:
        for key, label, _, _ in TIME_POINTS:
            rows.append(
                {
                    "indication": INDICATION_SHORT.get(g["indication"], g["indication"]),
                    "instrument": INSTRUMENTS[g["instrument"]].name,
                    "instrument_code": g["instrument"],
                    "time_point": label,
                    "baseline_n": g["baseline_n"],
                    "followup_n": g[f"{key}_n"],
                    "lost": g[f"{key}_lost"],
                    "pending": g[f"{key}_pending"],
                    "response_den": g[f"{key}_resp_den"] if g["instrument"] in RESPONSE_CODES else None,
                    "response_n": g[f"{key}_resp"] if g["instrument"] in RESPONSE_CODES else None,
                    "response_rate": rate(g[f"{key}_resp"], g[f"{key}_resp_den"])
                    if g["instrument"] in RESPONSE_CODES
                    else None,
                    "remission_den": g[f"{key}_rem_den"] if g["instrument"] in REMISSION_MAX else None,
                    "remission_n": g[f"{key}_rem"] if g["instrument"] in REMISSION_MAX else None,
                    "remission_rate": rate(g[f"{key}_rem"], g[f"{key}_rem_den"])
                    if g["instrument"] in REMISSION_MAX
                    else None,
                    "median_change": one_decimal(g[f"{key}_median_change"]),
                    "median_pct": one_decimal(g[f"{key}_median_pct"]),
                }
            )
    return rows


OUTCOME_COLUMNS = [
    Column("indication", "Indication", False),
    Column("instrument", "Instrument", False),
    Column("time_point", "Time point", False),
    Column("baseline_n", "Baseline n"),
    Column("followup_n", "Follow-up n"),
    Column("lost", "Lost to follow-up"),
    Column("pending", "Window still open"),
    Column("response_den", "Response denominator"),
    Column("response_n", "Responders"),
    Column("response_rate", "Response %"),
    Column("remission_den", "Remission denominator"),
    Column("remission_n", "Remitters"),
    Column("remission_rate", "Remission %"),
    Column("median_change", "Median change (points)"),
    Column("median_pct", "Median change %"),
]


def outcomes(f: dict) -> Section:
    rows = outcome_rows(f, now=timezone.now())
    windows = "; ".join(f"{label}: days {low}–{high}" for _, label, low, high in TIME_POINTS)
    chart_rows = [r for r in rows if r["response_rate"] is not None or r["remission_rate"] is not None]
    chart = charts.bar_chart(
        categories=[f"{r['indication']} {r['instrument_code']} {r['time_point']}" for r in chart_rows],
        series=[
            ("Response %", [r["response_rate"] for r in chart_rows]),
            ("Remission %", [r["remission_rate"] for r in chart_rows]),
        ],
        title="Response and remission by indication, instrument and time point",
        y_label="% of follow-up n",
    )
    return Section(
        key="outcomes",
        title="Response and remission",
        columns=OUTCOME_COLUMNS,
        rows=rows,
        chart=chart,
        definitions=[
            (
                "Baseline n",
                "Current (not superseded) baseline scores dated in the range, of patients with a "
                "treatment plan that left draft; the indication is that of the patient's first such plan.",
            ),
            (
                "Time point",
                f"The latest later score of the same instrument in a window after the baseline "
                f"(clinic policy): {windows}.",
            ),
            ("Follow-up n", "Baselines with a score in the window."),
            ("Lost to follow-up", "Baselines whose window has closed with no score in it."),
            ("Window still open", "Baselines whose window has not closed yet and has no score so far."),
            (
                "Response",
                f"A fall of at least {RESPONSE_MIN_REDUCTION_PERCENT}% from baseline; defined for "
                "PHQ-9 [S37] and MADRS [S3b] only (— for the others).",
            ),
            (
                "Remission",
                f"Follow-up score ≤ {PHQ9_REMISSION_MAX} (PHQ-9, i.e. <5) [S37], ≤ "
                f"{MADRS_REMISSION_MAX_DEFAULT} (MADRS) [S89], ≤ {QIDS_REMISSION_MAX} (QIDS-SR16) [S91]; "
                "— where the instrument has no remission rule.",
            ),
            (
                "Denominators",
                f"Follow-up n, except that PHQ-9 response and remission count only baselines of "
                f"{PHQ9_MEASURE_MIN_BASELINE} or more (NQF measure rule [S37]).",
            ),
            (
                "Median change",
                "Follow-up minus baseline total (negative = improvement), and the same as a "
                "percentage of the baseline (baselines of 0 left out).",
            ),
        ],
    )


def clinical_quality(f: dict) -> list[Section]:
    return [outcomes(f)]
