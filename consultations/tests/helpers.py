"""Build the intake page's POST data the way a browser would submit it."""

from __future__ import annotations

from typing import Any

from consultations import selectors
from consultations.forms import IntakeForms, TriStateRadio
from consultations.models import Consultation


def _widget_value(field, value) -> Any:
    if isinstance(field.widget, TriStateRadio):
        return field.widget.format_value(value)[0]
    if value is None:
        return ""
    return value


def page_data(consultation: Consultation, **overrides: Any) -> dict[str, Any]:
    """Every field of the intake page as currently recorded, then ``overrides`` (by html name)."""
    consultation = Consultation.objects.get(pk=consultation.pk)
    forms = IntakeForms(consultation, responses=selectors.baseline_responses(consultation))
    data: dict[str, Any] = {}
    for form in [forms.intake, *forms.instruments.values()]:
        for name, field in form.fields.items():
            data[form[name].html_name] = _widget_value(field, form[name].value())
    for formset in (forms.medications, forms.trials):
        for key, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{key}"] = value
        for form in formset.forms:
            for name, field in form.fields.items():
                value = _widget_value(field, form[name].value())
                if value not in ("", None, False):
                    data[form[name].html_name] = value
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}
