"""Registry search: one box for name, date of birth, MRN or phone (selectors.patients_visible_to)."""

from datetime import date

import pytest
from django.db import connection

from patients.rules import luhn_check_digit
from patients.selectors import paginate, patients_visible_to
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 25)


def names(user, text):
    return [p.display_name for p in patients_visible_to(user=user, search=text, today=TODAY)]


@pytest.fixture
def registry(db):
    return {
        "johnson": PatientFactory(legal_last_name="Johnson", legal_first_name="Mary", date_of_birth=date(1980, 3, 7)),
        "jensen": PatientFactory(legal_last_name="Jensen", legal_first_name="Paul"),
        "smith": PatientFactory(legal_last_name="Smith", legal_first_name="John", phone="+12125550123"),
        "swapped": PatientFactory(legal_last_name="Johnson", legal_first_name="Smith"),
        "garcia": PatientFactory(legal_last_name="García", legal_first_name="José"),
        "cruz": PatientFactory(legal_last_name="de la Cruz", legal_first_name="María"),
        "bobby": PatientFactory(legal_last_name="Miller", legal_first_name="Robert", preferred_name="Bobby"),
        "obrien": PatientFactory(legal_last_name="O'Brien", legal_first_name="Siobhán"),
    }


@pytest.mark.parametrize("text", ["garcia", "GARCIA", "García", "jose garcia", "José", "Garcia, Jose"])
def test_names_match_whatever_the_case_and_accents(frontdesk, registry, text):
    assert "García, José" in names(frontdesk, text)


@pytest.mark.parametrize("text", ["Joh", "john", "Smi", "Gar", "Mill"])
def test_names_match_on_their_beginning(frontdesk, registry, text):
    assert names(frontdesk, text)


def test_a_later_word_of_a_name_matches(frontdesk, registry):
    assert names(frontdesk, "cruz") == ["de la Cruz, María"]


def test_last_comma_first_reads_the_parts_in_that_order(frontdesk, registry):
    assert names(frontdesk, "Smith, John") == ["Smith, John"]
    assert names(frontdesk, "Johnson, Smith") == ["Johnson, Smith"]


def test_words_without_a_comma_match_in_any_order(frontdesk, registry):
    assert set(names(frontdesk, "john smith")) == {"Smith, John", "Johnson, Smith"}


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("Jonsen", "Johnson, Mary"),  # sound-alike: only 0.15 trigram similarity
        ("Jhonson", "Johnson, Mary"),
        ("Johnsom", "Johnson, Mary"),  # trigram-close, sounds different
        ("Smyth", "Smith, John"),
        ("Garsia", "García, José"),
        ("OBrien", "O'Brien, Siobhán"),
    ],
)
def test_misspelled_names_still_find_the_patient(frontdesk, registry, typed, meant):
    assert meant in names(frontdesk, typed)


def test_typo_tolerance_does_not_match_unrelated_names(frontdesk, registry):
    assert "Miller, Bobby" not in names(frontdesk, "Jonsen")
    assert names(frontdesk, "zzzz") == []


def test_the_preferred_name_is_searched_and_shown(frontdesk, registry):
    assert names(frontdesk, "Bobby") == ["Miller, Bobby"]
    assert names(frontdesk, "Miller, Bob") == ["Miller, Bobby"]


def test_exact_names_rank_above_similar_ones(frontdesk, registry):
    found = names(frontdesk, "Johnson")
    assert found[:2] == ["Johnson, Mary", "Johnson, Smith"]
    found = names(frontdesk, "Jensen")
    assert found[0] == "Jensen, Paul"


@pytest.mark.parametrize(
    "text",
    ["03/07/1980", "3/7/1980", "3/7/80", "1980-03-07", "March 7 1980", "7 Mar 1980", "Mar 7th, 1980", "03071980"],
)
def test_a_date_of_birth_in_any_usual_form_finds_the_patient(frontdesk, registry, text):
    assert names(frontdesk, text) == ["Johnson, Mary"]


def test_a_name_with_a_date_of_birth_narrows_to_both(frontdesk, registry):
    PatientFactory(legal_last_name="Johnson", legal_first_name="Ann", date_of_birth=date(1990, 1, 1))
    assert names(frontdesk, "Johnson 03/07/1980") == ["Johnson, Mary"]
    assert names(frontdesk, "johnson, mary 3/7/80") == ["Johnson, Mary"]


def test_an_mrn_finds_its_patient_with_or_without_check_digit_in_any_case(frontdesk, registry):
    mrn = registry["smith"].mrn
    body = mrn[2:-1]
    assert luhn_check_digit(body) == int(mrn[-1])
    for text in (mrn, mrn.lower(), f"GM{body}", f"gm {body}", body):
        assert names(frontdesk, text) == ["Smith, John"], text


@pytest.mark.parametrize(
    "text", ["(212) 555-0123", "212-555-0123", "212.555.0123", "+1 212 555 0123", "2125550123", "555-0123"]
)
def test_a_phone_number_in_any_formatting_finds_the_patient(frontdesk, registry, text):
    assert names(frontdesk, text) == ["Smith, John"]


@pytest.mark.parametrize(
    "text",
    ["<script>alert(1)</script>", "'; DROP TABLE patients_patient; --", "%", "_", "\\", "a" * 10_000, ",,,", "💉"],
)
def test_hostile_or_odd_text_is_just_text(frontdesk, registry, text):
    names(frontdesk, text)  # no error
    assert names(frontdesk, "Smith, John") == ["Smith, John"]


def test_like_wildcards_typed_by_users_are_literal(frontdesk, registry):
    assert names(frontdesk, "%") == []
    assert names(frontdesk, "%%%%") == []


def test_people_outside_the_registry_roles_find_nobody(outsider, registry):
    assert names(outsider, "Johnson") == []


def test_a_ranked_page_comes_with_its_total_in_one_query(frontdesk, registry, django_assert_num_queries):
    PatientFactory.create_batch(30, legal_last_name="Johnson")
    queryset = patients_visible_to(user=frontdesk, search="Johnson", today=TODAY)
    total = queryset.count()  # 32 Johnsons, and the similar Jensen and John
    assert total > 32
    with django_assert_num_queries(1):
        page = paginate(queryset, "2", per_page=25, ranked=True)
        rows = list(page)
    assert page.paginator.count == total
    assert page.number == 2
    assert len(rows) == total - 25
    assert not page.has_next()


@pytest.mark.parametrize("number", ["abc", "-1", "0", "", None, "99999999999999999999"])
def test_any_page_number_gives_a_page(frontdesk, registry, number):
    queryset = patients_visible_to(user=frontdesk, search="Johnson", today=TODAY)
    page = paginate(queryset, number, per_page=1, ranked=True)
    assert page.number in (1, page.paginator.num_pages)
    assert list(page)


def _plan(queryset) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
    return queryset.explain()


@pytest.mark.parametrize(
    ("text", "indexes"),
    [
        ("Jonsen", ["patient_last_trgm", "patient_first_trgm", "patient_last_phonetic", "patient_first_phonetic"]),
        ("Smith, John", ["patient_last_trgm"]),
        ("03/07/1980", ["patient_dob"]),
        ("(212) 555-0123", ["patient_phone_trgm"]),
    ],
)
def test_every_search_branch_can_use_an_index(frontdesk, registry, text, indexes):
    """The query's expressions must match the indexed ones, or 20,000 rows get scanned."""
    plan = _plan(patients_visible_to(user=frontdesk, search=text, today=TODAY))
    for index in indexes:
        assert index in plan, plan
