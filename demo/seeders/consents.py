"""Informed consent: the clinic's published consent documents (the treatment consent in two
versions, the newer published ten days ago) and the patients' signatures: most current, some on
the earlier version (outdated: they sign again before their next infusion), a paper consent or two,
one withdrawn, and a few patients who have signed nothing yet."""

from __future__ import annotations

import struct
import zlib
from datetime import timedelta

from django.utils import timezone

from consents.models import ConsentKind, ConsentLink, ConsentScan, ConsentSignature, ConsentVersion, SignatureMethod
from consents.models import ConsentWithdrawal as Withdrawal
from core import tokens
from core.hashing import content_sha256
from demo.context import SeedContext
from documents import services as documents
from documents.models import DocumentKind
from patients.models import Patient

CLINIC = "the clinic"
TREATMENT_2025 = """You are asked to agree to treatment with ketamine given into a vein (an infusion) for the \
condition your clinician discussed with you.

Ketamine is approved by the Food and Drug Administration as an anaesthetic. Its use for depression, \
anxiety, post-traumatic stress or pain is "off-label": doctors may prescribe it this way, but the \
FDA has not approved it for these conditions.

During and after each infusion you may feel detached or dreamlike, dizzy, sleepy or sick, and your \
blood pressure and heart rate may rise for a while. Staff check your vital signs during the infusion \
and before you leave. Rarely, people have unpleasant experiences, confusion or bladder symptoms; \
misuse of ketamine can lead to dependence.

You must not drive, ride a bike or use machines until the next day, after a night's sleep, and an \
adult must take you home.

You may ask questions at any time, and you may stop treatment at any time without it affecting the \
rest of your care."""
TREATMENT_2026 = (
    TREATMENT_2025
    + """

New in this version: before each infusion we ask you to tell us about any change in your medicines, \
and you may ask for a copy of this signed consent at any time."""
)
TELEHEALTH = """You agree that the clinic may see you by secure video for some visits, and may contact \
you by text message, e-mail or telephone about your appointments and your care, on the channels you \
chose. Messages never name your treatment. You may change these choices at any time."""
FINANCIAL = """You agree to the clinic's financial policy: fees are explained before treatment, payment \
is due at each visit unless agreed otherwise, and a visit cancelled with less notice than the clinic \
asks may be charged. Ask the front desk for the current fee schedule."""


def _signature_png(seed: int) -> bytes:
    """A small drawn-looking signature (a wavy stroke), as a canvas would give it: PNG, no library."""
    width, height = 240, 60
    rows = []
    for y in range(height):
        row = bytearray([0])  # filter type 0
        for x in range(width):
            wave = height / 2 + (height / 4) * (((x * (3 + seed % 4)) % 40) / 20 - 1)
            row += b"\x00\x00\x00\xff" if abs(y - wave) < 1.5 and 10 < x < width - 10 else b"\x00\x00\x00\x00"
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def _version(kind, title, label, body, *, by, at, summary="") -> ConsentVersion:
    content = {"kind": kind, "title": title, "version": label, "body": body}
    version, _ = ConsentVersion.objects.get_or_create(
        kind=kind,
        version_label=label,
        defaults={
            "title": title,
            "body": body,
            "summary_of_changes": summary,
            "content_sha256": content_sha256(content),
            "created_by": by,
            "created_at": at - timedelta(days=2),
            "published_by": by,
            "published_at": at,
        },
    )
    return version


