"""Pure registry rules: table tests, no database."""

from datetime import UTC, date, datetime

import pytest

from patients import rules
from patients.models import Patient

TODAY = date(2026, 11, 25)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("03/07/1980", date(1980, 3, 7)),
        ("3/7/1980", date(1980, 3, 7)),
        ("3/7/80", date(1980, 3, 7)),
        ("03-07-1980", date(1980, 3, 7)),
        ("03.07.1980", date(1980, 3, 7)),
        ("1980-03-07", date(1980, 3, 7)),
        ("1980/3/7", date(1980, 3, 7)),
        ("03071980", date(1980, 3, 7)),
        ("19800307", date(1980, 3, 7)),
        ("March 7 1980", date(1980, 3, 7)),
        ("march 7, 1980", date(1980, 3, 7)),
        ("Mar 7th, 1980", date(1980, 3, 7)),
        ("Mar. 7 1980", date(1980, 3, 7)),
        ("7 Mar 1980", date(1980, 3, 7)),
        ("7 March 1980", date(1980, 3, 7)),
        ("7-Mar-1980", date(1980, 3, 7)),
        ("1980 Mar 7", date(1980, 3, 7)),
        ("Sept 3 1990", date(1990, 9, 3)),
        ("  03/07/1980  ", date(1980, 3, 7)),
        # Month first, as US staff write it; day first only when month first is impossible.
        ("25/12/1980", date(1980, 12, 25)),
        ("12/25/1980", date(1980, 12, 25)),
        # Two-digit years: the latest matching date that is not in the future.
        ("3/7/26", date(2026, 3, 7)),
        ("12/31/26", date(1926, 12, 31)),
        ("3/7/05", date(2005, 3, 7)),
        ("2/29/2000", date(2000, 2, 29)),
    ],
)
def test_it_reads_the_usual_written_forms_of_a_date_of_birth(text, expected):
    assert rules.parse_date_of_birth(text, today=TODAY) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Jonsen",
        "2/30/1980",
        "13/13/1980",
        "2/29/1999",
        "Marsh 7 1980",
        "7 1980",
        "1980",
        "03/07",
        "GM1000017",
        "x" * 500,
    ],
)
def test_it_refuses_what_is_not_a_date(text):
    assert rules.parse_date_of_birth(text, today=TODAY) is None


@pytest.mark.parametrize(
    ("dob", "problem"),
    [
        (date(1980, 3, 7), ""),
        (TODAY, ""),
        (date(2026, 11, 26), "future"),
        (date(1906, 11, 25), ""),  # exactly 120
        (date(1906, 11, 24), "120 years"),
    ],
)
def test_it_flags_implausible_dates_of_birth(dob, problem):
    found = rules.date_of_birth_problem(dob, today=TODAY)
    assert (problem in found) if problem else found == ""


def test_mrns_carry_a_luhn_check_digit():
    assert rules.format_mrn(100001) == "GM1000017"
    assert rules.mrn_is_valid("GM1000017")
    assert rules.mrn_is_valid("gm1000017 ")
    assert not rules.mrn_is_valid("GM1000018")  # one digit mistyped
    assert not rules.mrn_is_valid("GM1")


@pytest.mark.parametrize(
    ("text", "includes"),
    [
        ("GM1000017", "GM1000017"),
        ("gm1000017", "GM1000017"),
        ("GM 100001-7", "GM1000017"),
        ("GM100001", "GM1000017"),  # check digit left off
        ("100001", "GM1000017"),  # prefix left off too
        ("1000017", "GM1000017"),
    ],
)
def test_mrn_candidates_cover_case_spacing_and_a_missing_check_digit(text, includes):
    assert includes in rules.mrn_candidates(text)


@pytest.mark.parametrize("text", ["Smith", "GM", "GM12", "12-34", "GM12345", ""])
def test_non_mrns_give_no_candidates(text):
    assert rules.mrn_candidates(text) == ()


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("(212) 555-0123", "2125550123"),
        ("212.555.0123", "2125550123"),
        ("+1 212 555 0123", "12125550123"),
        ("555-0123", "5550123"),
        ("011 44 20 7946 0958", "442079460958"),
        ("0044 20 7946 0958", "442079460958"),
        ("0123", ""),  # too short to mean a phone
        ("Smith", ""),
        ("1" * 20, ""),
    ],
)
def test_phone_search_uses_the_digits_whatever_the_formatting(text, digits):
    assert rules.phone_search_digits(text) == digits


