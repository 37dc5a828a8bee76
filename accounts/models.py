from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models import F

from accounts.roles import Role
from core.audit import Category, Verb
from core.triggers import append_only


class User(AbstractUser):
    """A member of staff. One account per person: no shared logins (ONC (d)(1))."""

    display_name = models.CharField(max_length=150, blank=True)
    credentials = models.CharField(
        max_length=50, blank=True, help_text="Shown after the name on signed records, e.g. RN, MD."
    )
    # Location scope (the sites themselves are scheduling's): chain-wide staff see every site;
    # anyone else sees only the sites they are assigned to. An explicit flag rather than "no
    # sites assigned means every site", so that removing someone's last site narrows their access
    # to nothing instead of widening it to the whole chain; it defaults to False so that an
    # account made anywhere (the settings page, the Django admin, a command) starts scoped.
    chain_wide = models.BooleanField(
        "All locations",
        default=False,
        help_text="Sees patients, calendars and worklists of every location (otherwise only the assigned ones).",
    )
    access_version = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Moves on every change of the user's groups or permissions: sessions re-read theirs.",
    )

    # django-stubs declares no Meta on AbstractUser; Django has one (verbose names), which this extends.
    class Meta(AbstractUser.Meta):  # type: ignore[name-defined]
        swappable = "AUTH_USER_MODEL"
        permissions = [("reset_two_factor", "Can reset another user's two-factor sign-in")]

    def __str__(self) -> str:
        name = self.display_name or self.get_full_name() or self.username
        return f"{name}, {self.credentials}" if self.credentials else name


