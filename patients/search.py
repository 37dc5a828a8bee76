"""Patient search: name, date of birth, MRN or phone, in one box."""

from __future__ import annotations

from django.db.models import Q, QuerySet


def search_patients(queryset: QuerySet, text: str) -> QuerySet:
    text = text.strip()
    if "," in text:
        last, first = (part.strip() for part in text.split(",", 1))
        return queryset.filter(legal_last_name__unaccent__istartswith=last).filter(
            Q(legal_first_name__unaccent__istartswith=first) | Q(preferred_name__unaccent__istartswith=first)
        )
    terms = Q()
    for word in text.split():
        terms &= (
            Q(legal_last_name__unaccent__icontains=word)
            | Q(legal_first_name__unaccent__icontains=word)
            | Q(preferred_name__unaccent__icontains=word)
            | Q(mrn__iexact=word)
        )
    return queryset.filter(terms)
