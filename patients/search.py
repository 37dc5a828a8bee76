"""Patient search: name, date of birth, MRN or phone, in one box.

What the text means is decided by the pure ``rules.parse_search``; this module
turns it into one ranked query whose every branch is served by an index
(``Patient.Meta.indexes``), so the cost follows the number of matches, not
the size of the registry:

* names, on the accent- and case-folded key columns: prefix of the name or of
  any later word (``LIKE 'jo%'``, ``LIKE '% jo%'``), sound-alike (Double
  Metaphone equality with the same first letter: "Jonsen" finds "Johnson",
  which shares too few trigrams to pass), and trigram similarity for other
  typos (pg_trgm's ``%``, default threshold 0.3: "Smyth" finds "Smith");
* date of birth, MRN (with or without check digit) and phone digits: exact.

Identifier searches return exact matches only; name searches rank exact
"last, first" matches first, then by trigram similarity.
"""

from __future__ import annotations

from datetime import date

from django.contrib.postgres.lookups import TrigramSimilar
from django.contrib.postgres.search import TrigramSimilarity
from django.db.models import Case, F, FloatField, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Greatest, Left
from django.db.models.lookups import Contains, Exact, StartsWith

from patients.expressions import DMetaphone, name_key
from patients.rules import SearchTerms, parse_search

# Below these lengths similarity and sound-alike matching only add noise
# ("jo" sounds like half the registry); prefixes cover short entries.
MIN_TRIGRAM_LENGTH = 4
MIN_PHONETIC_LENGTH = 4

LAST, FIRST, PREFERRED = "last_name_key", "first_name_key", "preferred_name_key"
NAME_ORDER = ("legal_last_name", "legal_first_name", "id")


def _folded(text: str):
    # Folded by PostgreSQL itself, so the query side matches the stored keys
    # exactly (unaccent's rules, not Python's); planned as a constant.
    return name_key(Value(text))


def _matches(term: str, fields: tuple[str, ...]) -> Q:
    """One typed name (a word or a "last, first" part) found in any of ``fields``.

    Cheap tests come first: PostgreSQL stops at the first true branch when it
    re-checks a candidate row.
    """
    folded = _folded(term)
    q = Q()
    for field in fields:
        key = F(field)
        q |= Q(StartsWith(key, folded)) | Q(Contains(key, _folded(f" {term}")))
    if len(term) >= MIN_PHONETIC_LENGTH:
        for field in fields:
            if field == PREFERRED:
                continue
            key = F(field)
            q |= Q(Exact(DMetaphone(key), DMetaphone(folded))) & Q(StartsWith(key, Left(folded, 1)))
    if len(term) >= MIN_TRIGRAM_LENGTH:
        for field in fields:
            if field != PREFERRED:
                q |= Q(TrigramSimilar(F(field), folded))
    return q


def _similarity(term: str, fields: tuple[str, ...]):
    folded = _folded(term)
    scores = [TrigramSimilarity(F(f), folded) for f in fields]
    return scores[0] if len(scores) == 1 else Greatest(*scores)


def _name_parts(terms: SearchTerms) -> list[tuple[str, tuple[str, ...]]]:
    parts: list[tuple[str, tuple[str, ...]]] = []
    if terms.last_name:
        parts.append((terms.last_name, (LAST,)))
    if terms.first_name:
        parts.append((terms.first_name, (FIRST, PREFERRED)))
    parts.extend((word, (LAST, FIRST, PREFERRED)) for word in terms.words)
    return parts


def _identifier_filter(terms: SearchTerms) -> Q:
    q = Q(pk__in=[])
    if terms.date_of_birth is not None:
        q |= Q(date_of_birth=terms.date_of_birth)
    if terms.mrns:
        q |= Q(mrn__in=terms.mrns)
    if terms.phone_digits:
        q |= Q(phone__endswith=terms.phone_digits)
    return q


def search_patients(queryset: QuerySet, text: str, *, today: date) -> QuerySet:
    """``queryset`` narrowed to what ``text`` asks for, best matches first."""
    terms = parse_search(text, today=today)
    if terms.empty:
        return queryset.none()
    if terms.identifiers:
        return queryset.filter(_identifier_filter(terms)).order_by(*NAME_ORDER)

    q = Q()
    score = Value(0.0, output_field=FloatField())
    for term, fields in _name_parts(terms):
        q &= _matches(term, fields)
        score = score + _similarity(term, fields)
    if terms.date_of_birth is not None:
        q &= Q(date_of_birth=terms.date_of_birth)

    exact = Q()
    if terms.last_name:
        exact &= Q(Exact(F(LAST), _folded(terms.last_name)))
    if terms.first_name:
        exact &= Q(Exact(F(FIRST), _folded(terms.first_name))) | Q(Exact(F(PREFERRED), _folded(terms.first_name)))
    exact_rank = (
        Case(When(exact, then=Value(1)), default=Value(0), output_field=IntegerField())
        if exact
        else Value(0, output_field=IntegerField())
    )
    return (
        queryset.filter(q)
        .annotate(search_exact=exact_rank, search_score=score)
        .order_by("-search_exact", "-search_score", *NAME_ORDER)
    )