class AuditEvent(models.Model):
    """One row per audited action; append-only at the database (ONC (d)(2), (d)(3)).

    Written by services in the same transaction as the change they record, and by
    chart views for every read. ``row_hash`` chains each row to the previous one
    so that a removed or altered row is detectable (``manage.py verify_audit_chain``).

    There is one chain per site (``chain`` = ``location:<id>``) and one chain-wide chain (``""``:
    sign-ins, tasks, and every row written before chains were split), so writers at different
    sites never wait on each other; ``AuditAnchor`` rows seal every chain's head now and then.
    """

    # The vocabulary lives in core (the layer every app reaches); the model keeps the names for
    # its field choices and for code that reaches them through it.
    Verb = Verb
    Category = Category

    class Outcome(models.TextChoices):
        ALLOWED = "allowed"
        DENIED = "denied"
        ERROR = "error"

    at = models.DateTimeField()
    # No index of its own: audit_actor_at leads with it. Every index is written on every event.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    actor_username = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=20, blank=True)
    # Plain columns, not foreign keys: the audit trail outlives and ignores the
    # apps it records, and accounts imports no stage app.
    patient_id = models.BigIntegerField(null=True, blank=True)
    patient_mrn = models.CharField(max_length=20, blank=True)
    action = models.CharField(max_length=80, help_text="e.g. patients.patient.updated")
    verb = models.CharField(max_length=20, choices=Verb.choices)
    data_category = models.CharField(max_length=30, choices=Category.choices)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.ALLOWED)
    under_emergency_access = models.BooleanField(
        default=False, help_text="Written while the actor held a break-glass grant: reviewed by administrators."
    )
    changes = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=36, blank=True)
    # Which chain the row links into; the hash covers it (when set), so a row moved between chains
    # fails. Adding the column rewrote no row: the old rows are the chain-wide chain and hash as before.
    chain = models.CharField(max_length=32, blank=True, default="", db_default="")
    prev_hash = models.CharField(max_length=64, blank=True)
    row_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-at", "-id"]
        # Unique as a constraint, not as a field: a unique CharField also gets a LIKE-pattern index
        # that nothing reads and every event would write.
        constraints = [models.UniqueConstraint(fields=["row_hash"], name="accounts_auditevent_row_hash_key")]
        # The audit report reads pages in (at, id) order from these; each of its filters has one
        # that returns its rows in that order or few enough rows to sort (see accounts.filters).
        indexes = [
            models.Index(fields=["at", "id"], name="audit_at_id"),
            # Verification walks each chain in id order; the anchor reads each chain's newest row.
            models.Index(fields=["chain", "id"], name="audit_chain_id"),
            models.Index(fields=["patient_id", "-at"], name="audit_patient_at"),
            models.Index(fields=["actor", "-at"], name="audit_actor_at"),
            # The pattern operator class serves a case-sensitive prefix (LIKE 'x%') as well as equality.
            models.Index(OpClass(F("action"), name="varchar_pattern_ops"), F("at"), name="audit_action_prefix_at"),
            models.Index(fields=["verb", "at"], name="audit_verb_at"),
            # With the outcome in it, the capped count of a denied or failed filter reads the index alone.
            models.Index(
                fields=["outcome", "at"], condition=~models.Q(outcome="allowed"), name="audit_not_allowed_outcome_at"
            ),
            models.Index(fields=["-at"], condition=models.Q(under_emergency_access=True), name="audit_emergency_at"),
            models.Index(
                fields=["at"],
                condition=models.Q(changes__contains={"break_glass": True}),
                name="audit_old_emergency_at",
            ),
        ]
        triggers = [
            append_only("auditevent_append_only"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_username or '-'} {self.action}"

    @property
    def action_label(self) -> str:
        """The action in words ("Audit report exported"): the record and what happened to it,
        the last two parts of the dotted code; the code stays for filtering and export."""
        words = " ".join(self.action.split(".")[-2:]).replace("_", " ").strip()
        return words[:1].upper() + words[1:]

    @property
    def role_label(self) -> str:
        return Role(self.role).label if self.role in Role.values else self.role.replace("_", " ")


class AuditChain(models.Model):
    """One audit chain's newest hash, in the row that chain's writers lock.

    Appending an event updates its chain's row and inserts the event in one statement (see
    ``accounts.audit``): the row lock orders that chain's writers only, and the UPDATE returns the
    hash to chain to. ``prev_hash`` is the hash before the newest, which that statement needs
    back. Rewriting this row breaks nothing silently: ``verify_chain`` recomputes from the events.
    """

    key = models.CharField(max_length=32, primary_key=True, blank=True)
    last_hash = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"audit chain {self.key or 'chain-wide'} at {self.last_hash[:12]}"


class AuditAnchor(models.Model):
    """A signed digest of every audit chain's head at one moment (written every few minutes).

    A hash chain alone shows an altered or removed row, but not rows cut from its end; the anchor
    names each chain's newest row (id and hash) and signs the lot with a key the database does not
    hold, so a trail cut short, or an anchor rewritten, fails ``verify_audit_chain``."""

    at = models.DateTimeField()
    heads = models.JSONField(help_text='{"chain key": [newest row id, its row hash]}')
    digest = models.CharField(max_length=64)
    signature = models.CharField(max_length=64)

    class Meta:
        ordering = ["-at", "-id"]
        triggers = [append_only("auditanchor_append_only")]

    def __str__(self) -> str:
        return f"audit anchor {self.at:%Y-%m-%d %H:%M} {self.digest[:12]}"


class EmergencyAccess(models.Model):
    """Break-glass (ONC (d)(6), HIPAA 164.312(a)(2)(ii), security-reference A6): a named user
    without clinical access reads a chart in an emergency, for a limited time, with a reason.

    The grant lives in the user's session (accounts.emergency); this row is the record of it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Plain columns, as on AuditEvent: accounts imports no stage app.
    patient_id = models.BigIntegerField()
    patient_mrn = models.CharField(max_length=20, blank=True)
    reason = models.TextField()
    started_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True, help_text="Set when the user ends it early.")

    class Meta:
        ordering = ["-started_at", "-id"]
        permissions = [("invoke_emergency_access", "Can invoke emergency (break-glass) access to a chart")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("started_at")), name="emergency_ends_after"
            ),
            models.CheckConstraint(condition=~models.Q(reason=""), name="emergency_has_reason"),
        ]

    def __str__(self) -> str:
        return f"Emergency access by {self.user_id} at {self.started_at:%Y-%m-%d %H:%M}"


class RecoveryCode(models.Model):
    """One unused recovery code of a user's recovery-code device, kept only as the SHA-256 of the
    code (ASVS 6.5.2; security-reference (d)(12)): a stolen database or an administrator's screen
    yields nothing to sign in with. The codes carry 80 random bits, so an unsalted fast hash is
    enough; a used code's row is deleted (single use, ASVS 6.5.1)."""

    device = models.ForeignKey("otp_static.StaticDevice", on_delete=models.CASCADE, related_name="recovery_codes")
    code_sha256 = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "code_sha256"], name="recovery_code_unique_per_device"),
            models.CheckConstraint(
                condition=models.Q(code_sha256__regex=r"^[0-9a-f]{64}$"), name="recovery_code_is_a_hash"
            ),
        ]

    def __str__(self) -> str:
        return f"recovery code of device {self.device_id}"


class Heartbeat(models.Model):
    """When a background process last showed it was alive (``accounts.heartbeat``): the worker runs
    a heartbeat task, beat stamps each task it sends. ``/healthz`` answers 503 when one is stale.
    In the database, not a process's memory, so every web node reads the same answer."""

    name = models.CharField(max_length=20, primary_key=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} alive at {self.at:%Y-%m-%d %H:%M:%S}"
