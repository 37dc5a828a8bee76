"""Validated instruments: definitions, scoring, and change between two scores.

One pure module so that every stage (portal questionnaires, pre-infusion gates, the
flowsheet, discharge, outcome reports) scores the same way: no Django, no database, no
clock. Bands, cut-offs and flags follow clinical-reference.md section 3 and each
constant cites its source key there ([Sx]). Keeping them in one place is the answer to
the OpenEMR failure mode the reference documents [S55]: severity labels that drifted
away from the published bands.

    >>> score("phq9", [1, 2, 0, 3, 1, 0, 2, 1, 1]).severity
    'moderate'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Final, TypeGuard

# --- Flags (values stored with a response; other apps match on these strings) -----------
FLAG_SUICIDAL_IDEATION: Final = "suicidal_ideation"
FLAG_PROVISIONAL_PTSD_CUTOFF: Final = "provisional_ptsd_cutoff"
FLAG_PROVISIONAL_PTSD_DSM: Final = "provisional_ptsd_dsm"
FLAG_LOSS_OF_CONSCIOUSNESS: Final = "loss_of_consciousness"
FLAG_DISCHARGE_THRESHOLD_MET: Final = "discharge_threshold_met"

# --- Thresholds ------------------------------------------------------------------------
PHQ9_SUICIDE_ITEM: Final = 9  # any answer other than "not at all" (>0) on item 9 [S36]
PCL5_CUTOFF_DEFAULT: Final = 33  # provisional PTSD at total ≥31–33; upper end of it [S87]
PCL5_ENDORSED_MIN: Final = 2  # an item rated ≥2 ("moderately") counts as endorsed [S87]
# DSM-5 cluster rule: (cluster, item numbers, endorsed items needed) [S87]
PCL5_CLUSTERS: Final = (
    ("B", range(1, 6), 1),
    ("C", range(6, 8), 1),
    ("D", range(8, 15), 2),
    ("E", range(15, 21), 2),
)
# QIDS-SR16: nine domains; sleep (1–4), appetite/weight (6–9), psychomotor (15–16) score
# the highest item of the domain [S92]
QIDS_DOMAINS: Final = (
    (1, 2, 3, 4),
    (5,),
    (6, 7, 8, 9),
    (10,),
    (11,),
    (12,),
    (13,),
    (14,),
    (15, 16),
)
MOAAS_LOSS_OF_CONSCIOUSNESS: Final = 0  # MOAA/S 0 = loss of consciousness [S15][S106]
DISCHARGE_THRESHOLD_DEFAULT: Final = 9  # Aldrete ≥9 [S102][S103]; PADSS ≥9 [S104][S105]
# PADSS surgical bleeding on a visit without a surgical site: the item's "minimal" anchor
# is literally true, and scoring it keeps the ≥9 threshold on its published 0–10 scale.
# The reference asks for a convention [S104]; this is it (clinician to confirm).
PADSS_BLEEDING_NOT_APPLICABLE: Final = 2
RESPONSE_MIN_REDUCTION_PERCENT: Final = 50  # PHQ-9 [S37]; MADRS, ketamine trials [S3b]
PHQ9_MEASURE_MIN_BASELINE: Final = 10  # NQF response/remission need baseline >9 [S37]
PHQ9_REMISSION_MAX: Final = 4  # remission is PHQ-9 <5 (CMS159) [S37]
MADRS_REMISSION_MAX_DEFAULT: Final = 10  # ≤10 common, some trials ≤12: configurable [S89][S3b]
QIDS_REMISSION_MAX: Final = 5  # ≤5, STAR*D convention (secondary source) [S91][S92]
IMMPACT_SUBSTANTIAL_PERCENT: Final = 50  # ≥50% pain reduction = substantial [S35]
IMMPACT_MODERATE_PERCENT: Final = 30  # ≥30% pain reduction = moderate [S35]
PERCENT_QUANTUM: Final = Decimal("0.1")

# C-SSRS screener triage levels and their LOINC 93374-7 answers [S95][S97]
CSSRS_LEVELS: Final = ("", "low", "moderate", "high")
CSSRS_RISK_LOINC: Final = "93374-7"
CSSRS_RISK_LOINC_ANSWERS: Final = {"low": "LA9194-7", "moderate": "LA6751-7", "high": "LA9193-9"}


@dataclass(frozen=True, slots=True)
class Band:
    """A published severity band: totals ``low``..``high`` inclusive."""

    low: int
    high: int
    name: str


PHQ9_BANDS: Final = (  # Kroenke 2001 [S38]
    Band(0, 4, "none/minimal"),
    Band(5, 9, "mild"),
    Band(10, 14, "moderate"),
    Band(15, 19, "moderately severe"),
    Band(20, 27, "severe"),
)
GAD7_BANDS: Final = (  # Spitzer 2006 [S85]
    Band(0, 4, "minimal"),
    Band(5, 9, "mild"),
    Band(10, 14, "moderate"),
    Band(15, 21, "severe"),
)
MADRS_BANDS: Final = (  # Snaith cut-points [S89]; Müller's split at 31 not used [S90]
    Band(0, 6, "normal"),
    Band(7, 19, "mild"),
    Band(20, 34, "moderate"),
    Band(35, 60, "severe"),
)
QIDS_BANDS: Final = (  # ids-qids.org interpretation table [S91]
    Band(0, 5, "none"),
    Band(6, 10, "mild"),
    Band(11, 15, "moderate"),
    Band(16, 20, "severe"),
    Band(21, 27, "very severe"),
)
# 1–3 / 4–6 / 7–10 [S98][S99]. 0 is the published "no pain" anchor [S98], so it gets its
# own name rather than "": "" stays reserved for "this instrument has no bands".
NRS_PAIN_BANDS: Final = (
    Band(0, 0, "none"),
    Band(1, 3, "mild"),
    Band(4, 6, "moderate"),
    Band(7, 10, "severe"),
)
# The C-SSRS "total" is the triage level as an ordinal (0 = all no … 3 = high) [S95]
CSSRS_BANDS: Final = (Band(1, 1, "low"), Band(2, 2, "moderate"), Band(3, 3, "high"))


@dataclass(frozen=True, slots=True)
class Instrument:
    """One instrument as the app administers it.

    ``version`` is our definition version: bump it when wording, bands or rules change so
    a stored response records which definition scored it. ``items_verbatim`` says whether
    ``items`` is the published wording (public-domain instruments) or a short label only
    (MADRS, QIDS-SR16, CADSS). ``answer_labels`` are options shared by every item (index =
    value); ``item_answer_labels`` are per-item anchors where options differ by item.
    ``answer_keys`` is set only for the mapping-shaped C-SSRS screener.
    """

    code: str
    name: str
    version: str
    source: str
    item_count: int
    item_min: int
    item_max: int
    total_min: int
    total_max: int
    items: tuple[str, ...]
    items_verbatim: bool
    stem: str = ""
    answer_labels: tuple[str, ...] = ()
    item_answer_labels: tuple[tuple[str, ...], ...] = ()
    bands: tuple[Band, ...] = ()
    answer_keys: tuple[str, ...] = ()
    loinc_panel: str = ""
    loinc_total: str = ""
    loinc_items: tuple[str, ...] = ()
    loinc_answers: tuple[str, ...] = ()
    unscored_item: str = ""
    unscored_item_loinc: str = ""

    @property
    def severity_names(self) -> tuple[str, ...]:
        return tuple(band.name for band in self.bands)


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """Scored answers. ``flags`` is a frozenset (equal to the same ``set``) so a result
    can be shared without anyone adding a flag to it after the fact."""

    total: int
    severity: str
    flags: frozenset[str]


@dataclass(frozen=True, slots=True)
class Change:
    """Change between two totals of one instrument.

    ``percent_change`` is signed (negative = fewer symptoms), rounded half-up to 0.1;
    ``None`` when the baseline is 0. ``response`` and ``remission`` are ``None`` where the
    instrument has no such rule or the rule does not apply (PHQ-9 baseline ≤9).
    ``pain_improvement`` is the IMMPACT category for ``nrs_pain``, otherwise "".
    """

    code: str
    baseline_total: int
    current_total: int
    percent_change: Decimal | None
    response: bool | None
    remission: bool | None
    pain_improvement: str


_FREQUENCY = ("Not at all", "Several days", "More than half the days", "Nearly every day")
_PCL5_OPTIONS = ("Not at all", "A little bit", "Moderately", "Quite a bit", "Extremely")

INSTRUMENTS: dict[str, Instrument] = {
    "phq9": Instrument(
        code="phq9",
        name="Patient Health Questionnaire-9 (PHQ-9)",
        version="1",
        source="[S38][S39][S84]",
        item_count=9,
        item_min=0,
        item_max=3,
        total_min=0,
        total_max=27,
        stem="Over the last 2 weeks, how often have you been bothered by any of the following problems?",
        items=(
            "Little interest or pleasure in doing things",
            "Feeling down, depressed, or hopeless",
            "Trouble falling or staying asleep, or sleeping too much",
            "Feeling tired or having little energy",
            "Poor appetite or overeating",
            "Feeling bad about yourself — or that you are a failure or have let yourself or your family down",
            "Trouble concentrating on things, such as reading the newspaper or watching television",
            "Moving or speaking so slowly that other people could have noticed? Or the "
            "opposite — being so fidgety or restless that you have been moving around a lot "
            "more than usual",
            "Thoughts that you would be better off dead or of hurting yourself in some way",
        ),
        items_verbatim=True,
        answer_labels=_FREQUENCY,
        bands=PHQ9_BANDS,
        loinc_panel="44249-1",
        loinc_total="44261-6",
        loinc_items=(
            "44250-9",
            "44255-8",
            "44259-0",
            "44254-1",
            "44251-7",
            "44258-2",
            "44252-5",
            "44253-3",
            "44260-8",
        ),
        loinc_answers=("LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"),
        unscored_item="If you checked off any problems, how difficult have these problems "
        "made it for you to do your work, take care of things at home, or get along with "
        "other people?",
        unscored_item_loinc="69722-7",
    ),
    "gad7": Instrument(
        code="gad7",
        name="Generalized Anxiety Disorder-7 (GAD-7)",
        version="1",
        source="[S85][S86]",
        item_count=7,
        item_min=0,
        item_max=3,
        total_min=0,
        total_max=21,
        stem="Over the last 2 weeks, how often have you been bothered by the following problems?",
        items=(
            "Feeling nervous, anxious, or on edge",
            "Not being able to stop or control worrying",
            "Worrying too much about different things",
            "Trouble relaxing",
            "Being so restless that it is hard to sit still",
            "Becoming easily annoyed or irritable",
            "Feeling afraid, as if something awful might happen",
        ),
        items_verbatim=True,
        answer_labels=_FREQUENCY,
        bands=GAD7_BANDS,
        loinc_panel="69737-5",
        loinc_total="70274-6",
        loinc_items=(
            "69725-0",
            "68509-9",
            "69733-4",
            "69734-2",
            "69735-9",
            "69689-8",
            "69736-7",
        ),
    ),
    "pcl5": Instrument(
        code="pcl5",
        name="PTSD Checklist for DSM-5 (PCL-5), past month",
        version="1",
        source="[S87][S88]",
        item_count=20,
        item_min=0,
        item_max=4,
        total_min=0,
        total_max=80,
        stem="In the past month, how much were you bothered by:",
        items=(
            "Repeated, disturbing, and unwanted memories of the stressful experience?",
            "Repeated, disturbing dreams of the stressful experience?",
            "Suddenly feeling or acting as if the stressful experience were actually "
            "happening again (as if you were actually back there reliving it)?",
            "Feeling very upset when something reminded you of the stressful experience?",
            "Having strong physical reactions when something reminded you of the stressful "
            "experience (for example, heart pounding, trouble breathing, sweating)?",
            "Avoiding memories, thoughts, or feelings related to the stressful experience?",
            "Avoiding external reminders of the stressful experience (for example, people, "
            "places, conversations, activities, objects, or situations)?",
            "Trouble remembering important parts of the stressful experience?",
            "Having strong negative beliefs about yourself, other people, or the world (for "
            "example, having thoughts such as: I am bad, there is something seriously wrong "
            "with me, no one can be trusted, the world is completely dangerous)?",
            "Blaming yourself or someone else for the stressful experience or what happened after it?",
            "Having strong negative feelings such as fear, horror, anger, guilt, or shame?",
            "Loss of interest in activities that you used to enjoy?",
            "Feeling distant or cut off from other people?",
            "Trouble experiencing positive feelings (for example, being unable to feel "
            "happiness or have loving feelings for people close to you)?",
            "Irritable behavior, angry outbursts, or acting aggressively?",
            "Taking too many risks or doing things that could cause you harm?",
            'Being "superalert" or watchful or on guard?',
            "Feeling jumpy or easily startled?",
            "Having difficulty concentrating?",
            "Trouble falling or staying asleep?",
        ),
        items_verbatim=True,
        answer_labels=_PCL5_OPTIONS,
    ),
    "madrs": Instrument(
        code="madrs",
        name="Montgomery–Åsberg Depression Rating Scale (MADRS), clinician-rated",
        version="1",
        source="[S89][S90][S3b]",
        item_count=10,
        item_min=0,
        item_max=6,
        total_min=0,
        total_max=60,
        items=(
            "Apparent sadness",
            "Reported sadness",
            "Inner tension",
            "Reduced sleep",
            "Reduced appetite",
            "Concentration difficulties",
            "Lassitude",
            "Inability to feel",
            "Pessimistic thoughts",
            "Suicidal thoughts",
        ),
        items_verbatim=False,
        bands=MADRS_BANDS,
    ),
    "qids_sr16": Instrument(
        code="qids_sr16",
        name="Quick Inventory of Depressive Symptomatology, self-report (QIDS-SR16)",
        version="1",
        source="[S91][S92]",
        item_count=16,
        item_min=0,
        item_max=3,
        total_min=0,
        total_max=27,
        items=(
            "Falling asleep",
            "Sleep during the night",
            "Waking up too early",
            "Sleeping too much",
            "Feeling sad",
            "Decreased appetite",
            "Increased appetite",
            "Decreased weight (last two weeks)",
            "Increased weight (last two weeks)",
            "Concentration / decision making",
            "View of myself",
            "Thoughts of death or suicide",
            "General interest",
            "Energy level",
            "Feeling slowed down",
            "Feeling restless",
        ),
        items_verbatim=False,
        bands=QIDS_BANDS,
    ),
    "cadss6": Instrument(
        code="cadss6",
        name="Clinician-Administered Dissociative States Scale, 6-item (CADSS-6)",
        version="1",
        source="[S94]",
        item_count=6,
        item_min=0,
        item_max=4,
        total_min=0,
        total_max=24,
        items=(
            "CADSS item 1: things seem to move in slow motion",
            "CADSS item 2: things seem unreal, as in a dream",
            "CADSS item 6: feeling disconnected from one's body",
            "CADSS item 7: sense of one's body feels changed",
            "CADSS item 15: spacing out, losing track of what is going on",
            "CADSS item 22",
        ),
        items_verbatim=False,
        answer_labels=("Not at all", "Slightly", "Moderately", "Considerably", "Extremely"),
    ),
    "nrs_pain": Instrument(
        code="nrs_pain",
        name="Numeric Rating Scale for pain (NRS-11)",
        version="1",
        source="[S98][S99][S35][S100]",
        item_count=1,
        item_min=0,
        item_max=10,
        total_min=0,
        total_max=10,
        items=("Pain intensity",),
        items_verbatim=False,
        answer_labels=("0 – no pain", *map(str, range(1, 10)), "10 – worst imaginable pain"),
        bands=NRS_PAIN_BANDS,
        loinc_total="72514-3",
    ),
    "moaas": Instrument(
        code="moaas",
        name="Modified Observer's Assessment of Alertness/Sedation (MOAA/S)",
        version="1",
        source="[S106][S15]",
        item_count=1,
        item_min=0,
        item_max=5,
        total_min=0,
        total_max=5,
        items=("Responsiveness",),
        items_verbatim=False,
        answer_labels=(
            "No response to painful trapezius squeeze",
            "Responds only after painful trapezius squeeze",
            "Responds only after mild prodding or shaking",
            "Responds only after name is called loudly and/or repeatedly",
            "Lethargic response to name spoken in normal tone",
            "Responds readily to name spoken in normal tone",
        ),
    ),
    "aldrete": Instrument(
        code="aldrete",
        name="Modified Aldrete score",
        version="1",
        source="[S102][S103]",
        item_count=5,
        item_min=0,
        item_max=2,
        total_min=0,
        total_max=10,
        items=("Activity", "Respiration", "Circulation", "Consciousness", "SpO₂"),
        items_verbatim=False,
        # Only the circulation anchor for 2 has a number in the reference; 1 and 0 follow
        # the unit's own table rather than numbers we could not source [S102].
        item_answer_labels=(
            ("Moves no limbs", "Moves two limbs", "Moves all four limbs"),
            ("Apnoeic", "Dyspnoea or limited breathing", "Breathes deeply and coughs freely"),
            (
                "BP far from pre-sedation level (unit table)",
                "BP moderately off pre-sedation level (unit table)",
                "BP within ±20 mmHg (or ±20%) of pre-sedation level",
            ),
            ("Not responding", "Arousable on calling", "Fully awake"),
            ("<90% even with O₂", "Needs O₂ to keep >90%", ">92% on room air"),
        ),
    ),
    "padss": Instrument(
        code="padss",
        name="Post-Anaesthetic Discharge Scoring System (PADSS, Chung 1995)",
        version="1",
        source="[S104][S105]",
        item_count=5,
        item_min=0,
        item_max=2,
        total_min=0,
        total_max=10,
        items=(
            "Vital signs",
            "Activity and mental status",
            "Pain, nausea and/or vomiting",
            "Surgical bleeding (no surgical site: score 2)",
            "Intake and output",
        ),
        items_verbatim=False,
        item_answer_labels=(
            (">40% from pre-procedure", "20–40% from pre-procedure", "Within 20% of pre-procedure"),
            (
                "Neither oriented nor steady gait",
                "Oriented or steady gait",
                "Oriented and steady gait",
            ),
            ("Severe", "Moderate, needed treatment", "Minimal"),
            ("Severe", "Moderate", "Minimal, or no surgical site"),
            ("Neither", "Oral fluids or voided", "Oral fluids and voided"),
        ),
    ),
    "cssrs_screen": Instrument(
        code="cssrs_screen",
        name="Columbia Suicide Severity Rating Scale, screener (C-SSRS)",
        version="1",
        source="[S95][S96][S97]",
        item_count=7,
        item_min=0,
        item_max=1,
        total_min=0,
        total_max=3,
        stem="Past month (questions 1–5). Ask 1 and 2; if 2 is yes, ask 3, 4 and 5. Always "
        "ask 6, and if yes, whether it was within the past 3 months.",
        items=(
            "Have you wished you were dead or wished you could go to sleep and not wake up?",
            "Have you actually had any thoughts of killing yourself?",
            "Have you been thinking about how you might do this?",
            "Have you had these thoughts and had some intention of acting on them?",
            "Have you started to work out or worked out the details of how to kill "
            "yourself? Do you intend to carry out this plan?",
            "Have you ever done anything, started to do anything, or prepared to do anything to end your life?",
            "Was this within the past 3 months?",
        ),
        items_verbatim=True,
        answer_labels=("No", "Yes"),
        answer_keys=("q1", "q2", "q3", "q4", "q5", "q6", "q6_past_3_months"),
        bands=CSSRS_BANDS,
        loinc_total=CSSRS_RISK_LOINC,
    ),
}


# --- Validation ------------------------------------------------------------------------


def _instrument(code: str) -> Instrument:
    try:
        return INSTRUMENTS[code]
    except (KeyError, TypeError):
        known = ", ".join(sorted(INSTRUMENTS))
        raise ValueError(f"unknown instrument code {code!r} (known: {known})") from None


def _is_int(value: object) -> TypeGuard[int]:
    # bool is an int subclass; True as "1" is almost always a form bug, so refuse it.
    return isinstance(value, int) and not isinstance(value, bool)


def _check_items(inst: Instrument, answers: object) -> tuple[int, ...]:
    """Why strict: a silently coerced "2" or 2.0 hides a form bug that would mis-score."""
    if isinstance(answers, str | bytes | bytearray) or not isinstance(answers, Sequence):
        raise ValueError(
            f"{inst.code} answers must be a list of {inst.item_count} integers, got {type(answers).__name__}"
        )
    count = len(answers)
    if count < inst.item_count:
        raise ValueError(
            f"{inst.code} item {count + 1}: missing answer (expected {inst.item_count} answers, got {count})"
        )
    if count > inst.item_count:
        raise ValueError(
            f"{inst.code} item {inst.item_count + 1}: unexpected answer "
            f"(expected {inst.item_count} answers, got {count})"
        )
    for number, value in enumerate(answers, start=1):
        if not _is_int(value):
            raise ValueError(f"{inst.code} item {number}: {value!r} is not an integer")
        if not inst.item_min <= value <= inst.item_max:
            raise ValueError(f"{inst.code} item {number}: {value} is outside {inst.item_min}–{inst.item_max}")
    return tuple(answers)


def _check_cssrs(inst: Instrument, answers: object) -> dict[str, bool]:
    """Every key must be present: a skipped question is recorded as False by the form, so
    a missing key means a lost answer, not a "no"."""
    if not isinstance(answers, Mapping):
        raise ValueError(
            f"{inst.code} answers must be a mapping of {', '.join(inst.answer_keys)} to bool, "
            f"got {type(answers).__name__}"
        )
    for key in inst.answer_keys:
        if key not in answers:
            raise ValueError(f"{inst.code} item {key}: missing answer")
    for key in answers:
        if key not in inst.answer_keys:
            raise ValueError(f"{inst.code} item {key!r}: unexpected answer")
    for key in inst.answer_keys:
        if not isinstance(answers[key], bool):
            raise ValueError(f"{inst.code} item {key}: {answers[key]!r} is not a bool")
    return {key: answers[key] for key in inst.answer_keys}


def _check_total(inst: Instrument, label: str, value: object) -> int:
    if not _is_int(value):
        raise ValueError(f"{inst.code} {label}: {value!r} is not an integer")
    if not inst.total_min <= value <= inst.total_max:
        raise ValueError(f"{inst.code} {label}: {value} is outside {inst.total_min}–{inst.total_max}")
    return value


def _band_name(bands: Sequence[Band], total: int) -> str:
    return next((band.name for band in bands if band.low <= total <= band.high), "")


# --- Per-instrument rules --------------------------------------------------------------


def pcl5_cutoff_met(total: int, *, cutoff: int = PCL5_CUTOFF_DEFAULT) -> bool:
    """Provisional PTSD by total score. The reference gives ≥31–33 [S87], so the cut-off is
    a clinic setting; score() records the default (33, the more specific end)."""
    inst = INSTRUMENTS["pcl5"]
    _check_total(inst, "cutoff", cutoff)
    return _check_total(inst, "total", total) >= cutoff


def pcl5_dsm_rule_met(answers: Sequence[int]) -> bool:
    """Provisional PTSD by the DSM-5 symptom pattern: an item rated ≥2 is endorsed; needs
    ≥1 in B (1–5), ≥1 in C (6–7), ≥2 in D (8–14), ≥2 in E (15–20) [S87]."""
    return _pcl5_dsm(_check_items(INSTRUMENTS["pcl5"], answers))


def _pcl5_dsm(items: Sequence[int]) -> bool:
    endorsed = [n for n, value in enumerate(items, start=1) if value >= PCL5_ENDORSED_MIN]
    return all(sum(n in numbers for n in endorsed) >= needed for _, numbers, needed in PCL5_CLUSTERS)


def qids_sr16_total(answers: Sequence[int]) -> int:
    """Sum of nine domains; a domain with several items scores its highest item, so the
    total is 0–27, not the 0–48 a plain sum would give [S92]."""
    return _qids_total(_check_items(INSTRUMENTS["qids_sr16"], answers))


def _qids_total(items: Sequence[int]) -> int:
    return sum(max(items[n - 1] for n in domain) for domain in QIDS_DOMAINS)


def discharge_threshold_met(code: str, total: int, *, threshold: int = DISCHARGE_THRESHOLD_DEFAULT) -> bool:
    """Aldrete or PADSS total at or above the discharge threshold. The threshold is
    institution-defined (≥9 common, some use ≥8 with full respiration and SpO₂ points)
    [S102][S103][S104], so gates pass the clinic's configured value; score() records the
    reference default. PADSS also requires a competent adult escort, checked elsewhere."""
    if code not in {"aldrete", "padss"}:
        raise ValueError(f"{code!r} has no discharge threshold (use 'aldrete' or 'padss')")
    inst = INSTRUMENTS[code]
    _check_total(inst, "threshold", threshold)
    return _check_total(inst, "total", total) >= threshold


def cssrs_risk_level(answers: Mapping[str, bool]) -> str:
    """Screener triage [S95][S97]: 1–2 only → low; 3 → moderate; 4 or 5 → high; 6 within
    the past 3 months → high; 6 lifetime only → moderate; all no → "".

    Skip logic: 3–5 are asked only when 2 is yes, and "past 3 months" only when 6 is yes.
    A yes recorded anyway (question asked regardless, patient volunteered, paper form
    transcribed) still counts: it is the more specific statement, and under-triage is the
    costlier error. ``cssrs_skip_logic_conflicts`` lists such answers for review. For the
    "since last contact" version, behaviour counts as recent [S96]: pass q6_past_3_months=q6.
    """
    return CSSRS_LEVELS[_cssrs_ordinal(_check_cssrs(INSTRUMENTS["cssrs_screen"], answers))]


def cssrs_skip_logic_conflicts(answers: Mapping[str, bool]) -> tuple[str, ...]:
    """Yes answers the screener's skip logic would not have asked, for a clinician to
    reconcile; they are still counted in the risk level (see cssrs_risk_level)."""
    a = _check_cssrs(INSTRUMENTS["cssrs_screen"], answers)
    skipped = [] if a["q2"] else ["q3", "q4", "q5"]
    skipped += [] if a["q6"] else ["q6_past_3_months"]
    return tuple(key for key in skipped if a[key])


def _cssrs_ordinal(a: Mapping[str, bool]) -> int:
    if a["q4"] or a["q5"] or a["q6_past_3_months"]:
        return 3
    if a["q3"] or a["q6"]:
        return 2
    if a["q1"] or a["q2"]:
        return 1
    return 0


# --- score() ---------------------------------------------------------------------------


def _result(inst: Instrument, total: int, flags: set[str] | None = None) -> ScoreResult:
    return ScoreResult(total, _band_name(inst.bands, total), frozenset(flags or ()))


def _score_sum(inst: Instrument, answers: object) -> ScoreResult:
    return _result(inst, sum(_check_items(inst, answers)))


def _score_phq9(inst: Instrument, answers: object) -> ScoreResult:
    items = _check_items(inst, answers)
    flags = {FLAG_SUICIDAL_IDEATION} if items[PHQ9_SUICIDE_ITEM - 1] > 0 else set()
    return _result(inst, sum(items), flags)


def _score_pcl5(inst: Instrument, answers: object) -> ScoreResult:
    items = _check_items(inst, answers)
    total = sum(items)
    flags = set()
    if pcl5_cutoff_met(total):
        flags.add(FLAG_PROVISIONAL_PTSD_CUTOFF)
    if _pcl5_dsm(items):
        flags.add(FLAG_PROVISIONAL_PTSD_DSM)
    return _result(inst, total, flags)


def _score_qids(inst: Instrument, answers: object) -> ScoreResult:
    return _result(inst, _qids_total(_check_items(inst, answers)))


def _score_moaas(inst: Instrument, answers: object) -> ScoreResult:
    (level,) = _check_items(inst, answers)
    flags = {FLAG_LOSS_OF_CONSCIOUSNESS} if level == MOAAS_LOSS_OF_CONSCIOUSNESS else set()
    return _result(inst, level, flags)


def _score_discharge(inst: Instrument, answers: object) -> ScoreResult:
    total = sum(_check_items(inst, answers))
    met = discharge_threshold_met(inst.code, total)
    return _result(inst, total, {FLAG_DISCHARGE_THRESHOLD_MET} if met else set())


def _score_cssrs(inst: Instrument, answers: object) -> ScoreResult:
    return _result(inst, _cssrs_ordinal(_check_cssrs(inst, answers)))


_SCORERS: dict[str, Callable[[Instrument, object], ScoreResult]] = {
    "phq9": _score_phq9,
    "gad7": _score_sum,
    "pcl5": _score_pcl5,
    "madrs": _score_sum,
    "qids_sr16": _score_qids,
    "cadss6": _score_sum,
    "nrs_pain": _score_sum,
    "moaas": _score_moaas,
    "aldrete": _score_discharge,
    "padss": _score_discharge,
    "cssrs_screen": _score_cssrs,
}


def score(code: str, answers: Sequence[int] | Mapping[str, bool]) -> ScoreResult:
    """Score one administration of instrument ``code``.

    Answers are the items in published order (ints), or for ``cssrs_screen`` a mapping
    of every key in ``INSTRUMENTS["cssrs_screen"].answer_keys`` to bool. Raises
    ValueError naming the item for a wrong count, a non-integer (bool, float and str
    included) or an out-of-range answer, and for an unknown code. Configurable cut-offs
    use the reference default here; see pcl5_cutoff_met and discharge_threshold_met.
    """
    inst = _instrument(code)
    return _SCORERS[inst.code](inst, answers)


# --- Change between two scores ---------------------------------------------------------

# Symptom scales where a fall in the total means improvement; readiness and triage
# scores (Aldrete, PADSS, MOAA/S, C-SSRS) have no meaningful percent change.
CHANGE_CODES: Final = frozenset({"phq9", "gad7", "pcl5", "madrs", "qids_sr16", "cadss6", "nrs_pain"})
_RESPONSE_CODES: Final = frozenset({"phq9", "madrs"})  # the rows that state a response rule
_REMISSION_MAX: Final = {
    "phq9": PHQ9_REMISSION_MAX,
    "madrs": MADRS_REMISSION_MAX_DEFAULT,
    "qids_sr16": QIDS_REMISSION_MAX,
}


def _as_decimal(label: str, value: object) -> Decimal:
    if isinstance(value, Decimal):
        result = value
    elif _is_int(value):
        result = Decimal(value)
    else:
        raise ValueError(f"{label}: {value!r} is not an integer or Decimal")
    if not result.is_finite() or result < 0:
        raise ValueError(f"{label}: {value!r} is not a finite score ≥ 0")
    return result


def percent_change(baseline: int | Decimal, current: int | Decimal) -> Decimal | None:
    """Signed percent change from baseline, ROUND_HALF_UP to 0.1 (half away from zero, so
    -6.25 → -6.3). Negative means the score fell. None when the baseline is 0: there is
    nothing to take a percentage of. Decisions (response, IMMPACT) compare exactly, not
    on this rounded figure."""
    b, c = _as_decimal("baseline", baseline), _as_decimal("current", current)
    if b == 0:
        return None
    return ((c - b) * 100 / b).quantize(PERCENT_QUANTUM, rounding=ROUND_HALF_UP)


def _reduced_by_at_least(baseline: Decimal, current: Decimal, percent: int) -> bool:
    # (b - c) / b >= p / 100, multiplied out so it stays exact.
    return baseline > 0 and (baseline - current) * 100 >= percent * baseline


def immpact_pain_improvement(baseline: int | Decimal, current: int | Decimal) -> str:
    """IMMPACT pain improvement [S35]: ≥50% reduction "substantial", ≥30% "moderate",
    otherwise "" (also when the baseline is 0: no pain to improve on)."""
    b, c = _as_decimal("baseline", baseline), _as_decimal("current", current)
    if _reduced_by_at_least(b, c, IMMPACT_SUBSTANTIAL_PERCENT):
        return "substantial"
    if _reduced_by_at_least(b, c, IMMPACT_MODERATE_PERCENT):
        return "moderate"
    return ""


def change(
    code: str,
    baseline_total: int,
    current_total: int,
    *,
    remission_threshold: int | None = None,
) -> Change:
    """Percent change, response, remission and (NRS) IMMPACT category between two totals.

    Response is a ≥50% reduction, defined for PHQ-9 [S37] and MADRS [S3b]; other rows of
    the reference state no response rule, so it is None there. Remission is current total
    ≤ ``remission_threshold`` (inclusive); defaults: PHQ-9 ≤4 i.e. <5 [S37], MADRS ≤10
    [S89][S3b], QIDS-SR16 ≤5 [S91]; GAD-7 and the others have none unless one is given.
    For PHQ-9 both rules follow the NQF measures, which only count patients whose baseline
    is >9 [S37]; below that both are None (not applicable), not False.
    """
    inst = _instrument(code)
    if inst.code not in CHANGE_CODES:
        raise ValueError(f"{code}: change is not defined for a readiness or triage score")
    baseline = _check_total(inst, "baseline_total", baseline_total)
    current = _check_total(inst, "current_total", current_total)
    if remission_threshold is not None:
        _check_total(inst, "remission_threshold", remission_threshold)
    remission_max = _REMISSION_MAX.get(code) if remission_threshold is None else remission_threshold
    applicable = code != "phq9" or baseline >= PHQ9_MEASURE_MIN_BASELINE
    b, c = Decimal(baseline), Decimal(current)
    response = _reduced_by_at_least(b, c, RESPONSE_MIN_REDUCTION_PERCENT)
    return Change(
        code=code,
        baseline_total=baseline,
        current_total=current,
        percent_change=percent_change(baseline, current),
        response=response if applicable and code in _RESPONSE_CODES else None,
        remission=current <= remission_max if applicable and remission_max is not None else None,
        pain_improvement=immpact_pain_improvement(b, c) if code == "nrs_pain" else "",
    )
