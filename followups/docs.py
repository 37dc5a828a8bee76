"""The follow-up safety alert's part of docs/clinical-rules.md, generated from ``followups.rules``."""

from __future__ import annotations

from followups import rules


def clinical_rules_section() -> list[str]:
    low, high = rules.ESCALATE_AFTER_MINUTES_RANGE
    madrs_low, madrs_high = rules.MADRS_ITEM10_ALERT_RANGE
    qids_low, qids_high = rules.QIDS_ITEM12_ALERT_RANGE
    return [
        "## Safety alerts on every channel (administrator-editable: Admin → Follow-up policy)",
        "",
        "Every stored questionnaire (intake, infusion pre-check or chair, follow-up visit, the patient's link) "
        "goes through one check; an alert is raised once per response.",
        "",
        "| Setting | Default | Allowed | Source | Note |",
        "|---|---|---|---|---|",
        "| PHQ-9 item 9 | any answer above 0 | fixed | [S36] | — |",
        "| C-SSRS screener | moderate or high | fixed | [S95] | low risk is charted, not paged |",
        f"| MADRS item 10 at or above | {rules.MADRS_ITEM10_ALERT_MIN_DEFAULT} | {madrs_low}–{madrs_high} | "
        "clinic policy | no sourced cut-off; follows the PHQ-9 item-9 rule |",
        f"| QIDS-SR16 item 12 at or above | {rules.QIDS_ITEM12_ALERT_MIN_DEFAULT} | {qids_low}–{qids_high} | "
        "clinic policy | no sourced cut-off; follows the PHQ-9 item-9 rule |",
        f"| Escalate an unacknowledged alert after | {rules.ESCALATE_AFTER_MINUTES_DEFAULT} min | {low}–{high} min "
        "| clinic policy | first to the second clinician (the one named in the policy, else the on-call "
        "prescriber, else every other clinician), after twice the time to the administrators too; PHI-free "
        "e-mail |",
        "",
    ]
