"""SQL expressions shared by the model indexes and the queries that must match them.

An expression index is only used when the query repeats the indexed expression
exactly, so both sides build it from these helpers.
"""

from __future__ import annotations

from django.db.models import Func, TextField
from django.db.models.functions import Lower


class ImmutableUnaccent(Func):
    """``patients_immutable_unaccent(text)``: unaccent() declared IMMUTABLE (migration 0002).

    PostgreSQL's own unaccent() is STABLE (its dictionary could change), so it
    cannot appear in an index expression; the wrapper pins the dictionary.
    """

    function = "patients_immutable_unaccent"
    output_field = TextField()


class DMetaphone(Func):
    """Double Metaphone key from fuzzystrmatch: "Jonsen" and "Johnson" both give JNSN."""

    function = "dmetaphone"
    output_field = TextField()


def name_key(expression) -> Func:
    """A name folded for comparison: lower case, accents removed ("José" → "jose")."""
    return Lower(ImmutableUnaccent(expression))