def seed(ctx: SeedContext) -> None:
    admin = ctx.staff.get("admin") or next(iter(ctx.staff.values()), None)
    desk = ctx.staff.get("frontdesk") or admin
    nurse = ctx.staff.get("nurse") or admin
    if admin is None:
        ctx.counts["signed consents"] = 0
        return
    now = timezone.now().replace(microsecond=0)
    long_ago = now - timedelta(days=420)
    old = _version(
        ConsentKind.TREATMENT,
        "Consent to intravenous ketamine treatment",
        "2025.1",
        TREATMENT_2025,
        by=admin,
        at=long_ago,
    )
    current = _version(
        ConsentKind.TREATMENT,
        "Consent to intravenous ketamine treatment",
        "2026.1",
        TREATMENT_2026,
        by=admin,
        at=now - timedelta(days=10),
        summary="Asks about medicine changes before each infusion; a copy on request.",
    )
    telehealth = _version(
        ConsentKind.TELEHEALTH, "Telehealth and communications consent", "2025.1", TELEHEALTH, by=admin, at=long_ago
    )
    financial = _version(ConsentKind.FINANCIAL, "Financial policy", "2025.1", FINANCIAL, by=admin, at=long_ago)
    # A draft the administrator is still working on.
    ConsentVersion.objects.get_or_create(
        kind=ConsentKind.FINANCIAL,
        version_label="2027.1 (draft)",
        defaults={
            "title": "Financial policy",
            "body": FINANCIAL + "\n\nDraft: card payments at the chair.",
            "created_by": admin,
            "created_at": now - timedelta(days=1),
        },
    )

    patients = list(
        Patient.objects.filter(pk__in=ctx.patient_ids, status=Patient.Status.ACTIVE)
        .order_by("pk")
        .values_list("pk", "legal_first_name", "legal_last_name")
    )
    rows: list[ConsentSignature] = []
    links: list[ConsentLink] = []
    paper: list[int] = []
    withdrawn: list[int] = []

    def sign(pid, first, last, version, *, at, method=SignatureMethod.ONLINE, drawn=True):
        link = None
        if method == SignatureMethod.ONLINE:  # sent by the desk the day before, opened and signed once
            link = ConsentLink(
                patient_id=pid,
                kinds=[version.kind],
                token_sha256=tokens.issue()[1],
                created_by=desk,
                created_at=at - timedelta(days=1),
                expires_at=at + timedelta(days=2),
                exchanged_at=at - timedelta(minutes=6),
                completed_at=at,
                sent_channels="sms",
            )
            links.append(link)
        rows.append(
            ConsentSignature(
                patient_id=pid,
                version=version,
                kind=version.kind,
                version_sha256=version.content_sha256,
                method=method,
                typed_name=f"{first} {last}",
                signature_png=_signature_png(pid) if drawn and method != SignatureMethod.PAPER else b"",
                signed_at=at,
                ip_address="198.51.100.23" if method == SignatureMethod.ONLINE else None,
                user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Mobile/15E148"
                if method == SignatureMethod.ONLINE
                else "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) clinic tablet"
                if method == SignatureMethod.IN_CLINIC
                else "",
                link=link,
                recorded_by=None
                if method == SignatureMethod.ONLINE
                else (desk if method == SignatureMethod.PAPER else nurse),
                created_at=at,
            )
        )

    for index, (pid, first, last) in enumerate(patients):
        roll = ctx.rng.random()
        early = long_ago + timedelta(days=ctx.rng.randint(1, 380))
        recent = now - timedelta(days=ctx.rng.randint(0, 9), hours=ctx.rng.randint(1, 8))
        if roll < 0.88:
            sign(pid, first, last, telehealth, at=early, method=SignatureMethod.IN_CLINIC)
            sign(pid, first, last, financial, at=early, method=SignatureMethod.IN_CLINIC, drawn=False)
        if roll < 0.66:
            method = SignatureMethod.IN_CLINIC if index % 3 == 0 else SignatureMethod.ONLINE
            sign(pid, first, last, current, at=recent, method=method, drawn=index % 5 != 0)
        elif roll < 0.78:
            sign(pid, first, last, old, at=early)  # outdated: the 2026.1 version is not signed yet
        elif roll < 0.84:
            sign(pid, first, last, current, at=recent, method=SignatureMethod.PAPER)
            paper.append(len(rows) - 1)
        elif roll < 0.86:
            sign(pid, first, last, current, at=recent)
            withdrawn.append(len(rows) - 1)
        # else: nothing signed yet (missing)
    ConsentLink.objects.bulk_create(links, batch_size=2000)
    ConsentSignature.objects.bulk_create(rows, batch_size=2000)
    ConsentScan.objects.bulk_create(
        [
            ConsentScan(
                signature=rows[i],
                filename="consent-scan.pdf",
                content_type="application/pdf",
                content=b"%PDF-1.4\n% demo scan of a paper consent\n",
                sha256="0" * 64,
                size_bytes=40,
            )
            for i in paper
        ]
    )
    Withdrawal.objects.bulk_create(
        [
            Withdrawal(
                signature=rows[i],
                patient_id=rows[i].patient_id,
                reason="Wants to pause treatment and think it over",
                withdrawn_at=rows[i].signed_at + timedelta(hours=2),
                recorded_by=nurse,
            )
            for i in withdrawn
        ]
    )
    # A handful of signed-consent PDFs on the charts (the rest are issued when someone asks).
    for row in [r for r in rows if r.kind == ConsentKind.TREATMENT and r.version_id == current.pk][:8]:
        documents.issue(kind=DocumentKind.SIGNED_CONSENT, subject=row, by=row.recorded_by or admin)
    ctx.counts["signed consents"] = len(rows)
