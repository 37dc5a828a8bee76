"""SMART on FHIR scopes, as pure functions: which resource a granted scope string lets a token read.

A scope is ``<context>/<resource>.<permissions>`` (SMART App Launch 1.0 ``read``/``*``, and 2.0's
``rs`` = read + search): ``user/*.read`` reads what the signed-in member of staff may read,
``system/*.read`` what the registering administrator may read (a back-end service, no one signed
in), ``patient/*.read`` one patient's record. Write scopes are never granted: the API reads only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CONTEXTS = ("patient", "user", "system")
_SCOPE = re.compile(r"^(patient|user|system)/([A-Za-z]+|\*)\.(read|rs|\*|r|s)$")


@dataclass(frozen=True)
class Scope:
    context: str
    resource: str  # a resource type, or "*"
    read: bool
    search: bool


def parse_scope(text: str) -> Scope | None:
    """A SMART scope, or None for anything else (``openid``, ``launch``, a write scope, garbage)."""
    match = _SCOPE.match(text.strip())
    if match is None:
        return None
    context, resource, perms = match.groups()
    if perms in ("read", "*"):
        return Scope(context, resource, read=True, search=True)
    return Scope(context, resource, read="r" in perms, search="s" in perms)


def parse_scopes(granted: str) -> list[Scope]:
    return [scope for part in granted.split() if (scope := parse_scope(part)) is not None]


def allows(granted: str, resource_type: str, *, search: bool = False) -> bool:
    """Whether the space-separated scopes ``granted`` let a token read (or search) ``resource_type``."""
    return any(
        scope.resource in ("*", resource_type) and (scope.search if search else scope.read)
        for scope in parse_scopes(granted)
    )


def contexts(granted: str) -> set[str]:
    return {scope.context for scope in parse_scopes(granted)}


def page_size(requested: str | None, *, default: int, maximum: int) -> int:
    """FHIR's ``_count``: a positive whole number, at most ``maximum``; anything else the default."""
    if requested is None or not requested.isascii() or not requested.isdigit():
        return default
    return max(1, min(int(requested), maximum))


# "No known allergy" as clinicians write it, by what it denies. Sent as an AllergyIntolerance with
# the SNOMED CT code for the denial (as the International Patient Summary and US Core represent
# "no known allergies"), never as an allergy whose substance is the text "none known", which a
# receiving system would list as an allergy. Only a whole entry that says nothing else matches:
# "none to drugs; latex" stays free text.
NO_KNOWN_ALLERGY = ("716186003", "No known allergy")
NO_KNOWN_DRUG_ALLERGY = ("409137002", "No known drug allergy")
_DENIALS = {
    **dict.fromkeys(
        ("nka", "none", "none known", "nil", "nil known", "no allergies", "no known allergies", "no known allergy"),
        NO_KNOWN_ALLERGY,
    ),
    **dict.fromkeys(
        (
            "nkda",
            "no known drug allergies",
            "no known drug allergy",
            "no known medication allergies",
            "no known medication allergy",
            "no drug allergies",
        ),
        NO_KNOWN_DRUG_ALLERGY,
    ),
}


def denied_allergy(text: str) -> tuple[str, str] | None:
    """The SNOMED CT (code, display) of a "no known allergy" entry, or None for anything else."""
    words = " ".join(re.sub(r"[^a-z ]", " ", text.lower()).split())
    return _DENIALS.get(words)
