"""The course-over-months part of docs/clinical-rules.md, generated from ``courses.rules``."""

from __future__ import annotations

from courses import rules


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|")


def clinical_rules_section() -> list[str]:
    lines = [
        "## A course over months: course rules, exposure, surveillance, maintenance (Admin → Course policy)",
        "",
        "The reference gives no number for any of these settings: each default is *clinic policy*, bounded in "
        "code (form validators and a database check constraint). What each one watches for is sourced.",
        "",
        "| Group | Setting | Default | Allowed | Source | Why |",
        "|---|---|---|---|---|---|",
    ]
    for s in rules.SETTINGS:
        lines.append(
            f"| {_cell(s.group)} | {_cell(s.label)} | {_cell(f'{s.default} {s.unit}'.strip())} | "
            f"{_cell(s.bounds_text)} | {_cell(s.source)} | {_cell(s.note) or '—'} |"
        )
    urinary = "; ".join(label.lower() for _, label in rules.URINARY_QUESTIONS)
    misuse = "; ".join(label.lower() for _, label in rules.MISUSE_QUESTIONS)
    lines += [
        "",
        "- **Course rules**: an infusion or booster is refused at booking, at a move and at check-in when it is "
        "closer to another of the patient's infusions than the minimum (the standing order's own minimum when "
        "longer), or when the plan's standing order has no infusion left (given + booked); beyond the plan the "
        "prescriber signs a new order version.",
        "- **Cumulative exposure** is summed from the milligrams the pump delivered (a stopped-early infusion counts "
        "what it gave): total mg, mg/kg (each infusion over its own dosing weight), infusions in the last 30, 90 "
        "and 365 days and in all.",
        f"- **Urinary-symptom screen** (cystitis, [S23], CI-16): {urinary}. Any yes raises a finding; the infusion "
        "cannot start until the screen is recorded once it is due.",
        "- **Liver function tests** (ASRA: baseline and post-infusion LFTs for frequent high-dose use [S11]): "
        "a baseline is asked when the patient reaches a frequent or high-dose threshold, then a follow-up at the "
        "set interval; ALT or AST above the laboratory's upper limit of normal raises a finding (CI-10).",
        "- **Maintenance**: a booster more than the set gap after the last infusion needs a re-screen (the intake's "
        "contraindication rules re-run on updated facts; an absolute finding refuses boosters, any other finding "
        f"waits for the prescriber) and renewed consent. Misuse and diversion questions ([S34]; CI-12 [S11]): "
        f"{misuse}; any yes waits for the prescriber.",
        "- **Titration** steps only along a protocol's ladder (its rungs and their source are set on the protocol), "
        "after a documented non-response or tolerability review at a named infusion; each step is a new signed "
        "version of the standing order with the review as its reason. A tolerability review never steps up.",
        "",
    ]
    return lines
