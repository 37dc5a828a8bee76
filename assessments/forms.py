"""Questionnaire forms built from the ``instruments.INSTRUMENTS`` registry.

One radio group per item with the instrument's own option labels; anything outside the
options is refused at the item, naming the allowed range. A questionnaire left entirely
blank means "not administered"; a partly answered one is an error at each blank item.
"""

from __future__ import annotations

from typing import Any

from django import forms

from assessments import instruments
from assessments.instruments import Instrument
from assessments.models import InstrumentResponse

YES, NO = "1", "0"


def _item_choices(inst: Instrument, index: int) -> list[tuple[str, str]]:
    labels = inst.item_answer_labels[index] if inst.item_answer_labels else inst.answer_labels
    values = range(inst.item_min, inst.item_max + 1)
    if not labels:
        return [(str(v), str(v)) for v in values]
    return [(str(v), f"{v} – {labels[v]}" if not labels[v].startswith(str(v)) else labels[v]) for v in values]


class InstrumentForm(forms.Form):
    """Answers to one instrument. Use ``instrument_form(code, ...)`` to build one."""

    instrument: Instrument

    def __init__(self, *args: Any, response: InstrumentResponse | None = None, **kwargs: Any) -> None:
        if response is not None and "initial" not in kwargs:
            kwargs["initial"] = initial_from(response)
        super().__init__(*args, **kwargs)
        self.response = response
        inst = self.instrument
        if inst.answer_keys:
            for key, text in zip(inst.answer_keys, inst.items, strict=True):
                self.fields[key] = forms.ChoiceField(
                    label=text,
                    choices=[(YES, "Yes"), (NO, "No")],
                    widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
                    required=False,
                    error_messages={"invalid_choice": "Answer yes or no."},
                )
        else:
            for index, text in enumerate(inst.items):
                self.fields[f"item_{index + 1}"] = forms.TypedChoiceField(
                    label=text,
                    choices=_item_choices(inst, index),
                    coerce=int,
                    empty_value=None,
                    widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
                    required=False,
                    error_messages={
                        "invalid_choice": f"%(value)s is not an answer to this item: choose "
                        f"{inst.item_min}–{inst.item_max}."
                    },
                )

    @property
    def code(self) -> str:
        return self.instrument.code

    def item_fields(self) -> list[tuple[int, forms.BoundField]]:
        return [(n, self[name]) for n, name in enumerate(self.fields, start=1)]

    def _required_keys(self, data: dict[str, Any]) -> list[str]:
        """C-SSRS skip logic [S95]: ask 1, 2 and 6; 3–5 only if 2 is yes; "past 3 months" only if 6 is yes."""
        keys = ["q1", "q2"]
        if data.get("q2") == YES:
            keys += ["q3", "q4", "q5"]
        keys.append("q6")
        if data.get("q6") == YES:
            keys.append("q6_past_3_months")
        return keys

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        names = list(self.fields)
        given = [n for n in names if data.get(n) not in (None, "")]
        if not given and not any(n in self.errors for n in names):
            data["answers"] = None  # not administered
            return data
        required = self._required_keys(data) if self.instrument.answer_keys else names
        for name in required:
            if data.get(name) in (None, "") and name not in self.errors:
                self.add_error(name, "Answer this item, or leave the whole questionnaire blank.")
        if self.errors:
            return data
        if self.instrument.answer_keys:
            answers: Any = {key: data.get(key) == YES for key in names}
        else:
            answers = [data[name] for name in names]
        try:
            self.result = instruments.score(self.code, answers)
        except ValueError as exc:  # the registry and the form disagree: say so, never 500
            raise forms.ValidationError(str(exc)) from exc
        data["answers"] = answers
        return data


def instrument_form_class(code: str) -> type[InstrumentForm]:
    inst = instruments.INSTRUMENTS[code]
    return type(f"{code.title().replace('_', '')}Form", (InstrumentForm,), {"instrument": inst})


def instrument_form(code: str, *args: Any, **kwargs: Any) -> InstrumentForm:
    kwargs.setdefault("prefix", code)
    return instrument_form_class(code)(*args, **kwargs)


def initial_from(response: InstrumentResponse) -> dict[str, str]:
    if isinstance(response.answers, dict):
        return {key: YES if value else NO for key, value in response.answers.items()}
    return {f"item_{n}": str(value) for n, value in enumerate(response.answers, start=1)}
