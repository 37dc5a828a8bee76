"""Documents is built on by the stage apps, never the reverse: each stage registers its kinds."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from documents import registry
from documents.models import DocumentKind

DOCUMENTS = Path(__file__).resolve().parent.parent
# What documents may build on: the user and audit trail, the patient registry (every document
# is about a patient), the shared SVG charts and a base package that imports no app. Every other
# first-party package is a stage (or sits above them) and registers into documents instead.
ALLOWED_FIRST_PARTY = {"documents", "accounts", "patients", "grace_mindcare", "core"}


def _first_party() -> set[str]:
    root = Path(settings.BASE_DIR)
    return {path.parent.name for path in root.glob("*/__init__.py")}


def _imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):  # function-level imports included
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_documents_imports_no_stage_app():
    forbidden = _first_party() - ALLOWED_FIRST_PARTY
    assert {"scheduling", "consultations", "infusions", "controlled_substances"} <= forbidden
    offenders = {}
    for path in DOCUMENTS.rglob("*.py"):
        relative = path.relative_to(DOCUMENTS)
        if relative.parts[0] in ("tests", "migrations"):  # tests set up records through the stages' factories
            continue
        found = _imported(ast.parse(path.read_text(encoding="utf-8"))) & forbidden
        if found:
            offenders[str(relative)] = sorted(found)
    assert offenders == {}


def test_every_issuable_kind_is_registered_by_its_app():
    registered = {entry.kind: entry for entry in registry.kinds()}
    assert set(registered) == {
        DocumentKind.CONSULTATION_SUMMARY,
        DocumentKind.INFUSION_RECORD,
        DocumentKind.DISCHARGE_INSTRUCTIONS,
        DocumentKind.COURSE_SUMMARY,
        DocumentKind.CONTROLLED_SUBSTANCE_REPORT,
        DocumentKind.SIGNED_CONSENT,
        DocumentKind.PROGRESS_LETTER,
        DocumentKind.INVOICE,
        DocumentKind.SUPERBILL,
    }
    assert registered[DocumentKind.SIGNED_CONSENT].build.__module__ == "consents.documents"
    assert registered[DocumentKind.CONSULTATION_SUMMARY].build.__module__ == "consultations.documents"
    assert registered[DocumentKind.INFUSION_RECORD].build.__module__ == "infusions.documents"
    assert registered[DocumentKind.COURSE_SUMMARY].build.__module__ == "infusions.documents"
    assert registered[DocumentKind.DISCHARGE_INSTRUCTIONS].build.__module__ == "scheduling.documents"
    # A ledger report is about no patient: the ledger's permission downloads it, and no chart offers it.
    report = registered[DocumentKind.CONTROLLED_SUBSTANCE_REPORT]
    assert report.build.__module__ == "controlled_substances.documents"
    assert report.download_perms == ("controlled_substances.manage_stock",)
    assert report.find is None
    # The ledger adds its part to the infusions app's kind, so documents needs no ledger import.
    assert [(name, part.__module__) for name, part in registry.parts(DocumentKind.INFUSION_RECORD)] == [
        ("ketamine", "controlled_substances.documents")
    ]
    # A progress letter is issued by signing it (never from the documents card), and the care team
    # refuses its release once the patient's authorisation to share is revoked or expired.
    letter = registered[DocumentKind.PROGRESS_LETTER]
    assert letter.build.__module__ == "care_team.documents"
    assert letter.find is None
    assert letter.refuse_release is not None
    assert "adjunct" in [name for name, _part in registry.parts(DocumentKind.COURSE_SUMMARY)]


def test_a_kind_is_registered_once_and_must_exist():
    entry = registry.get(DocumentKind.CONSULTATION_SUMMARY)
    with pytest.raises(ImproperlyConfigured):
        registry.register(
            DocumentKind.CONSULTATION_SUMMARY,
            template="documents/other.html",
            build=entry.build,
            patient_of=entry.patient_of,
        )
    with pytest.raises(ImproperlyConfigured):
        registry.register("prescription", template="x.html", build=entry.build, patient_of=entry.patient_of)
    assert registry.get(DocumentKind.CONSULTATION_SUMMARY) is entry


def test_services_do_not_import_the_tasks_that_call_them():
    tree = ast.parse((DOCUMENTS / "services.py").read_text(encoding="utf-8"))
    modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert "documents.tasks" not in modules
    assert not ({"documents"} & modules and "tasks" in names)
