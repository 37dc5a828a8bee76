"""Informed consent: the clinic's published consent documents and what each patient signed.

A ``ConsentVersion`` is drafted, then published: publishing fixes its wording and records the
SHA-256 of its content (``core.hashing.content_sha256``); from then on the database refuses to
change or delete it. A patient's ``ConsentSignature`` names the exact version signed, copies its
hash, and keeps the typed full name (the legal signature), the drawn signature when there is one,
the time, IP address and user agent; a paper consent scanned by staff is a signature of method
"paper" with its ``ConsentScan``. Signatures, scans and withdrawals are append-only: a withdrawal
is a new row with its reason, never an edit of the signature.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from consents import rules
from core.triggers import append_only, locked_once_set


class ConsentKind(models.TextChoices):
    TREATMENT = "ketamine_treatment", "Ketamine treatment (off-label use)"
    TELEHEALTH = "telehealth", "Telehealth and communications"
    FINANCIAL = "financial", "Financial policy"


class SignatureMethod(models.TextChoices):
    ONLINE = "online", "Signed online (secure link)"
    IN_CLINIC = "in_clinic", "Signed in the clinic (tablet)"
    PAPER = "paper", "Paper consent (scanned)"


class ConsentVersion(models.Model):
    """One version of one consent document. A draft (``published_at`` empty) is edited freely;
    a published version is immutable (database trigger), and a newer published version of the
    same kind asks every patient to sign again before their next infusion."""

    Kind = ConsentKind

    kind = models.CharField(max_length=30, choices=ConsentKind.choices)
    title = models.CharField(max_length=160)
    version_label = models.CharField(
        "Version", max_length=40, help_text="As printed on the document, e.g. 2026.2. Unique within its kind."
    )
    body = models.TextField(help_text="The full text the patient reads and signs. Blank lines separate paragraphs.")
    summary_of_changes = models.TextField(blank=True, help_text="What changed from the previous version, for staff.")
    # Set once, on publishing: the SHA-256 of {kind, title, version, body} as canonical JSON.
    content_sha256 = models.CharField("Content SHA-256", max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "-published_at", "-id"]
        permissions = [("manage_consent_documents", "Can draft and publish consent documents")]
        indexes = [models.Index(fields=["kind", "-published_at"], name="consentversion_kind_published")]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ConsentKind.values), name="consentversion_kind_known"),
            models.CheckConstraint(condition=~Q(version_label=""), name="consentversion_label_given"),
            models.UniqueConstraint(fields=["kind", "version_label"], name="consentversion_label_unique"),
            # Published means: who, when and the content hash, all three.
            models.CheckConstraint(
                condition=Q(published_at__isnull=True, published_by__isnull=True, content_sha256="")
                | (Q(published_at__isnull=False, published_by__isnull=False) & ~Q(content_sha256="")),
                name="consentversion_published_complete",
            ),
        ]
        triggers = [locked_once_set("consentversion_published_locked", "published_at")]

    def __str__(self) -> str:
        return f"{self.title} (version {self.version_label})"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    def content(self) -> dict[str, str]:
        """What the content hash covers: exactly what the patient reads."""
        return {"kind": self.kind, "title": self.title, "version": self.version_label, "body": self.body}

    def paragraphs(self) -> list[str]:
        return [part.strip() for part in self.body.replace("\r\n", "\n").split("\n\n") if part.strip()]


class ConsentLink(models.Model):
    """A secret link to sign consent documents (the token design of the questionnaire links:
    only the token's hash is stored; it is used once after a date-of-birth check, expires, and
    counts failed checks). ``exchanged_at`` is set by the date-of-birth check, or at creation
    when another verified flow (the pre-visit packet) hands its patient over."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="consent_links")
    kinds = models.JSONField(help_text="The consent kinds to sign, in order.")
    token_sha256 = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", help_text="Who sent the link."
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    exchanged_at = models.DateTimeField(null=True, blank=True)
    # When the token URL was first followed (a verified link, handed over by the packet, opens once).
    opened_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    dob_failures = models.PositiveSmallIntegerField(default=0)
    sent_channels = models.CharField(max_length=20, blank=True)
    # Where the patient goes after signing (a relative path of this site, e.g. the packet's next step).
    return_path = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")), name="consentlink_expires_later"
            ),
            models.CheckConstraint(
                condition=Q(return_path="") | Q(return_path__startswith="/"), name="consentlink_return_path_local"
            ),
        ]

    def __str__(self) -> str:
        return f"Consent link {self.pk}"


