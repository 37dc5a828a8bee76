"""Contraindication screening for the intake consultation: clinical-reference.md section 5.3.

Pure: takes an ``IntakeFacts`` snapshot and ``ScreeningThresholds`` and returns findings.
No Django, no database, no clock (``today`` is passed in). Every rule id is a CI-/PD- id
of the reference's table 5.3 and every finding cites its source keys ([Sx]) from the
reference's source index. A fact that a rule needs and that is not recorded (``None``) is
itself a finding of class "monitor": missing data never passes silently.

Intake screens CI-01..CI-16, the age rule CI-17 and the two suicide-risk gates PD-03 and PD-04. PD-01 (NPO),
PD-02 (escort) and PD-05 (intra-infusion limits) are day-of-infusion checks and belong to
the infusion session's pre-check, not here.

    >>> screen(IntakeFacts(), today=date(2026, 11, 2)).outcome
    <Outcome.NEEDS_REVIEW: 'needs_review'>
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any, Final

from assessments.instruments import CSSRS_LEVELS

# Bump whenever a rule, message, default threshold or class changes: a signed screening
# stores it, so a reviewer can tell which rule set produced a decision.
RULE_SET_VERSION: Final = "2026.12-2"

# Short citations for the source keys used here (clinical-reference.md, "Source index").
SOURCES: Final[Mapping[str, str]] = {
    "S1": "Sanacora 2017, APA consensus (JAMA Psychiatry)",
    "S11": "Cohen 2018, ASRA/AAPM/ASA IV ketamine guideline (Guideline Central summary)",
    "S13": "SPRAVATO REMS Patient Monitoring Form",
    "S16": "SPRAVATO HCP dosing and monitoring",
    "S17": "SPRAVATO prescribing information (contraindications, warnings)",
    "S23": "SPRAVATO warnings summary",
    "S25": "Ketalar label rev. 10/2024",
    "S27": "US ketamine label contraindication wording (secondary source)",
    "S28": "Swiss ketamine SmPC, contraindications",
    "S33": "Osmind IV ketamine intake guide",
    "S34": "ASA guidance on the safe use of ketamine",
    "S36": "AACN, Crit Care Nurse 40(1):92 (PHQ-9 item 9)",
    "S95": "C-SSRS screener (NINDS CDE triage)",
}


def cite(*keys: str) -> str:
    """'[S28] Swiss ketamine SmPC, contraindications; …' for the given source keys."""
    return "; ".join(f"[{key}] {SOURCES[key]}" for key in keys)


class Klass(StrEnum):
    """Finding classes in the order they are shown (most severe first)."""

    ABSOLUTE = "absolute"
    RELATIVE = "relative"
    INTERACTION = "interaction"
    MONITOR = "monitor"


KLASS_ORDER: Final = {klass: rank for rank, klass in enumerate(Klass)}


class Outcome(StrEnum):
    ELIGIBLE = "eligible"
    NEEDS_REVIEW = "needs_review"
    INELIGIBLE = "ineligible"


class HepaticSeverity(StrEnum):
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class Indication(StrEnum):
    """Indications the intake codes (the ICD-10 mapping lives with the form/model)."""

    MDD = "mdd"
    TRD = "trd"
    GAD = "gad"
    PTSD = "ptsd"
    FIBROMYALGIA = "fibromyalgia"
    CRPS = "crps"
    OTHER = "other"


# --- Facts --------------------------------------------------------------------------------


def _fact(label: str, kind: str, *rules: str, note: str = "") -> Any:
    """A fact recorded at intake: ``None`` = not recorded. ``rules`` = the rules reading it."""
    return field(default=None, metadata={"label": label, "kind": kind, "rules": rules, "note": note})


@dataclass(frozen=True)
class IntakeFacts:
    """Everything the screening rules read, as recorded at intake. ``None`` = not recorded.

    Conditional facts (``hypertension_controlled``, ``pregnant``, ``pre_eclampsia``, …) are
    only needed when the fact they qualify makes them relevant; see ``missing_facts``.
    """

    # Demographics and vitals
    date_of_birth: date | None = _fact("Date of birth", "date", "CI-17")
    bp_systolic_mmhg: int | None = _fact("Resting systolic BP (mmHg)", "int", "CI-04", "CI-05")
    bp_diastolic_mmhg: int | None = _fact("Resting diastolic BP (mmHg)", "int", "CI-04", "CI-05")
    bp_remeasure_systolic_mmhg: int | None = _fact(
        "Re-measured resting systolic BP (mmHg)", "int", "CI-04", "CI-05", note="when complete, replaces the first"
    )
    bp_remeasure_diastolic_mmhg: int | None = _fact(
        "Re-measured resting diastolic BP (mmHg)", "int", "CI-04", "CI-05", note="when complete, replaces the first"
    )
    heart_rate_bpm: int | None = _fact(
        "Heart rate (/min)", "int", note="not screened: no sourced limit (HR >110 attribution UNVERIFIED [S1])"
    )
    spo2_percent: int | None = _fact("SpO2 (%)", "int", note="not screened: no sourced intake limit")
    weight_kg: Decimal | None = _fact("Weight (kg)", "decimal")
    height_cm: Decimal | None = _fact("Height (cm)", "decimal")
    # Indications and psychiatric history
    indications: frozenset[Indication] = field(
        default=frozenset(), metadata={"label": "Indications", "kind": "indications", "rules": (), "note": ""}
    )
    prior_adequate_antidepressant_trials: int | None = _fact("Prior adequate antidepressant trials", "int")
    active_psychosis: bool | None = _fact("Active psychosis", "bool", "CI-08")
    psychosis_history: bool | None = _fact("History of psychosis or a psychotic disorder", "bool", "CI-08")
    bipolar_or_mania: bool | None = _fact("Bipolar disorder or history of mania", "bool", "CI-09")
    on_mood_stabiliser: bool | None = _fact("Taking a mood stabiliser", "bool", "CI-09")
    substance_use_disorder_active: bool | None = _fact("Active substance use disorder", "bool", "CI-12")
    substance_use_disorder_history: bool | None = _fact("History of substance use disorder", "bool", "CI-12")
    ketamine_misuse_history: bool | None = _fact("Ketamine or other dissociative (e.g. PCP) misuse", "bool", "CI-12")
    phq9_item9: int | None = _fact("PHQ-9 item 9 answer (0-3)", "phq9_item", "PD-03")
    cssrs_risk: str | None = _fact(
        "C-SSRS screener risk level", "cssrs", "PD-03", "PD-04", note="'' = screener done, no risk"
    )
    # Medical history
    hypersensitivity_to_ketamine: bool | None = _fact(
        "Hypersensitivity to ketamine, esketamine or excipients", "bool", "CI-01"
    )
    aneurysmal_vascular_disease: bool | None = _fact(
        "Aneurysmal vascular disease (aortic, intracranial, peripheral)", "bool", "CI-02"
    )
    arteriovenous_malformation: bool | None = _fact("Arteriovenous malformation", "bool", "CI-02")
    intracerebral_haemorrhage_history: bool | None = _fact("History of intracerebral haemorrhage", "bool", "CI-02")
    stroke_history: bool | None = _fact("Prior stroke", "bool", "CI-03")
    other_bp_rise_hazard: bool | None = _fact(
        "Other condition where a significant rise in BP would be a serious hazard", "bool", "CI-03"
    )
    hypertension: bool | None = _fact("Hypertension", "bool", "CI-06")
    hypertension_controlled: bool | None = _fact("Hypertension well controlled", "bool", "CI-06")
    ischaemic_heart_disease: bool | None = _fact("Ischaemic heart disease", "bool", "CI-03", "CI-06")
    heart_failure: bool | None = _fact("Heart failure", "bool", "CI-06")
    other_cardiovascular_disease: bool | None = _fact("Other cardiovascular disease", "bool", "CI-06")
    cardiovascular_disease_controlled: bool | None = _fact(
        "Cardiovascular disease well controlled", "bool", "CI-03", "CI-06"
    )
    raised_intracranial_pressure: bool | None = _fact("Raised intracranial pressure", "bool", "CI-11")
    raised_intraocular_pressure: bool | None = _fact("Raised intraocular pressure (e.g. glaucoma)", "bool", "CI-11")
    hepatic_disease: bool | None = _fact("Hepatic disease", "bool", "CI-10")
    hepatic_severity: HepaticSeverity | None = _fact("Hepatic disease severity", "hepatic", "CI-10")
    hyperthyroidism: bool | None = _fact("Hyperthyroidism", "bool", "CI-13")
    hyperthyroidism_treated: bool | None = _fact("Hyperthyroidism treated", "bool", "CI-13")
    cystitis_or_urinary_symptoms: bool | None = _fact(
        "Interstitial, ulcerative or ketamine cystitis, or urinary symptoms", "bool", "CI-16"
    )
    childbearing_potential: bool | None = _fact("Childbearing potential", "bool", "CI-07")
    pregnant: bool | None = _fact("Pregnant", "bool", "CI-07", "CI-13")
    breastfeeding: bool | None = _fact("Breast-feeding", "bool", "CI-07")
    pre_eclampsia: bool | None = _fact("Pre-eclampsia or eclampsia", "bool", "CI-13")
    # Current medication interaction classes
    takes_theophylline_or_aminophylline: bool | None = _fact("Theophylline or aminophylline", "bool", "CI-14")
    takes_benzodiazepine: bool | None = _fact("Benzodiazepine", "bool", "CI-15")
    takes_opioid: bool | None = _fact("Opioid", "bool", "CI-15")
    takes_other_sedative: bool | None = _fact(
        "Non-benzodiazepine sedative-hypnotic or other CNS depressant", "bool", "CI-15"
    )
    takes_psychostimulant: bool | None = _fact("Psychostimulant or other sympathomimetic", "bool", "CI-15")
    takes_maoi: bool | None = _fact("Monoamine oxidase inhibitor (MAOI)", "bool", "CI-15")
    takes_lamotrigine: bool | None = _fact(
        "Lamotrigine", "bool", note="recorded, not screened: clinical-reference.md has no source for this interaction"
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            _check_fact(f.name, f.metadata["kind"], getattr(self, f.name))


def _check_fact(name: str, kind: str, value: object) -> None:
    """Refuse values of the wrong type or outside their domain. Plausible vital-sign ranges
    are the form's job; this only keeps nonsense (negative BP, PHQ-9 item 9 = 7) out."""
    if kind == "indications":
        if not isinstance(value, frozenset) or not value <= set(Indication):
            raise ValueError(f"{name}: expected a frozenset of Indication")
        return
    if value is None:
        return
    ok = {
        "bool": lambda v: isinstance(v, bool),
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "decimal": lambda v: isinstance(v, Decimal | int) and not isinstance(v, bool) and v > 0,
        "date": lambda v: isinstance(v, date),
        "phq9_item": lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 3,
        "cssrs": lambda v: v in CSSRS_LEVELS,
        "hepatic": lambda v: v in set(HepaticSeverity),
    }[kind](value)
    if not ok:
        raise ValueError(f"{name}: {value!r} is not a valid {kind} value")


