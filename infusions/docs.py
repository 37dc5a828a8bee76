"""The infusion day's part of docs/clinical-rules.md, generated from ``infusions.rules``."""

from __future__ import annotations

from infusions import rules
from infusions.models.flowsheet import AdverseEventKind


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|")


def _unit(value: object, unit: str) -> str:
    return f"{value} {unit}".strip()


def clinical_rules_section() -> list[str]:
    lines = [
        "## Infusion day: safety settings (administrator-editable: Admin → Infusion policy)",
        "",
        "Every setting ships with a default and hard bounds (form validators and a database check constraint); "
        "none can be blank, and `manage.py check --deploy` fails (grace.E101) if a stored one is. A default with a "
        "source key comes from the clinical reference; *clinic policy* means the reference gives no number and the "
        "clinic must confirm it.",
        "",
        "| Group | Setting | Default | Allowed | Source | Note |",
        "|---|---|---|---|---|---|",
    ]
    for s in rules.SETTINGS:
        lines.append(
            f"| {_cell(s.group)} | {_cell(s.label)} | {_cell(_unit(s.default, s.unit))} | {_cell(s.bounds_text)} | "
            f"{_cell(s.source)} | {_cell(s.note) or '—'} |"
        )
    possible = ", ".join(
        f"{name} {low}–{high}{unit and ' ' + unit}" for name, (low, high, unit) in rules.PLAUSIBLE_RANGES.items()
    )
    confirm = ", ".join(f"{name} {low}–{high}" for name, (low, high) in rules.CONFIRM_RANGES.items())
    lines += [
        "",
        "### Readings and alerts",
        "",
        f"- Refused as physically impossible (a typing error): outside {possible}; diastolic not below systolic; "
        "a reading time in the future or before check-in.",
        f"- Stored after the nurse confirms it once (extreme but possible): outside {confirm}.",
        "- Every stored value is compared with the alert settings above. A *critical* alert (a critical limit, or "
        "MOAA/S 0, loss of consciousness [S15][S106]) asks for one of: "
        + ", ".join(rules.ALERT_ACTION_LABELS[a].lower() for a in rules.CRITICAL_ALERT_ACTIONS)
        + ", with a note; it shows on the session page, the chair board and the clinician's home until that "
        "action is recorded (who, when, what).",
        "",
        "### Discharge readiness (computed from the latest state)",
        "",
        "Discharge-ready only when every one holds; a later reading that breaks one moves the session back to "
        "recovering, with the reason:",
        "",
        "- the minimum observation time has passed since the infusion ended;",
        "- the latest recovery BP, HR, SpO₂ and RR (and temperature when taken) raise no alert, and BP and HR are "
        "within the discharge percentage of baseline [S102][S104];",
        f"- MOAA/S {rules.MOAAS_AWAKE} and CADSS-6 at or below the discharge setting: monitor until resolution of "
        "sedation, dissociation and respiratory depression [S14][S15];",
        "- an Aldrete or PADSS at or above the minimum score, taken after the latest reading [S102][S104];",
        "- no adverse event open (recorded as ongoing or resolving) — it closes when recorded as resolved, "
        "transferred to emergency care, or handed over with a note (to whom, what was said; who recorded it and "
        "when are kept) — and every alert actioned;",
        "- a responsible adult escort present [S26] and the discharge instructions given [S16].",
        "",
        "### Pre-check suicide-risk gate",
        "",
        "- Today's PHQ-9 item 9 above 0 requires today's C-SSRS screener before the infusion (PD-03) [S36].",
        "- A C-SSRS screener of *moderate* (item 3, or item 6 lifetime only) or *high* (item 4/5, or item 6 within "
        "3 months) stops the pre-check until a prescriber documents a decision (PD-04) [S95]; the triage levels are "
        "the C-SSRS's, the gate is clinic workflow (as at intake), not a guideline.",
        "",
        "### Adverse events and rescue drugs",
        "",
        "- Kinds: " + "; ".join(label for _code, label in AdverseEventKind.choices) + ".",
        "- Rescue drugs are chosen from the clinic's formulary (Admin → Rescue drugs: name, default dose, unit, "
        "route, controlled with its DEA schedule). The clinical reference gives no rescue doses, so the shipped "
        "list (midazolam, ondansetron, labetalol, clonidine) has no default dose; the dose given, unit, route, time "
        "and who gave it are recorded each time. A controlled one (midazolam, Schedule IV) is flagged and listed on "
        "the controlled-substance ledger's home until the keeper of the log confirms it entered.",
        "",
    ]
    return lines
