"""The session page while the pre-check is open shows the pre-check and the flowsheet, both
asking for a blood pressure, heart rate and SpO2: every input keeps its own id and a label
that names it, so a screen reader (and a tap on the label) reaches the right box."""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser

from django.urls import reverse


class _Controls(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: list[str] = []
        self.labelled: set[str] = set()
        self.controls: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "label" and a.get("for"):
            self.labelled.add(a["for"])
        if tag in {"input", "select", "textarea"} and a.get("type") not in {"hidden", "submit"}:
            self.controls.append(a)


def test_precheck_and_flowsheet_inputs_have_their_own_ids_and_labels(client, prechecked, nurse_user):
    client.force_login(nurse_user)
    page = _Controls()
    page.feed(client.get(reverse("infusions:session", args=[prechecked.pk])).content.decode())

    assert "reading-form" in page.ids  # the flowsheet is on the page
    duplicates = [i for i, n in Counter(page.ids).items() if n > 1]
    assert not duplicates
    unlabelled = [c.get("name") for c in page.controls if c.get("id") not in page.labelled and not c.get("aria-label")]
    assert not unlabelled
    for name in ("sbp_mmhg", "hr_bpm", "spo2_pct"):
        assert f"id_reading_{name}" in page.labelled
        assert f"id_precheck_{name}" in page.labelled
