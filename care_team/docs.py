"""The care team's part of docs/clinical-rules.md, generated from ``care_team.rules``."""

from __future__ import annotations

from care_team import rules


def clinical_rules_section() -> list[str]:
    return [
        "## Progress letters to the patient's other clinicians (administrator-editable: Settings → Care-team policy)",
        "",
        "A letter is drafted, signed and released only while the patient's authorisation to share with its "
        "recipient is in force (signed, not expired — the expiry day included — and not revoked); a revoked or "
        "expired authorisation refuses the draft, the signature and every download. An attendance-only "
        "authorisation prints no doses, questionnaire scores or adverse events. Every download is a disclosure.",
        "",
        "| Setting | Default | Allowed | Source | Note |",
        "|---|---|---|---|---|",
        "| Draft a letter when the induction series is complete | on | on / off | clinic policy | the clinical "
        "reference sets no reporting schedule |",
        f"| Then draft one after every N boosters | {rules.LETTER_EVERY_BOOSTERS_DEFAULT} | "
        f"0–{rules.LETTER_EVERY_BOOSTERS_MAX} | clinic policy | 0: none after the induction |",
        f"| Integration or psychotherapy visit length | {rules.ADJUNCT_MINUTES_DEFAULT} min | 15–180 min | "
        "clinic policy | a consult room, never an infusion chair |",
        "",
    ]
