"""docs/clinical-rules.md is generated from the rules and committed up to date."""

from pathlib import Path

from django.conf import settings

from consultations import rules
from consultations.management.commands.clinical_rules_doc import DOC_PATH, render


def test_the_committed_rules_document_matches_the_rules():
    committed = (Path(settings.BASE_DIR) / DOC_PATH).read_text(encoding="utf-8")
    assert committed == render(), "run: manage.py clinical_rules_doc"


def test_the_document_lists_every_rule_with_its_class_and_sources():
    text = render()
    for rule in rules.RULES.values():
        row = next(line for line in text.splitlines() if line.startswith(f"| **{rule.rule_id}**"))
        assert str(rule.klass) in row
        for key in rule.sources:
            assert f"[{key}] {rules.SOURCES[key]}" in row