FACT_LABELS: Final[Mapping[str, str]] = {f.name: f.metadata["label"] for f in fields(IntakeFacts)}


# --- Thresholds ---------------------------------------------------------------------------

# "Adult" in the Spravato indication [S17], as the age of majority.
ADULT_AGE_YEARS: Final = 18

SOURCED: Final = "sourced"
CLINIC_POLICY: Final = "clinic policy"
UNVERIFIED: Final = "UNVERIFIED"


def _setting(
    default: object,
    *,
    label: str,
    source: str,
    status: str,
    rules: tuple[str, ...],
    note: str = "",
    bounds: tuple[int, int] | None = None,
) -> Any:
    """A clinic setting; ``bounds`` (inclusive) limit what an administrator may set."""
    return field(
        default=default,
        metadata={"label": label, "source": source, "status": status, "rules": rules, "note": note, "bounds": bounds},
    )


@dataclass(frozen=True)
class ScreeningThresholds:
    """Clinic-editable screening settings. Each default cites clinical-reference.md.

    ``metadata`` carries label, source, status (sourced / clinic policy / UNVERIFIED) and a
    note for the settings screen. A BP is "above" a limit when systolic > the systolic limit
    or diastolic > the diastolic limit (">180/100": 180/100 itself is not above).
    """

    # Swiss SmPC: contraindicated at resting >180/100 mmHg [S28]. Often attributed to
    # Sanacora 2017, which is UNVERIFIED [S1]; we cite the SmPC, not Sanacora.
    bp_hard_stop_systolic_mmhg: int = _setting(
        180,
        label="Resting BP hard stop: systolic above (mmHg)",
        source=cite("S28"),
        status=SOURCED,
        rules=("CI-04",),
        note="Sanacora 2017 attribution UNVERIFIED [S1]",
    )
    bp_hard_stop_diastolic_mmhg: int = _setting(
        100,
        label="Resting BP hard stop: diastolic above (mmHg)",
        source=cite("S28"),
        status=SOURCED,
        rules=("CI-04",),
        note="Sanacora 2017 attribution UNVERIFIED [S1]",
    )
    # Spravato label: baseline >140/90 → weigh risk [S16][S17][S23]. An esketamine label
    # applied to IV ketamine by analogy: clinic policy. Sanacora attribution UNVERIFIED [S1].
    bp_relative_systolic_mmhg: int = _setting(
        140,
        label="Baseline BP needing review: systolic above (mmHg)",
        source=cite("S17", "S23"),
        status=CLINIC_POLICY,
        rules=("CI-05",),
        note="esketamine (Spravato) label value applied to IV ketamine by analogy; "
        "Sanacora 2017 attribution UNVERIFIED [S1]",
    )
    bp_relative_diastolic_mmhg: int = _setting(
        90,
        label="Baseline BP needing review: diastolic above (mmHg)",
        source=cite("S17", "S23"),
        status=CLINIC_POLICY,
        rules=("CI-05",),
        note="esketamine (Spravato) label value applied to IV ketamine by analogy; "
        "Sanacora 2017 attribution UNVERIFIED [S1]",
    )
    # "≥ 2 adequate trials" is the product brief's wording; clinical-reference.md gives no source for a
    # TRD definition, so this is clinic policy and UNVERIFIED until a clinician confirms it.
    trd_min_adequate_trials: int = _setting(
        2,
        label="Adequate antidepressant trials to recognise TRD (at least)",
        source="none in clinical-reference.md (the product brief wording)",
        status=f"{CLINIC_POLICY}; {UNVERIFIED}",
        rules=(),
    )
    # CI-03 action is "block / prescriber review" (US label wording [S27][S28]): default block.
    bp_hazard_condition_absolute: bool = _setting(
        True,
        label="Condition where a BP rise is a serious hazard blocks (off = prescriber review)",
        source=cite("S27", "S28"),
        status=CLINIC_POLICY,
        rules=("CI-03",),
        note='reference action is "block / prescriber review"',
    )
    # CI-10: ASRA "avoid" (C) [S11]; Spravato "not recommended" [S17]; action "block / review".
    severe_hepatic_disease_absolute: bool = _setting(
        True,
        label="Severe hepatic disease blocks (off = prescriber review)",
        source=cite("S11", "S17"),
        status=CLINIC_POLICY,
        rules=("CI-10",),
        note='reference action is "block / review"',
    )

    # The Spravato label indicates esketamine for adults [S17]; IV ketamine for depression has
    # no sourced paediatric use in the reference. Below the adult age blocks unless the clinic
    # makes it a prescriber review.
    minor_absolute: bool = _setting(
        True,
        label="Under 18 blocks (off = prescriber review)",
        source=cite("S17"),
        status=CLINIC_POLICY,
        rules=("CI-17",),
        note="the label's indication is adults; adulthood taken as 18 years",
    )
    # No sourced upper age: the clinic decides from which age a prescriber reviews.
    age_review_above_years: int = _setting(
        65,
        label="Age needing prescriber review: above (years)",
        source="none in clinical-reference.md",
        status=CLINIC_POLICY,
        rules=("CI-17",),
        bounds=(ADULT_AGE_YEARS, 120),
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            expected = type(f.default)
            if type(value) is not expected or (expected is int and value < 1):
                raise ValueError(f"{f.name}: {value!r} is not a valid setting")
            bounds = f.metadata["bounds"]
            if bounds is not None and not bounds[0] <= value <= bounds[1]:
                raise ValueError(f"{f.name}: {value!r} is outside {bounds[0]}–{bounds[1]}")
        if self.bp_relative_systolic_mmhg > self.bp_hard_stop_systolic_mmhg:
            raise ValueError("bp_relative_systolic_mmhg: must not be above the systolic hard stop")
        if self.bp_relative_diastolic_mmhg > self.bp_hard_stop_diastolic_mmhg:
            raise ValueError("bp_relative_diastolic_mmhg: must not be above the diastolic hard stop")


DEFAULT_THRESHOLDS: Final = ScreeningThresholds()


# --- Findings and the rule registry ---------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One screening finding. ``missing_facts`` names facts the rule could not read."""

    rule_id: str
    klass: Klass
    fact: str
    message: str
    source: str
    rule_set_version: str = RULE_SET_VERSION
    missing_facts: tuple[str, ...] = ()


RuleCheck = Callable[[IntakeFacts, ScreeningThresholds, date], Finding | None]


@dataclass(frozen=True)
class Rule:
    rule_id: str
    title: str
    klass: Klass  # most severe class the rule gives with default thresholds
    sources: tuple[str, ...]
    check: RuleCheck


RULES: dict[str, Rule] = {}


def _rule(rule_id: str, title: str, klass: Klass, *sources: str) -> Callable[[RuleCheck], RuleCheck]:
    def register(check: RuleCheck) -> RuleCheck:
        RULES[rule_id] = Rule(rule_id, title, klass, sources, check)
        return check

    return register


def _labels(names: Iterable[str]) -> str:
    return "; ".join(FACT_LABELS[name] for name in names)


def _split(facts: IntakeFacts, names: Iterable[str]) -> tuple[list[str], list[str]]:
    """(names recorded True, names not recorded) among boolean facts ``names``."""
    names = list(names)
    return [n for n in names if getattr(facts, n) is True], [n for n in names if getattr(facts, n) is None]


def _found(rule_id: str, klass: Klass, fact: str, message: str, missing: Iterable[str] = ()) -> Finding:
    return Finding(rule_id, klass, fact, message, cite(*RULES[rule_id].sources), RULE_SET_VERSION, tuple(missing))


def _not_recorded(rule_id: str, missing: list[str]) -> Finding | None:
    if not missing:
        return None
    labels = _labels(missing)
    message = (
        f"Not recorded: {labels}. Rule {rule_id} ({RULES[rule_id].title}) cannot be checked until it is: "
        "record it, or document why it is unknown."
    )
    return _found(rule_id, Klass.MONITOR, f"not recorded: {labels}", message, missing)


def _flag_rule(facts: IntakeFacts, rule_id: str, names: Iterable[str], klass: Klass, message: str) -> Finding | None:
    """The common shape: any of ``names`` True → finding; else any missing → monitor."""
    hit, missing = _split(facts, names)
    if hit:
        return _found(rule_id, klass, _labels(hit), message, missing)
    return _not_recorded(rule_id, missing)


# --- Rules (registration order = display order within a class) ------------------------------


@_rule("CI-01", "hypersensitivity to ketamine", Klass.ABSOLUTE, "S17", "S27")
def ci01_hypersensitivity(f: IntakeFacts, t: ScreeningThresholds, today: date) -> Finding | None:
    """Why: both the Spravato label [S17] and the US ketamine label [S27] contraindicate
    ketamine/esketamine in patients hypersensitive to it or its excipients."""
    message = "Hypersensitivity to ketamine, esketamine or an excipient is a label contraindication: do not plan."
    return _flag_rule(f, "CI-01", ["hypersensitivity_to_ketamine"], Klass.ABSOLUTE, message)


@_rule("CI-02", "aneurysm, AV malformation or intracerebral haemorrhage", Klass.ABSOLUTE, "S17", "S27")
def ci02_vascular(f: IntakeFacts, t: ScreeningThresholds, today: date) -> Finding | None:
    """Why: the Spravato label [S17] contraindicates aneurysmal vascular disease, AV
    malformation and a history of intracerebral haemorrhage; the US ketamine label [S27]
    contraindicates use where a significant BP rise would be a serious hazard. The reference
    applies them to IV ketamine as a hard stop by analogy, pending clinician sign-off."""
    names = ["aneurysmal_vascular_disease", "arteriovenous_malformation", "intracerebral_haemorrhage_history"]
    message = (
        "Spravato label contraindication, applied to IV ketamine as a hard stop by analogy "
        "(pending clinician sign-off of this rule): do not plan."
    )
    return _flag_rule(f, "CI-02", names, Klass.ABSOLUTE, message)


@_rule("CI-03", "condition where a BP rise is a serious hazard", Klass.ABSOLUTE, "S27", "S28")
def ci03_bp_rise_hazard(f: IntakeFacts, t: ScreeningThresholds, today: date) -> Finding | None:
    """Why: the US label [S27] contraindicates ketamine where a significant BP elevation
    would be a serious hazard; the Swiss SmPC [S28] names prior stroke as an example, the
    reference adds uncontrolled ischaemic heart disease. Class is a clinic setting."""
    flagged, missing = _split(f, ["stroke_history", "ischaemic_heart_disease", "other_bp_rise_hazard"])
    hit = [FACT_LABELS[n] for n in flagged if n != "ischaemic_heart_disease"]
    if "ischaemic_heart_disease" in flagged and f.cardiovascular_disease_controlled is None:
        missing.append("cardiovascular_disease_controlled")
    elif "ischaemic_heart_disease" in flagged and f.cardiovascular_disease_controlled is False:
        hit.append("Ischaemic heart disease, not controlled")
    if not hit:
        return _not_recorded("CI-03", missing)
    klass = Klass.ABSOLUTE if t.bp_hazard_condition_absolute else Klass.RELATIVE
    action = "do not plan" if klass is Klass.ABSOLUTE else "prescriber review required (clinic setting)"
    message = f"A significant BP rise would be a serious hazard (label contraindication): {action}."
    return _found("CI-03", klass, "; ".join(hit), message, missing)


def resting_bp(f: IntakeFacts) -> tuple[tuple[int, int] | None, str, list[str]]:
    """(systolic, diastolic) used for screening, how to describe it, and missing BP facts.

    A complete re-measure replaces the first reading (the issue's journey: 185/105, then a
    resting re-measure of 150/92). A half-entered re-measure does not: the first reading is
    screened and the missing half is reported.
    """
    first = (f.bp_systolic_mmhg, f.bp_diastolic_mmhg)
    again = (f.bp_remeasure_systolic_mmhg, f.bp_remeasure_diastolic_mmhg)
    if again[0] is not None and again[1] is not None:
        fact = f"re-measured resting BP {again[0]}/{again[1]} mmHg"
        if first[0] is not None and first[1] is not None:
            fact += f" (first reading {first[0]}/{first[1]} mmHg)"
        return (again[0], again[1]), fact, []
    names = ["bp_systolic_mmhg", "bp_diastolic_mmhg", "bp_remeasure_systolic_mmhg", "bp_remeasure_diastolic_mmhg"]
    missing = [n for n in names[:2] if getattr(f, n) is None]
    if again != (None, None):
        missing += [n for n in names[2:] if getattr(f, n) is None]
    if first[0] is None or first[1] is None:
        return None, "", missing
    return (first[0], first[1]), f"resting BP {first[0]}/{first[1]} mmHg", missing


def bp_above(bp: tuple[int, int], systolic_limit: int, diastolic_limit: int) -> bool:
    """ ">180/100" reads as systolic > 180 or diastolic > 100 [S28]; the limit itself passes."""
    return bp[0] > systolic_limit or bp[1] > diastolic_limit


@_rule("CI-04", "resting BP above the hard stop", Klass.ABSOLUTE, "S28")
def ci04_bp_hard_stop(f: IntakeFacts, t: ScreeningThresholds, today: date) -> Finding | None:
    """Why: the Swiss SmPC [S28] contraindicates ketamine in poorly controlled or untreated
    hypertension, defined as resting BP >180/100 mmHg. Default from [S28]; clinic-editable.
    A first reading above the limit that a re-measure does not confirm stays a relative
    finding: the prescriber justifies proceeding."""
    bp, fact, missing = resting_bp(f)
    limit = f"{t.bp_hard_stop_systolic_mmhg}/{t.bp_hard_stop_diastolic_mmhg}"
    if bp is not None and bp_above(bp, t.bp_hard_stop_systolic_mmhg, t.bp_hard_stop_diastolic_mmhg):
        message = (
            f"Resting BP above {limit} mmHg (uncontrolled hypertension) is a contraindication: defer. "
            "Treat, or re-measure at rest; a complete re-measure below the limit leaves this reading on "
            "record for the prescriber to justify."
        )
        return _found("CI-04", Klass.ABSOLUTE, fact, message, missing)
    first = (f.bp_systolic_mmhg, f.bp_diastolic_mmhg)
    if (
        bp is not None
        and first[0] is not None
        and first[1] is not None
        and bp != first
        and bp_above((first[0], first[1]), t.bp_hard_stop_systolic_mmhg, t.bp_hard_stop_diastolic_mmhg)
    ):
        # A normal re-measure does not erase an extreme first reading: it may be the true one.
        message = (
            f"The first resting BP was above {limit} mmHg; the re-measure is not. The first reading stays on "
            "record: the prescriber documents why proceeding is safe."
        )
        return _found("CI-04", Klass.RELATIVE, fact, message, missing)
    return _not_recorded("CI-04", missing)


@_rule("CI-05", "baseline BP above the review limit", Klass.RELATIVE, "S17", "S23")
def ci05_bp_relative(f: IntakeFacts, t: ScreeningThresholds, today: date) -> Finding | None:
    """Why: the Spravato label [S17][S23] says to weigh the risk of a short-term BP rise
    against the benefit when baseline BP is >140/90 (applied to IV ketamine by analogy).
    Silent when CI-04 already fires on the same reading, so one reading gives one finding."""
    bp, fact, missing = resting_bp(f)
    if bp is not None and bp_above(bp, t.bp_hard_stop_systolic_mmhg, t.bp_hard_stop_diastolic_mmhg):
        return None
    if bp is not None and bp_above(bp, t.bp_relative_systolic_mmhg, t.bp_relative_diastolic_mmhg):
        limit = f"{t.bp_relative_systolic_mmhg}/{t.bp_relative_diastolic_mmhg}"
        message = (
            f"Baseline BP above {limit} mmHg: weigh the risk of a short-term BP rise against the benefit, "
            "and consider delaying. Prescriber's documented justification needed to proceed."
        )
        return _found("CI-05", Klass.RELATIVE, fact, message, missing)
    return _not_recorded("CI-05", missing)


@_rule("CI-06", "poorly controlled cardiovascular disease", Klass.RELATIVE, "S11")
def ci06_cardiovascular(f: IntakeFacts, t: ScreeningThresholds, today: date) -> Finding | None:
    """Why: ASRA [S11] lists poorly controlled cardiovascular disease as a relative
    contraindication (B) and advises a baseline ECG if cardiovascular disease is suspected
    or risk is high. Uncontrolled hypertension is treated as cardiovascular disease here."""
    hit, missing = [], []
    htn, htn_missing = _split(f, ["hypertension"])
    missing += htn_missing
    if htn and f.hypertension_controlled is None:
        missing.append("hypertension_controlled")
    elif htn and f.hypertension_controlled is False:
        hit.append("Hypertension, not controlled")
    cvd, cvd_missing = _split(f, ["ischaemic_heart_disease", "heart_failure", "other_cardiovascular_disease"])
    missing += cvd_missing
    if cvd and f.cardiovascular_disease_controlled is None:
        missing.append("cardiovascular_disease_controlled")
    elif cvd and f.cardiovascular_disease_controlled is False:
        hit.append(f"{_labels(cvd)}, not controlled")
    if hit:
        message = (
            "Poorly controlled cardiovascular disease is a relative contraindication (ASRA, grade B): "
            "review before planning; baseline ECG."
        )
        return _found("CI-06", Klass.RELATIVE, "; ".join(hit), message, missing)
    if missing:
        return _not_recorded("CI-06", missing)
    if cvd:
        message = "Cardiovascular disease recorded as controlled: ASRA advises a baseline ECG when risk is high."
        return _found("CI-06", Klass.MONITOR, f"{_labels(cvd)}, controlled", message)
    return None


@_rule("CI-07", "pregnancy or breast-feeding", Klass.RELATIVE, "S11", "S17")
def ci07_pregnancy(f: IntakeFacts, t: ScreeningThresholds, today: date) -> Finding | None:
    """Why: ASRA [S11] lists pregnancy as a relative contraindication (B); the Spravato
    label [S17] warns of embryo-fetal toxicity and does not recommend breast-feeding. No
    guideline mandates a pregnancy test: testing is clinic policy. Pregnancy and
    breast-feeding must be answered when the patient has childbearing potential."""
    hit = [n for n in ("pregnant", "breastfeeding") if getattr(f, n) is True]
    needed = ["pregnant", "breastfeeding"] if f.childbearing_potential else ["childbearing_potential"]
    missing = [n for n in needed if getattr(f, n) is None]
    if not hit:
        return _not_recorded("CI-07", missing)
    message = (
        "Pregnancy is a relative contraindication (ASRA, grade B) and the Spravato label warns of embryo-fetal "
        "toxicity and does not recommend breast-feeding. Review; pregnancy testing per clinic policy."
    )
    return _found("CI-07", Klass.RELATIVE, _labels(hit), message, missing)


@_rule("CI-08", "psychosis", Klass.RELATIVE, "S11", "S17", "S33")
def ci08_psychosis(f: IntakeFacts, t: ScreeningThresholds, today: date) -> Finding | None:
    """Why: ASRA [S11] lists active psychosis as a relative contraindication (B); the
    Spravato label [S17] advises caution with psychosis; intake guides screen for it [S33]."""
    message = "Psychosis is a relative contraindication (ASRA, grade B; Spravato: caution). Review before planning."
    return _flag_rule(f, "CI-08", ["active_psychosis", "psychosis_history"], Klass.RELATIVE, message)


@_rule("CI-09", "bipolar disorder without a mood stabiliser", Klass.RELATIVE, "S33")
def ci09_bipolar(f: IntakeFacts, t: ScreeningThresholds, today: date) -> Finding | None:
    """Why: practice guidance (Osmind intake guide [S33]) flags bipolar disorder not on a
    mood stabiliser for review."""
    if f.bipolar_or_mania is None:
        return _not_recorded("CI-09", ["bipolar_or_mania"])
    if not f.bipolar_or_mania:
        return None
    if f.on_mood_stabiliser is None:
        return _not_recorded("CI-09", ["on_mood_stabiliser"])
    if f.on_mood_stabiliser:
        return None
    message = "Bipolar disorder or mania without a mood stabiliser: review before planning (practice guidance)."
    return _found("CI-09", Klass.RELATIVE, "Bipolar disorder or mania, no mood stabiliser", message)


@_rule("CI-10", "hepatic disease", Klass.ABSOLUTE, "S11", "S17")
def ci10_hepatic(f: IntakeFacts, t: ScreeningThresholds, today: date) -> Finding | None:
    """Why: ASRA [S11]: avoid in severe hepatic disease, caution in moderate (C), baseline and
    post-infusion LFTs with liver dysfunction; Spravato [S17]: severe impairment not
    recommended, moderate: monitor longer. Severe blocks by default (clinic setting)."""
    if f.hepatic_disease is None:
        return _not_recorded("CI-10", ["hepatic_disease"])
    if not f.hepatic_disease:
        return None
    if f.hepatic_severity is None:
        return _not_recorded("CI-10", ["hepatic_severity"])
    lfts = "baseline and post-infusion liver function tests"
    if f.hepatic_severity == HepaticSeverity.SEVERE:
        klass = Klass.ABSOLUTE if t.severe_hepatic_disease_absolute else Klass.RELATIVE
        action = "do not plan" if klass is Klass.ABSOLUTE else "prescriber review required (clinic setting)"
        message = f"Severe hepatic disease: avoid (ASRA, grade C; Spravato: not recommended): {action}."
    elif f.hepatic_severity == HepaticSeverity.MODERATE:
        klass = Klass.RELATIVE
        message = f"Moderate hepatic disease: caution (ASRA, grade C) with {lfts}; monitor longer (Spravato)."
    else:
        klass = Klass.MONITOR
        message = f"Hepatic disease: ASRA advises {lfts} when liver dysfunction is present."
    return _found("CI-10", klass, f"Hepatic disease, {f.hepatic_severity}", message)


@_rule("CI-11", "raised intracranial or intraocular pressure", Klass.RELATIVE, "S11")
def ci11_icp_iop(f: IntakeFacts, t: ScreeningThresholds, today: date) -> Finding | None:
    """Why: ASRA [S11] lists elevated intracranial or intraocular pressure as a relative
    contraindication (C)."""
    names = ["raised_intracranial_pressure", "raised_intraocular_pressure"]
    message = "Raised intracranial or intraocular pressure is a relative contraindication (ASRA, grade C): review."
    return _flag_rule(f, "CI-11", names, Klass.RELATIVE, message)


@_rule("CI-12", "substance use disorder", Klass.RELATIVE, "S11", "S16", "S17", "S34")
def ci12_substance_use(f: IntakeFacts, t: ScreeningThresholds, today: date) -> Finding | None:
    """Why: ASRA [S11]: no serial infusions in active substance abuse (C); Spravato [S16][S17]:
    careful consideration / caution with a history of substance use disorder; ASA [S34]:
    vigilance for diversion."""
    names = ["substance_use_disorder_active", "substance_use_disorder_history", "ketamine_misuse_history"]
    message = (
        "Substance use disorder: no serial infusions while active (ASRA, grade C); caution with a history "
        "(Spravato); be vigilant for diversion (ASA). Review before planning."
    )
    return _flag_rule(f, "CI-12", names, Klass.RELATIVE, message)


@_rule("CI-13", "pre-eclampsia or untreated hyperthyroidism", Klass.ABSOLUTE, "S28")
def ci13_eclampsia_thyroid(f: IntakeFacts, t: ScreeningThresholds, today: date) -> Finding | None:
    """Why: the Swiss SmPC [S28] contraindicates ketamine in pre-eclampsia/eclampsia and in
    untreated hyperthyroidism. Pre-eclampsia must be answered when pregnant."""
    hit, missing = [], []
    if f.pre_eclampsia:
        hit.append(FACT_LABELS["pre_eclampsia"])
    elif f.pre_eclampsia is None and f.pregnant:
        missing.append("pre_eclampsia")
    if f.hyperthyroidism is None:
        missing.append("hyperthyroidism")
    elif f.hyperthyroidism and f.hyperthyroidism_treated is None:
        missing.append("hyperthyroidism_treated")
    elif f.hyperthyroidism and f.hyperthyroidism_treated is False:
        hit.append("Hyperthyroidism, untreated")
    if not hit:
        return _not_recorded("CI-13", missing)
    message = "Pre-eclampsia/eclampsia and untreated hyperthyroidism are contraindications (Swiss SmPC): do not plan."
    return _found("CI-13", Klass.ABSOLUTE, "; ".join(hit), message, missing)


@_rule("CI-14", "theophylline or aminophylline", Klass.ABSOLUTE, "S25")
def ci14_theophylline(f: IntakeFacts, t: ScreeningThresholds, today: date) -> Finding | None:
    """Why: the Ketalar label [S25]: do not co-administer with theophylline/aminophylline
    (lowered seizure threshold). Blocks until the medication question is resolved."""
    message = (
        "Theophylline/aminophylline must not be co-administered with ketamine (seizure threshold lowered): "
        "blocked until resolved with the prescriber."
    )
    return _flag_rule(f, "CI-14", ["takes_theophylline_or_aminophylline"], Klass.ABSOLUTE, message)


_CI15_WHY: Final = {
    "takes_benzodiazepine": "profound sedation and respiratory depression",
    "takes_opioid": "profound sedation and respiratory depression",
    "takes_other_sedative": "profound sedation and respiratory depression",
    "takes_psychostimulant": "monitor vital signs (sympathomimetic)",
    "takes_maoi": "captured on the REMS monitoring form",
}


@_rule("CI-15", "sedatives, opioids, stimulants or MAOIs", Klass.INTERACTION, "S13", "S25")
def ci15_interactions(f: IntakeFacts, t: ScreeningThresholds, today: date) -> Finding | None:
    """Why: the Ketalar label [S25]: benzodiazepines, opioids and other CNS depressants risk
    profound sedation and respiratory depression, sympathomimetics need vital-sign
    monitoring; the Spravato REMS form [S13] records these classes and MAOIs."""
    hit, missing = _split(f, _CI15_WHY)
    if not hit:
        return _not_recorded("CI-15", missing)
    reasons = "; ".join(f"{FACT_LABELS[n]}: {_CI15_WHY[n]}" for n in hit)
    message = f"Interacting medication. {reasons}. Review and monitor closely."
    return _found("CI-15", Klass.INTERACTION, _labels(hit), message, missing)


@_rule("CI-16", "cystitis or urinary symptoms", Klass.MONITOR, "S23")
def ci16_cystitis(f: IntakeFacts, t: ScreeningThresholds, today: date) -> Finding | None:
    """Why: the Spravato label warns of ulcerative/interstitial cystitis [S23]: flag and
    monitor urinary symptoms."""
    message = "Cystitis or urinary symptoms (Spravato label warning): monitor urinary symptoms through the series."
    return _flag_rule(f, "CI-16", ["cystitis_or_urinary_symptoms"], Klass.MONITOR, message)


@_rule("CI-17", "age outside the adult indication", Klass.ABSOLUTE, "S17")
def ci17_age(f: IntakeFacts, t: ScreeningThresholds, today: date) -> Finding | None:
    """Why: the Spravato label [S17] indicates esketamine for adults; the reference gives
    no paediatric use of IV ketamine for these indications. Under 18 blocks unless the
    clinic makes it a prescriber review; above the clinic's upper age (clinic policy, no
    sourced number) a prescriber reviews. Not in the reference's table 5.3: added so that
    age is never unscreened."""
    if f.date_of_birth is None:
        return _not_recorded("CI-17", ["date_of_birth"])
    age = age_years(f.date_of_birth, today)
    if age < ADULT_AGE_YEARS:
        klass = Klass.ABSOLUTE if t.minor_absolute else Klass.RELATIVE
        action = "do not plan" if klass is Klass.ABSOLUTE else "prescriber review required (clinic setting)"
        message = f"Age {age}: under {ADULT_AGE_YEARS}, outside the adult indication (Spravato label): {action}."
        return _found("CI-17", klass, f"age {age} years", message)
    if age > t.age_review_above_years:
        message = (
            f"Age {age}: above {t.age_review_above_years} years (clinic policy): prescriber review of the "
            "cardiovascular and cognitive risk before planning."
        )
        return _found("CI-17", Klass.RELATIVE, f"age {age} years", message)
    return None


@_rule("PD-03", "PHQ-9 item 9 positive: C-SSRS required", Klass.MONITOR, "S36")
def pd03_item9_gate(f: IntakeFacts, t: ScreeningThresholds, today: date) -> Finding | None:
    """Why: any PHQ-9 item 9 answer other than "not at all" (>0) calls for further suicide
    assessment [S36]: the C-SSRS screener must be on record before an infusion."""
    if f.phq9_item9 is None:
        return _not_recorded("PD-03", ["phq9_item9"])
    if f.phq9_item9 > 0 and f.cssrs_risk is None:
        message = "PHQ-9 item 9 is positive: administer the C-SSRS screener before any infusion."
        return _found("PD-03", Klass.MONITOR, f"PHQ-9 item 9 = {f.phq9_item9}", message, ["cssrs_risk"])
    return None


@_rule("PD-04", "C-SSRS moderate or high risk", Klass.RELATIVE, "S95")
def pd04_cssrs_risk(f: IntakeFacts, t: ScreeningThresholds, today: date) -> Finding | None:
    """Why: C-SSRS screener triage moderate (item 3, or item 6 lifetime only) or high (item
    4/5, or item 6 within 3 months) [S95] → a documented prescriber decision before any
    infusion; the same levels raise a safety alert. The gate is clinic workflow design, not
    a guideline. Whether the screener is needed at all is PD-03's question."""
    if f.cssrs_risk not in CSSRS_LEVELS[2:]:
        return None
    message = (
        f"C-SSRS screener risk is {f.cssrs_risk}: prescriber review and a documented decision before any "
        "infusion (clinic workflow; the triage level is from the C-SSRS, the gate is not a guideline)."
    )
    return _found("PD-04", Klass.RELATIVE, f"C-SSRS screener risk: {f.cssrs_risk}", message)


# --- Screening ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScreeningResult:
    outcome: Outcome
    findings: tuple[Finding, ...]
    missing_facts: tuple[str, ...]
    screened_on: date
    thresholds: ScreeningThresholds
    rule_set_version: str = RULE_SET_VERSION

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready snapshot to store with the signature."""
        return {
            "outcome": str(self.outcome),
            "rule_set_version": self.rule_set_version,
            "screened_on": self.screened_on.isoformat(),
            "findings": [
                {**asdict(x), "klass": str(x.klass), "missing_facts": list(x.missing_facts)} for x in self.findings
            ],
            "missing_facts": list(self.missing_facts),
            "thresholds": asdict(self.thresholds),
        }


def outcome_of(findings: Iterable[Finding]) -> Outcome:
    """Any absolute → ineligible; any other finding (missing data included) → needs review."""
    klasses = {finding.klass for finding in findings}
    if Klass.ABSOLUTE in klasses:
        return Outcome.INELIGIBLE
    return Outcome.NEEDS_REVIEW if klasses else Outcome.ELIGIBLE


def _run(facts: IntakeFacts, thresholds: ScreeningThresholds, today: date) -> list[Finding]:
    if facts.date_of_birth is not None and facts.date_of_birth > today:
        raise ValueError("date_of_birth: after the screening date")
    order = {rule_id: i for i, rule_id in enumerate(RULES)}
    findings = [x for rule in RULES.values() if (x := rule.check(facts, thresholds, today)) is not None]
    return sorted(findings, key=lambda x: (KLASS_ORDER[x.klass], order[x.rule_id]))


def missing_facts(
    facts: IntakeFacts, thresholds: ScreeningThresholds = DEFAULT_THRESHOLDS, *, today: date
) -> tuple[str, ...]:
    """Names of facts the rules need but that are not recorded, in ``IntakeFacts`` order.
    Conditional facts appear only when relevant (``hypertension_controlled`` if hypertensive)."""
    return _missing_in_fact_order(_run(facts, thresholds, today))


def _missing_in_fact_order(findings: Iterable[Finding]) -> tuple[str, ...]:
    needed = {name for finding in findings for name in finding.missing_facts}
    return tuple(name for name in FACT_LABELS if name in needed)


def screen(facts: IntakeFacts, thresholds: ScreeningThresholds = DEFAULT_THRESHOLDS, *, today: date) -> ScreeningResult:
    """Run every intake rule. Findings come absolute → relative → interaction → monitor,
    then in rule order; the outcome follows ``outcome_of``."""
    findings = _run(facts, thresholds, today)
    return ScreeningResult(
        outcome=outcome_of(findings),
        findings=tuple(findings),
        missing_facts=_missing_in_fact_order(findings),
        screened_on=today,
        thresholds=thresholds,
    )


# --- Helpers for the intake form ------------------------------------------------------------


def trd_recognised(facts: IntakeFacts, thresholds: ScreeningThresholds = DEFAULT_THRESHOLDS) -> bool:
    """TRD is recognised at ≥ ``trd_min_adequate_trials`` (default 2) prior adequate
    antidepressant trials. The count is the product brief's, not from a source in
    clinical-reference.md: clinic policy, UNVERIFIED. Not recorded → not recognised."""
    trials = facts.prior_adequate_antidepressant_trials
    return trials is not None and trials >= thresholds.trd_min_adequate_trials


def age_years(date_of_birth: date, today: date) -> int:
    """Completed years on ``today`` (a 29 February birthday turns over on 1 March)."""
    if date_of_birth > today:
        raise ValueError("date_of_birth: after today")
    return today.year - date_of_birth.year - ((today.month, today.day) < (date_of_birth.month, date_of_birth.day))


def bmi_kg_m2(facts: IntakeFacts) -> Decimal | None:
    """Body-mass index, weight / height², rounded half-up to 0.1; ``None`` if either is missing."""
    if facts.weight_kg is None or facts.height_cm is None:
        return None
    metres = Decimal(facts.height_cm) / 100
    return (Decimal(facts.weight_kg) / (metres * metres)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