AT = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
EARLIER = datetime(2025, 1, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("before", "opted_in", "method", "expected"),
    [
        (rules.Consent(False, None, ""), True, "verbal", rules.Consent(True, AT, "verbal")),
        (rules.Consent(True, EARLIER, "written"), True, "written", rules.Consent(True, EARLIER, "written")),
        (rules.Consent(True, EARLIER, "written"), True, "portal", rules.Consent(True, AT, "portal")),
        (rules.Consent(True, EARLIER, "written"), False, "written", rules.Consent(False, None, "")),
        (rules.Consent(False, None, ""), False, "verbal", rules.Consent(False, None, "")),
    ],
    ids=["opt-in stamps now", "unchanged keeps time", "new method re-stamps", "opt-out clears", "stays out"],
)
def test_consent_is_stamped_when_given_and_cleared_when_withdrawn(before, opted_in, method, expected):
    assert rules.record_consent(before=before, opted_in=opted_in, method=method, at=AT) == expected


def test_an_opt_in_without_a_method_is_refused():
    with pytest.raises(ValueError, match="way consent was given"):
        rules.record_consent(before=rules.Consent(False, None, ""), opted_in=True, method="", at=AT)


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        ("active", "inactive", True),
        ("active", "deceased", True),
        ("inactive", "active", True),
        ("inactive", "deceased", True),
        ("deceased", "active", True),  # correcting a death recorded in error
        ("deceased", "inactive", False),
        ("active", "active", False),
        ("active", "deleted", False),
    ],
)
def test_status_transitions_come_from_one_table(current, new, allowed):
    assert rules.status_change_allowed(current, new) is allowed


def test_the_transition_table_knows_every_model_status():
    assert set(rules.STATUS_TRANSITIONS) == set(Patient.Status.values)


@pytest.mark.parametrize(
    ("kwargs", "codes"),
    [
        ({"status": "active", "has_reminder_consent": True, "has_escort": True, "possible_duplicates": 0}, []),
        (
            {"status": "active", "has_reminder_consent": False, "has_escort": False, "possible_duplicates": 2},
            ["duplicate", "no_escort", "no_reminder_consent"],
        ),
        (
            {"status": "deceased", "has_reminder_consent": False, "has_escort": False, "possible_duplicates": 0},
            ["deceased"],
        ),
        (
            {"status": "inactive", "has_reminder_consent": True, "has_escort": True, "possible_duplicates": 1},
            ["inactive", "duplicate"],
        ),
    ],
)
def test_patient_alerts(kwargs, codes):
    assert [a.code for a in rules.patient_alerts(**kwargs)] == codes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jonsen", rules.SearchTerms(words=("Jonsen",))),
        ("  john   smith ", rules.SearchTerms(words=("john", "smith"))),
        ("Smith, John", rules.SearchTerms(last_name="Smith", first_name="John")),
        ("de la Cruz, María", rules.SearchTerms(last_name="de la Cruz", first_name="María")),
        ("Smith,", rules.SearchTerms(last_name="Smith")),
        ("03/07/1980", rules.SearchTerms(date_of_birth=date(1980, 3, 7))),
        ("Smith 03/07/1980", rules.SearchTerms(date_of_birth=date(1980, 3, 7), words=("Smith",))),
        ("7 Mar 1980 Smith", rules.SearchTerms(date_of_birth=date(1980, 3, 7), words=("Smith",))),
        ("GM1000017", rules.SearchTerms(mrns=("GM1000017", "GM10000172"))),
        ("(212) 555-0123", rules.SearchTerms(phone_digits="2125550123")),
        ("'; DROP TABLE", rules.SearchTerms(words=("DROP", "TABLE"))),
        (",,,", rules.SearchTerms()),
        ("", rules.SearchTerms()),
    ],
)
def test_one_box_reads_names_dates_mrns_and_phones(text, expected):
    assert rules.parse_search(text, today=TODAY) == expected


def test_a_written_date_is_also_tried_as_identifiers():
    terms = rules.parse_search("03071980", today=TODAY)
    assert terms.date_of_birth == date(1980, 3, 7)
    assert terms.phone_digits == "03071980"
    assert terms.identifiers


def test_search_text_is_bounded():
    terms = rules.parse_search("a " * 10_000, today=TODAY)
    assert len(terms.words) == rules.MAX_NAME_WORDS
