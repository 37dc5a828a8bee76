"""Sign-off rules: which decisions a screening allows, what must be justified, which
baseline instruments the intake needs, and the canonical form of a signed record. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from consultations.choices import PAIN_INDICATIONS, PROCEED_DECISIONS, Decision
from consultations.rules import Finding, Indication, Klass, Outcome, ScreeningResult

# Absolute findings block the plan; every other finding (relative, interaction, monitor,
# missing data) needs the clinician's documented justification to proceed.
JUSTIFIABLE: Final = frozenset({Klass.RELATIVE, Klass.INTERACTION, Klass.MONITOR})

ALLOWED: Final[Mapping[Outcome, tuple[Decision, ...]]] = {
    Outcome.ELIGIBLE: (Decision.ELIGIBLE, Decision.INELIGIBLE),
    Outcome.NEEDS_REVIEW: (Decision.ELIGIBLE_OVERRIDE, Decision.INELIGIBLE),
    Outcome.INELIGIBLE: (Decision.INELIGIBLE,),
}

ALWAYS_BASELINE: Final = ("phq9", "gad7")  # PHQ-9 and GAD-7 at every intake
# Offered at every intake, never required: their suicide items (MADRS 10, QIDS-SR16 12) reach
# the safety alert like PHQ-9 item 9 when they are entered.
OPTIONAL_BASELINE: Final = ("madrs", "qids_sr16")


def findings_to_justify(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.klass in JUSTIFIABLE]


def justification_key(rule_id: str) -> str:
    """Form-field-safe key for a rule id: 'CI-05' → 'justify_CI_05'."""
    return "justify_" + rule_id.replace("-", "_")


def required_instruments(indications: Iterable[str], phq9_item9: int | None) -> tuple[str, ...]:
    """Baseline instruments by indication: PHQ-9 and GAD-7 always; PCL-5 for PTSD;
    pain NRS for a pain indication; the C-SSRS screener when PHQ-9 item 9 is above 0 [S36]."""
    codes = list(ALWAYS_BASELINE)
    chosen = set(indications)
    if Indication.PTSD in chosen:
        codes.append("pcl5")
    if chosen & PAIN_INDICATIONS:
        codes.append("nrs_pain")
    if phq9_item9 is not None and phq9_item9 > 0:
        codes.append("cssrs_screen")
    return tuple(codes)


def decision_problems(
    *,
    result: ScreeningResult,
    decision: str,
    justifications: Mapping[str, str],
    note: str,
    consent_problem: str,
    missing_instruments: Iterable[str],
) -> dict[str, str]:
    """Why this decision cannot be signed, keyed by form field ("decision", "decision_note",
    "justify_CI_05", "consent"); empty when it can."""
    problems: dict[str, str] = {}
    allowed = ALLOWED[result.outcome]
    if decision not in Decision.values:
        problems["decision"] = "Choose a decision."
        return problems
    if decision not in allowed:
        if result.outcome is Outcome.INELIGIBLE:
            blocking = ", ".join(f.rule_id for f in result.findings if f.klass is Klass.ABSOLUTE)
            problems["decision"] = (
                f"An absolute finding ({blocking}) blocks a treatment plan: the decision is ineligible."
            )
        elif result.outcome is Outcome.NEEDS_REVIEW:
            problems["decision"] = "The screening has findings: proceed only with a justification for each, or decline."
        else:
            problems["decision"] = "No finding needs overriding: choose eligible or not eligible."
        return problems
    if decision == Decision.ELIGIBLE_OVERRIDE:
        for finding in findings_to_justify(result.findings):
            if not justifications.get(finding.rule_id, "").strip():
                problems[justification_key(finding.rule_id)] = f"Justify proceeding despite {finding.rule_id}."
    if decision == Decision.INELIGIBLE and result.outcome is not Outcome.INELIGIBLE and not note.strip():
        problems["decision_note"] = "Say why the patient is not eligible."
    if decision in PROCEED_DECISIONS:
        if consent_problem:
            problems["consent"] = f"Before proceeding: {consent_problem}"
        missing = list(missing_instruments)
        if missing:
            problems["instruments"] = "Record the baseline instruments first: " + ", ".join(missing) + "."
    return problems
