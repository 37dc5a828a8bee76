from __future__ import annotations

from django import forms

from documents.models import DisclosurePurpose, DocumentKind

ISSUABLE_KINDS = [
    (DocumentKind.CONSULTATION_SUMMARY, DocumentKind.CONSULTATION_SUMMARY.label),
    (DocumentKind.INFUSION_RECORD, DocumentKind.INFUSION_RECORD.label),
    (DocumentKind.DISCHARGE_INSTRUCTIONS, DocumentKind.DISCHARGE_INSTRUCTIONS.label),
    (DocumentKind.COURSE_SUMMARY, DocumentKind.COURSE_SUMMARY.label),
]


class IssueForm(forms.Form):
    kind = forms.ChoiceField(choices=ISSUABLE_KINDS)
    subject_id = forms.IntegerField(required=False, min_value=1)


class DisclosureForm(forms.Form):
    """Optional ?purpose=&recipient= on a download; defaults depend on the kind."""

    purpose = forms.ChoiceField(choices=DisclosurePurpose.choices, required=False)
    recipient = forms.CharField(max_length=200, required=False)
