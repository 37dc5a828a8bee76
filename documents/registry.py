"""Which document kinds can be issued and how each is built, filled in by the stage apps.

This app knows how to issue, version, render, store and disclose a document; what a
document shows belongs to the app that owns the record it is about. So each stage app
keeps a ``documents.py`` module (found at start-up like ``admin.py``, see
``DocumentsConfig.ready``) that registers its kinds here::

    registry.register(
        DocumentKind.CONSULTATION_SUMMARY,
        template="documents/consultation_summary.html",
        build=consultation_summary,  # the record -> what the PDF shows (plain data)
        patient_of=lambda consultation: consultation.patient,
        find=find_consultation,  # (patient, id) -> that patient's record, or None
        choices=signed_consultations,  # patient -> the records the issue buttons offer
        refuse=unsigned,  # the record -> why it cannot be issued, or ""
    )

An app further down the journey may add a part to another app's kind with
``register_part`` (the ledger adds its ketamine entries to the infusion record), and
the scheduling app names the clinic's default letterhead location with
``register_letterhead_location``. This module imports no stage app: the stage apps
build on documents, never the reverse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import autodiscover_modules

from documents.models import DocumentKind

Builder = Callable[[Any], dict[str, Any]]
PartBuilder = Callable[[Any], Any]  # a part's value: any JSON (a list of rows, a mapping)


@dataclass(frozen=True)
class DocumentType:
    """One registered kind: its print template and the callables that build and find its subject."""

    kind: str
    template: str
    build: Builder
    patient_of: Callable[[Any], Any]
    find: Callable[[Any, int | None], Any] | None = None
    choices: Callable[[Any], list[Any]] | None = None
    refuse: Callable[[Any], str] | None = None
    not_found: str = "No such record for this patient."
    # A kind about no patient (a ledger report): the permissions that download it, instead of
    # the chart's. Its versions are issued with ``services.export_issue``, never from a chart.
    download_perms: tuple[str, ...] = ()
    # Why an issued version may not be disclosed any more (the document -> a reason, or ""): a
    # letter whose recipient the patient no longer authorises. Checked at every download.
    refuse_release: Callable[[Any], str] | None = None
    # The stored snapshot -> what the template shows, run when the PDF is rendered (by the
    # worker): a ledger report stores only its filters, so its query never runs in the request.
    expand: Callable[[dict[str, Any]], dict[str, Any]] | None = None

    @property
    def label(self) -> str:
        return DocumentKind(self.kind).label


@dataclass(frozen=True)
class Export:
    """A CSV export the documents worker can write from plain filters (``params``, JSON).

    ``rows(params)`` runs the query and yields the file's lines (headings included), in the worker
    when the export is long; ``count(params, cap)`` says how many rows it reads, counting no
    further than ``cap`` (``None``: exactly), cheaply enough for the request to decide where it
    runs. ``permissions`` download the file; ``category`` is the audit trail's data category.
    """

    name: str
    rows: Callable[[dict[str, Any]], Iterable[list[Any]]]
    count: Callable[[dict[str, Any], int | None], int]
    permissions: tuple[str, ...]
    category: Any  # a core.audit.Category member


_types: dict[str, DocumentType] = {}
_exports: dict[str, Export] = {}
_parts: dict[str, list[tuple[str, PartBuilder]]] = {}
_letterhead_location: list[Callable[[], Any]] = []


def register(
    kind: str,
    *,
    template: str,
    build: Builder,
    patient_of: Callable[[Any], Any],
    find: Callable[[Any, int | None], Any] | None = None,
    choices: Callable[[Any], list[Any]] | None = None,
    refuse: Callable[[Any], str] | None = None,
    not_found: str = "No such record for this patient.",
    download_perms: tuple[str, ...] = (),
    refuse_release: Callable[[Any], str] | None = None,
    expand: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> DocumentType:
    """Make ``kind`` issuable: ``build(subject)`` returns what its PDF shows.

    ``find(patient, subject_id)`` resolves the issue form's subject among that patient's
    records only (None when there is none); without it the kind is not issued from the
    patient page. ``choices(patient)`` lists the subjects offered there (without it the
    kind is offered once, for the patient). ``refuse(subject)`` says why a subject cannot
    be issued ("" when it can).
    """
    if kind not in DocumentKind.values:
        raise ImproperlyConfigured(f"{kind!r} is not a DocumentKind (add it to documents.models first)")
    kind = DocumentKind(kind).value  # a plain str key: an enum member hashes by its name, not its value
    entry = DocumentType(
        kind=kind,
        template=template,
        build=build,
        patient_of=patient_of,
        find=find,
        choices=choices,
        refuse=refuse,
        not_found=not_found,
        download_perms=download_perms,
        refuse_release=refuse_release,
        expand=expand,
    )
    existing = _types.get(kind)
    if existing is not None and existing != entry:
        raise ImproperlyConfigured(f"document kind {kind!r} is registered twice")
    _types[kind] = entry
    return entry


def register_part(kind: str, name: str, build: PartBuilder) -> None:
    """Add ``name`` to every snapshot of ``kind``: ``build(subject)`` is its value."""
    parts = _parts.setdefault(DocumentKind(kind).value, [])
    if any(existing == name for existing, _build in parts):
        if (name, build) in parts:
            return
        raise ImproperlyConfigured(f"part {name!r} of document kind {kind!r} is registered twice")
    parts.append((name, build))


def register_export(
    name: str,
    *,
    rows: Callable[[dict[str, Any]], Iterable[list[Any]]],
    count: Callable[[dict[str, Any], int | None], int],
    permissions: tuple[str, ...],
    category: Any,
) -> Export:
    """Make ``name`` a data export the worker can write (see ``Export``); an app registers its own."""
    if not permissions:
        raise ImproperlyConfigured(f"data export {name!r} needs the permissions that download it")
    entry = Export(name=name, rows=rows, count=count, permissions=permissions, category=category)
    existing = _exports.get(name)
    if existing is not None and existing != entry:
        raise ImproperlyConfigured(f"data export {name!r} is registered twice")
    _exports[name] = entry
    return entry


def export(name: object) -> Export | None:
    return _exports.get(name) if isinstance(name, str) else None


def exports() -> list[Export]:
    return list(_exports.values())


def register_letterhead_location(provider: Callable[[], Any]) -> None:
    """Where a document about no particular visit is issued from (name, address, phone)."""
    _letterhead_location[:] = [provider]


def default_location() -> Any:
    return _letterhead_location[0]() if _letterhead_location else None


def get(kind: str) -> DocumentType | None:
    return _types.get(str(kind))


def parts(kind: str) -> list[tuple[str, PartBuilder]]:
    return list(_parts.get(str(kind), []))


def kinds() -> list[DocumentType]:
    """The registered kinds, in DocumentKind's order."""
    return [_types[kind] for kind in DocumentKind.values if kind in _types]


def autodiscover() -> None:
    """Import every installed app's ``documents`` module, where it registers its kinds."""
    autodiscover_modules("documents")