class ConsentSignature(models.Model):
    """A patient's consent to one published version (signed online, on the clinic's tablet, or
    on paper scanned by staff). Immutable once written; see ``ConsentWithdrawal``."""

    Method = SignatureMethod

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="consent_signatures")
    version = models.ForeignKey(ConsentVersion, on_delete=models.PROTECT, related_name="signatures")
    kind = models.CharField(max_length=30, choices=ConsentKind.choices)  # the version's, for the status query
    version_sha256 = models.CharField("Version SHA-256", max_length=64)  # the version's hash when signed
    method = models.CharField(max_length=10, choices=SignatureMethod.choices)
    typed_name = models.CharField(
        "Full name typed as signature", max_length=200, help_text="The legal signature: the drawing is optional."
    )
    # The drawn signature (PNG), empty when the patient signed by typed name alone (keyboard only).
    signature_png = models.BinaryField(blank=True, default=b"", editable=False)
    signed_at = models.DateTimeField()
    ip_address = models.GenericIPAddressField("IP address", null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    link = models.ForeignKey(ConsentLink, null=True, blank=True, on_delete=models.PROTECT, related_name="signatures")
    # The member of staff who handed over the tablet, or who recorded a paper consent.
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-signed_at", "-id"]
        indexes = [models.Index(fields=["patient", "kind", "-signed_at"], name="consentsig_patient_kind")]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ConsentKind.values), name="consentsig_kind_known"),
            models.CheckConstraint(condition=Q(method__in=SignatureMethod.values), name="consentsig_method_known"),
            models.CheckConstraint(condition=~Q(typed_name=""), name="consentsig_name_given"),
            models.CheckConstraint(condition=~Q(version_sha256=""), name="consentsig_hash_given"),
            # Online: through a link. In the clinic or on paper: a member of staff answers for it.
            models.CheckConstraint(
                condition=Q(method="online", link__isnull=False) | (~Q(method="online") & Q(recorded_by__isnull=False)),
                name="consentsig_method_accountable",
            ),
        ]
        triggers = [append_only("consentsignature_append_only")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} consent, version {self.version_sha256[:8]}"


class ConsentScan(models.Model):
    """The scanned paper consent (PDF, PNG or JPEG) behind a signature of method "paper", stored as
    the documents app stores PDFs: in PostgreSQL, or in the "documents" storage when one is set."""

    signature = models.OneToOneField(ConsentSignature, on_delete=models.PROTECT, related_name="scan")
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=40)
    content = models.BinaryField(null=True, blank=True, editable=False)
    storage_name = models.CharField(max_length=200, blank=True)
    sha256 = models.CharField("SHA-256", max_length=64)
    size_bytes = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(content__isnull=False) | ~Q(storage_name=""), name="consentscan_stored_somewhere"
            ),
        ]
        triggers = [append_only("consentscan_append_only")]

    def __str__(self) -> str:
        return self.filename


class ConsentWithdrawal(models.Model):
    """The patient withdrew a consent they had signed: recorded by staff, with the reason."""

    signature = models.OneToOneField(ConsentSignature, on_delete=models.PROTECT, related_name="withdrawal")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=300)
    withdrawn_at = models.DateTimeField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-withdrawn_at"]
        constraints = [models.CheckConstraint(condition=~Q(reason=""), name="consentwithdrawal_reason_given")]
        triggers = [append_only("consentwithdrawal_append_only")]

    def __str__(self) -> str:
        return f"Withdrawal of {self.signature}"


class ConsentPolicy(models.Model):
    """Which consents must be current before an infusion starts: clinic policy, one row."""

    require_treatment = models.BooleanField(
        "Ketamine treatment consent required before an infusion",
        default=True,
        help_text="Clinic policy (default on): informed consent to the off-label treatment, signed on the "
        "current version, before each infusion starts.",
    )
    require_telehealth = models.BooleanField(
        "Telehealth and communications consent required before an infusion", default=False, help_text="Clinic policy."
    )
    require_financial = models.BooleanField(
        "Financial policy signature required before an infusion", default=False, help_text="Clinic policy."
    )
    link_expiry_hours = models.PositiveSmallIntegerField(
        "Signing links expire after (hours)",
        default=rules.LINK_EXPIRY_HOURS_DEFAULT,
        validators=[
            MinValueValidator(rules.LINK_EXPIRY_HOURS_BOUNDS[0]),
            MaxValueValidator(rules.LINK_EXPIRY_HOURS_BOUNDS[1]),
        ],
        help_text="Clinic policy, default 72 hours (1 to 336): a consent link not used by then no longer opens.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "consent policy"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="consentpolicy_singleton"),
            models.CheckConstraint(
                condition=Q(link_expiry_hours__gte=1, link_expiry_hours__lte=336), name="consentpolicy_expiry_bounds"
            ),
        ]

    def __str__(self) -> str:
        return "Consent policy"

    def required_kinds(self) -> list[str]:
        flags = {
            ConsentKind.TREATMENT: self.require_treatment,
            ConsentKind.TELEHEALTH: self.require_telehealth,
            ConsentKind.FINANCIAL: self.require_financial,
        }
        return [kind.value for kind, required in flags.items() if required]
