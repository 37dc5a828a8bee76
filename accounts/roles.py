"""The clinic's four roles, as Django groups carrying Django permissions.

Clinical staff are split by licence (clinical-reference 5.1): a nurse runs the chair
(pre-checks, vitals, draws and waste with a witness, recovery and discharge, follow-up
questionnaires, calculating and verifying doses); a prescriber (physician, NP, PA) does all
that and also makes the decisions a nurse's licence does not cover, each behind its own
permission (``PRESCRIBER_ONLY``) that the services check again.

Views check permissions (``user.has_perm``), never group names, so an
administrator can tailor a role in the admin. This table is the default grant
and is re-applied (additively) after every ``migrate``.
"""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    FRONT_DESK = "front_desk", "Front desk"
    NURSE = "nurse", "Nurse"
    PRESCRIBER = "prescriber", "Prescriber"
    ADMINISTRATOR = "administrator", "Administrator"


# Group name for each role (what the admin shows).
GROUP_NAMES: dict[str, str] = {
    Role.FRONT_DESK: "Front desk",
    Role.NURSE: "Nurse",
    Role.PRESCRIBER: "Prescriber",
    Role.ADMINISTRATOR: "Administrator",
}

# Roles that work with the clinical record (the clinician's home page, safety alerts).
CLINICAL_ROLES = (Role.NURSE, Role.PRESCRIBER)

# Tasks between staff: every role leaves, reads and closes its own (staff_tasks decides which).
TASK_PERMISSIONS: list[str] = ["staff_tasks.view_task", "staff_tasks.add_task", "staff_tasks.change_task"]
# Informed consent: everyone who meets patients sees where a patient stands, sends a signing link,
# hands over the clinic's tablet to sign and records a scanned paper consent.
CONSENT_PERMISSIONS: list[str] = [
    "consents.view_consentsignature",
    "consents.add_consentsignature",
    "consents.add_consentlink",
]

# The directory of outside clinicians and the names on a patient's care team: every role reads
# them (the care_team app keeps letters, authorisations' details and adjunct notes clinical).
CARE_TEAM_NAMES: list[str] = ["care_team.view_outsideprovider", "care_team.view_careteammember"]
DIRECTORY_MANAGEMENT: list[str] = ["care_team.add_outsideprovider", "care_team.change_outsideprovider"]

# What a nurse does; a prescriber holds all of it too.
NURSE_PERMISSIONS: list[str] = [
    # Only ever used on a chart outside the clinician's locations: where their role opens the
    # clinical record there is nothing to break into (patients.views.patient_emergency_access).
    "accounts.invoke_emergency_access",
    "patients.view_patient",
    "patients.view_clinical_record",
    "patients.view_contactlogentry",
    "patients.add_contactlogentry",
    "scheduling.view_appointment",
    "scheduling.change_appointment",
    "scheduling.subscribe_calendar_feed",
    "consultations.view_consultation",
    "consultations.add_consultation",
    "consultations.change_consultation",
    "consultations.view_treatmentplan",
    "consultations.view_plan_booking_status",
    "assessments.view_instrumentresponse",
    "assessments.add_instrumentresponse",
    "infusions.view_infusionsession",
    "infusions.change_infusionsession",
    "infusions.sign_infusionsession",
    "infusions.verify_dose",
    "infusions.add_sessionamendment",
    "infusions.view_chair_status",
    "followups.view_followupvisit",
    "followups.add_followupvisit",
    "followups.change_followupvisit",
    "followups.sign_followupvisit",
    "followups.add_followupamendment",
    "followups.view_boostersuggestion",
    "followups.view_booster_booking_status",
    "followups.view_safetyalert",
    "followups.acknowledge_safetyalert",
    "followups.view_questionnairelink",
    "followups.add_questionnairelink",
    "controlled_substances.record_administration",
    "courses.add_urinaryscreen",
    "courses.add_livertest",
    "courses.add_maintenancerescreen",
    "courses.change_coursefinding",
    "courses.view_exposure_report",
    "reports.view_clinical_quality",
    "reports.prepare_clinic_day",
    "documents.download_patient_document",
    "documents.issue_patient_document",
    "documents.download_clinical_document",
    "documents.issue_clinical_document",
    "consents.add_consentwithdrawal",
    *CONSENT_PERMISSIONS,
    "packets.view_packet",
    "packets.add_packet",
    *TASK_PERMISSIONS,
    *CARE_TEAM_NAMES,
    *DIRECTORY_MANAGEMENT,
    "care_team.add_careteammember",
    "care_team.change_careteammember",
    "care_team.view_sharingauthorisation",
    "care_team.add_sharingauthorisation",
    "care_team.change_sharingauthorisation",
    "care_team.view_progressletter",
    "care_team.add_progressletter",
    "care_team.change_progressletter",
    "care_team.view_adjunctnote",
    "care_team.add_adjunctnote",
    "care_team.change_adjunctnote",
    "care_team.sign_adjunctnote",
    "care_team.add_adjunctnoteamendment",
]

