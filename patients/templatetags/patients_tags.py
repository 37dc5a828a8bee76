from django import template
from django.utils import timezone

from patients.rules import years_between

register = template.Library()


@register.filter
def age(date_of_birth) -> str:
    """Whole years today, in the clinic's time zone."""
    if not date_of_birth:
        return ""
    return str(years_between(date_of_birth, timezone.localdate()))