# The decisions only a prescriber makes. The services refuse them for anyone else
# (``accounts.prescribing.require_prescriber``), not only the views.
PRESCRIBER_ONLY: list[str] = [
    "consultations.sign_consultation",  # the eligibility decision
    "consultations.add_amendment",  # amending that signed decision
    "consultations.add_treatmentplan",  # the standing order
    "consultations.change_treatmentplan",
    "infusions.override_precheck",  # proceed despite a relative contraindication or a suicide-risk finding
    "infusions.rate_above_order",  # a rate change above the standing order's rate ceiling
    "followups.decide_boostersuggestion",  # ordering more sessions
    "prescribers.view_policychange",
    "prescribers.sign_off_policy",  # with the medical-director flag on the prescriber's profile
    "care_team.sign_progressletter",  # what the clinic tells another clinician about the course
]

# Not clinical decisions, but disclosures the clinic leaves to prescribers (and administrators), never
# to nurses: the services check the permission itself, since an administrator holds it too.
PRESCRIBER_DISCLOSURES: list[str] = [
    "interop.export_patient_record",  # the patient's whole record, as a zip
]

# Dotted permission names per role. Later apps add their rows here; a missing
# permission (app not installed yet) is skipped, not an error.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.FRONT_DESK: [
        "accounts.invoke_emergency_access",
        "patients.view_patient",
        "patients.add_patient",
        "patients.change_patient",
        "patients.view_contactlogentry",
        "patients.add_contactlogentry",
        "inquiries.view_inquiry",
        "inquiries.change_inquiry",
        "scheduling.view_appointment",
        "scheduling.add_appointment",
        "scheduling.change_appointment",
        "scheduling.manage_bookings",
        "scheduling.decide_selfbooking",
        "consultations.view_plan_booking_status",
        "followups.view_booster_booking_status",
        "infusions.view_chair_status",
        "documents.download_patient_document",
        "documents.issue_patient_document",
        *CONSENT_PERMISSIONS,
        "billing.take_payments",
        "packets.view_packet",
        "packets.add_packet",
        *TASK_PERMISSIONS,
        *CARE_TEAM_NAMES,
    ],
    Role.NURSE: NURSE_PERMISSIONS,
    Role.PRESCRIBER: [*NURSE_PERMISSIONS, *PRESCRIBER_ONLY, *PRESCRIBER_DISCLOSURES],
    Role.ADMINISTRATOR: [
        "accounts.view_auditevent",
        "accounts.reset_two_factor",
        "accounts.view_user",
        "accounts.add_user",
        "accounts.change_user",
        "reminders.view_reminderrule",
        "reminders.add_reminderrule",
        "reminders.change_reminderrule",
        "patients.view_patient",
        "patients.add_patient",
        "patients.change_patient",
        "patients.view_clinical_record",
        "patients.view_contactlogentry",
        "patients.add_contactlogentry",
        "inquiries.view_inquiry",
        "inquiries.change_inquiry",
        "scheduling.view_appointment",
        "scheduling.add_appointment",
        "scheduling.change_appointment",
        "scheduling.manage_locations",
        "scheduling.manage_bookings",
        "scheduling.decide_selfbooking",
        "scheduling.mark_entered_in_error",
        "scheduling.subscribe_calendar_feed",
        "reports.view_reports",
        "reports.view_clinical_quality",
        "consultations.view_consultation",
        "consultations.view_treatmentplan",
        "consultations.view_plan_booking_status",
        "consultations.manage_protocols",
        "consultations.manage_screening_policy",
        "assessments.view_instrumentresponse",
        "infusions.view_infusionsession",
        "infusions.view_chair_status",
        "infusions.view_infusionpolicy",
        "infusions.change_infusionpolicy",
        "infusions.manage_infusion_policy",
        "followups.view_followupvisit",
        "followups.view_boostersuggestion",
        "followups.view_booster_booking_status",
        "followups.view_safetyalert",
        "followups.view_followuppolicy",
        "followups.change_followuppolicy",
        "followups.manage_followup_policy",
        "controlled_substances.manage_stock",
        "courses.view_coursepolicy",
        "courses.change_coursepolicy",
        "courses.view_exposure_report",
        "prescribers.view_policychange",
        "prescribers.view_prescriberprofile",
        "prescribers.add_prescriberprofile",
        "prescribers.change_prescriberprofile",
        "prescribers.view_statelicence",
        "prescribers.add_statelicence",
        "prescribers.change_statelicence",
        "prescribers.delete_statelicence",
        "prescribers.view_dearegistration",
        "prescribers.add_dearegistration",
        "prescribers.change_dearegistration",
        "prescribers.delete_dearegistration",
        "documents.download_patient_document",
        "documents.issue_patient_document",
        "documents.download_clinical_document",
        "documents.issue_clinical_document",
        "consents.manage_consent_documents",
        "consents.add_consentwithdrawal",
        *CONSENT_PERMISSIONS,
        "billing.take_payments",
        "billing.issue_credit_note",
        "billing.view_financial_reports",
        "billing.manage_fees",
        "billing.view_billingsettings",
        "billing.change_billingsettings",
        "billing.add_billingsettings",
        "billing.view_feeitem",
        "billing.add_feeitem",
        "billing.change_feeitem",
        "packets.view_packet",
        "packets.add_packet",
        "billing.view_packageplan",
        "billing.add_packageplan",
        "billing.change_packageplan",
        "interop.view_clientregistration",
        "interop.add_clientregistration",
        "interop.change_clientregistration",
        "interop.bulk_export",
        "interop.export_patient_record",
        *TASK_PERMISSIONS,
        *CARE_TEAM_NAMES,
        *DIRECTORY_MANAGEMENT,
        "care_team.view_sharingauthorisation",
        "care_team.view_progressletter",
        "care_team.view_adjunctnote",
        "care_team.view_careteampolicy",
        "care_team.change_careteampolicy",
        "care_team.manage_care_team_policy",
    ],
}

# Order decides the role shown when a user is (unusually) in several groups.
_PRECEDENCE = [Role.ADMINISTRATOR, Role.PRESCRIBER, Role.NURSE, Role.FRONT_DESK]


def role_of(user) -> str:
    """The user's role code, or "" for a user in no role group (cached per request)."""
    if not getattr(user, "is_authenticated", False):
        return ""
    cached = getattr(user, "_role_cache", None)
    if cached is not None:
        return cached
    names = set(user.groups.values_list("name", flat=True))
    role = next((r for r in _PRECEDENCE if GROUP_NAMES[r] in names), "")
    if not role and user.is_superuser:
        role = Role.ADMINISTRATOR
    user._role_cache = role
    return role


def sync_role_permissions(sender=None, using="default", **kwargs) -> None:
    from django.apps import apps
    from django.contrib.auth.models import Group, Permission

    # post_migrate fires once per app; act after the last one, when every
    # app's permissions exist.
    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if sender is not None and sender.label != with_models[-1].label:
        return

    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=GROUP_NAMES[role])
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".", 1)
            perm = Permission.objects.using(using).filter(content_type__app_label=app_label, codename=codename).first()
            if perm is not None:
                wanted.append(perm)
        group.permissions.add(*wanted)
