"""The settings pages: one entry per kind of row, read by the generic views.

Each entry names the model, its form, the columns of its list, the permission that opens it and
how a row is retired. A row that history refers to (a location, a chair, an appointment type) is
deactivated, never deleted; opening hours are ended (they still count for the days they applied);
a clinician's working hours, which nothing refers to, are removed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from django.forms import ModelForm

from accounts.roles import GROUP_NAMES, Role
from billing.models import BillingSettings, FeeItem, PackagePlan
from clinic_settings import forms
from consultations.models import Protocol
from controlled_substances.models import Product, Registration, Supplier
from core.audit import Category
from infusions.models import RescueDrug
from prescribers.models import DEARegistration, PrescriberProfile, StateLicence
from reminders.models import ReminderRule
from scheduling.models import AppointmentType, ClinicianHours, Closure, Location, OpeningHours, Resource

MANAGE_LOCATIONS = "scheduling.manage_locations"
MANAGE_REMINDERS = "reminders.change_reminderrule"
MANAGE_FEES = "billing.manage_fees"


class Retire(models.TextChoices):
    DEACTIVATE = "deactivate", "Deactivate"  # active = False; history keeps pointing at the row
    END = "end", "End today"  # effective_until = today
    REMOVE = "remove", "Remove"  # nothing refers to the row
    NONE = "none", ""


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    singular: str
    model: type[models.Model]
    form: type[ModelForm]
    columns: tuple[str, ...]
    permission: str
    intro: str = ""
    retire: str = Retire.DEACTIVATE
    select_related: tuple[str, ...] = ()
    prefetch_related: tuple[str, ...] = ()
    filter_by_location: bool = False
    audit_category: Category = Category.CONFIGURATION
    can_add: bool = True
    active_field: str = "active"
    # A page whose rows save through their own app's service (a name in services.SAVERS).
    saver: str = ""
    # Columns that are not model fields: (header, function of the row, from what the page prefetched).
    extra_columns: tuple[tuple[str, Callable[[Any], Any]], ...] = ()
    # Rows a user who is not a superuser may not open (a superuser's account).
    superusers_only: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


def _role_label(user) -> str:
    names = {group.name for group in user.groups.all()}  # prefetched
    return ", ".join(Role(role).label for role, name in GROUP_NAMES.items() if name in names) or "No role"


def _locations_label(user) -> str:
    if user.chain_wide or user.is_superuser:
        return "All locations"
    return ", ".join(sorted(a.location.name for a in user.staff_locations.all())) or "None"  # prefetched


PAGES: dict[str, Page] = {
    page.slug: page
    for page in [
        Page(
            slug="locations",
            title="Locations",
            singular="location",
            model=Location,
            form=forms.LocationForm,
            columns=("name", "time_zone", "address", "phone", "monitoring_capacity", "no_show_grace_minutes"),
            permission=MANAGE_LOCATIONS,
            intro="Clinic sites. A deactivated location takes no new bookings; its past stays in the calendar "
            "and the reports.",
        ),
        Page(
            slug="opening-hours",
            title="Opening hours",
            singular="opening hours",
            model=OpeningHours,
            form=forms.OpeningHoursForm,
            columns=("location", "weekday", "opens", "closes", "effective_from", "effective_until"),
            permission=MANAGE_LOCATIONS,
            intro="One row per opening window (two rows make a split day). New hours apply from the day you "
            "choose, so the open hours of earlier days (and chair utilisation) stay as they were; ending hours "
            "keeps them for the days they applied.",
            retire=Retire.END,
            select_related=("location",),
            filter_by_location=True,
        ),
        Page(
            slug="closures",
            title="Closures",
            singular="closure",
            model=Closure,
            form=forms.ClosureForm,
            columns=("location", "starts_on", "ends_on", "reason"),
            permission=MANAGE_LOCATIONS,
            intro="Whole local days a site is shut: no booking is offered on them.",
            retire=Retire.NONE,
            select_related=("location",),
            filter_by_location=True,
        ),
        Page(
            slug="fees",
            title="Fee schedule",
            singular="fee",
            model=FeeItem,
            form=forms.FeeItemForm,
            columns=(
                "location",
                "role",
                "appointment_type",
                "code",
                "description",
                "price",
                "effective_from",
                "effective_until",
            ),
            permission=MANAGE_FEES,
            intro="What each location charges, with its CPT or HCPCS code. A new price is a new row from the day it "
            "applies (end the old one): invoices already issued keep the price they were issued with.",
            retire=Retire.END,
            select_related=("location", "appointment_type"),
            filter_by_location=True,
            audit_category=Category.BILLING,
        ),
        Page(
            slug="packages",
            title="Packages",
            singular="package",
            model=PackagePlan,
            form=forms.PackagePlanForm,
            columns=("location", "name", "appointment_type", "sessions", "price", "validity_days"),
            permission=MANAGE_FEES,
            intro="Prepaid series the front desk sells (e.g. six infusions). Each session of the type is paid from "
            "the package until its sessions run out or it expires; a deactivated package is no longer sold.",
            select_related=("location", "appointment_type"),
            filter_by_location=True,
            audit_category=Category.BILLING,
        ),
        Page(
            slug="billing",
            title="Billing settings",
            singular="billing settings",
            model=BillingSettings,
            form=forms.BillingSettingsForm,
            columns=("location", "currency", "tax_id", "late_cancel_hours", "late_cancel_fee", "no_show_fee"),
            permission=MANAGE_FEES,
            intro="Per location: currency, the tax id printed on superbills, the late-cancellation window and fee "
            "and the no-show fee (clinic policy), and the infusion coding thresholds (CPT's, kept editable).",
            retire=Retire.NONE,
            select_related=("location",),
            filter_by_location=True,
            audit_category=Category.BILLING,
        ),
        Page(
            slug="chairs-and-rooms",
            title="Chairs and rooms",
            singular="chair or room",
            model=Resource,
            form=forms.ResourceForm,
            columns=("location", "kind", "name", "sort_order"),
            permission=MANAGE_LOCATIONS,
            intro="Infusion chairs and consult rooms. A deactivated one is out of service: not offered for "
            "new bookings, still shown on past ones.",
            select_related=("location",),
            filter_by_location=True,
        ),
        Page(
            slug="clinician-hours",
            title="Clinician hours",
            singular="working hours",
            model=ClinicianHours,
            form=forms.ClinicianHoursForm,
            columns=("clinician", "location", "weekday", "starts", "ends"),
            permission=MANAGE_LOCATIONS,
            intro="When each clinician works, and where. One person's hours never overlap, at one site or "
            "across sites.",
            retire=Retire.REMOVE,
            select_related=("clinician", "location"),
            filter_by_location=True,
        ),
        Page(
            slug="appointment-types",
            title="Appointment types",
            singular="appointment type",
            model=AppointmentType,
            form=forms.AppointmentTypeForm,
            columns=(
                "name",
                "default_minutes",
                "infusion_minutes",
                "recovery_minutes",
                "resource_kind",
                "colour",
                "self_bookable",
            ),
            permission=MANAGE_LOCATIONS,
            intro="The kinds of visit the calendar books (one per clinical workflow). A deactivated type is no "
            "longer offered. A type patients may book themselves is offered on their booking link and the "
            "waitlist (the self-booking policy says how far ahead).",
            can_add=False,
        ),
        Page(
            slug="reminder-rules",
            title="Reminder rules",
            singular="reminder rule",
            model=ReminderRule,
            form=forms.ReminderRuleForm,
            columns=("name", "location", "kind", "offset_mode", "hours_before", "local_time"),
            permission=MANAGE_REMINDERS,
            intro="When and how patients are reminded. Messages never name the treatment, the drug or a diagnosis.",
            select_related=("location",),
            prefetch_related=("appointment_types",),
            audit_category=Category.SCHEDULING,
        ),
        Page(
            slug="users",
            title="Users and roles",
            singular="user",
            model=get_user_model(),
            form=forms.UserForm,
            columns=("username", "first_name", "last_name", "email", "credentials", "last_login"),
            permission="accounts.change_user",
            intro="Staff accounts, one per person, each in one role. A deactivated account cannot sign in; "
            "its name stays on every record it signed. Reset a lost second factor from the account's page. "
            "Each account sees the patients, calendars and worklists of its locations only, unless it is "
            "given All locations; outside them a chart opens only through emergency access.",
            audit_category=Category.SECURITY,
            active_field="is_active",
            superusers_only={"is_superuser": True},
            prefetch_related=("groups", "staff_locations__location"),
            extra_columns=(("Role", _role_label), ("Locations", _locations_label)),
        ),
        Page(
            slug="protocols",
            title="Protocol library",
            singular="protocol",
            model=Protocol,
            form=forms.ProtocolForm,
            columns=("name", "dose_unit", "dose_min", "dose_max", "infusion_minutes", "sessions", "source"),
            permission="consultations.manage_protocols",
            intro="The treatment protocols a plan is made from; every dose figure cites the clinical reference. "
            "A change to an existing protocol's dose figures applies once the medical director signs it off; "
            "a retired protocol stays on the plans made from it.",
            saver="protocol",
        ),
        Page(
            slug="prescribers",
            title="Prescribers' credentials",
            singular="prescriber profile",
            model=PrescriberProfile,
            form=forms.PrescriberForm,
            columns=("user", "credential", "npi", "medical_director"),
            permission="prescribers.change_prescriberprofile",
            intro="A prescriber's credential and NPI; the medical director signs off clinical policy changes. "
            "Without a profile and a current licence a prescriber's decisions are refused.",
            retire=Retire.NONE,
            select_related=("user",),
            audit_category=Category.SECURITY,
        ),
        Page(
            slug="state-licences",
            title="State licences",
            singular="state licence",
            model=StateLicence,
            form=forms.LicenceForm,
            columns=("profile", "state", "number", "expires_on"),
            permission="prescribers.change_statelicence",
            intro="Each prescriber's licence per state, with the last day it is valid.",
            retire=Retire.REMOVE,
            select_related=("profile__user",),
            audit_category=Category.SECURITY,
        ),
        Page(
            slug="prescriber-dea",
            title="Prescribers' DEA registrations",
            singular="DEA registration",
            model=DEARegistration,
            form=forms.PrescriberRegistrationForm,
            columns=("profile", "location", "number", "expires_on"),
            permission="prescribers.change_dearegistration",
            intro="A prescriber's DEA registration for each location where they order ketamine.",
            retire=Retire.REMOVE,
            select_related=("profile__user", "location"),
            audit_category=Category.SECURITY,
        ),
        Page(
            slug="rescue-drugs",
            title="Rescue formulary",
            singular="rescue drug",
            model=RescueDrug,
            form=forms.RescueDrugForm,
            columns=("name", "default_dose", "dose_unit", "route", "controlled", "dea_schedule", "source"),
            permission="infusions.manage_infusion_policy",
            intro="The drugs offered when a rescue dose is given at the chair. A retired drug stays on the doses "
            "already given.",
        ),
        Page(
            slug="location-registrations",
            title="Locations' DEA registrations",
            singular="location registration",
            model=Registration,
            form=forms.LocationRegistrationForm,
            columns=("location", "dea_number", "expires_on"),
            permission="controlled_substances.manage_stock",
            intro="The registration each location holds its ketamine stock under; an expired one blocks receipts, "
            "draws and transfers there. Its vials, counts and logs refer to it, so it is never removed.",
            retire=Retire.NONE,
            select_related=("location",),
            audit_category=Category.CONTROLLED_SUBSTANCE,
        ),
        Page(
            slug="products",
            title="Controlled products",
            singular="product",
            model=Product,
            form=forms.ProductForm,
            columns=("name", "ndc", "schedule", "concentration_mg_per_ml", "container_volume_ml"),
            permission="controlled_substances.manage_stock",
            intro="The ketamine products the clinic receives (NDC, concentration, vial size).",
            audit_category=Category.CONTROLLED_SUBSTANCE,
        ),
        Page(
            slug="suppliers",
            title="Suppliers",
            singular="supplier",
            model=Supplier,
            form=forms.SupplierForm,
            columns=("name", "dea_number"),
            permission="controlled_substances.manage_stock",
            intro="The DEA-registered suppliers ketamine is received from.",
            retire=Retire.NONE,
            audit_category=Category.CONTROLLED_SUBSTANCE,
        ),
    ]
}


@dataclass(frozen=True)
class Policy:
    """A one-row policy. ``sign_off``: an edit is a proposal the medical director signs off
    (prescribers.policy) before it applies; otherwise it applies at once, audited."""

    slug: str
    title: str
    model_label: str
    permission: str
    intro: str
    sign_off: bool = True

    @property
    def model(self) -> type[models.Model]:
        from django.apps import apps  # lazy: the registry is read after every app has loaded

        return apps.get_model(self.model_label)


POLICIES: dict[str, Policy] = {
    policy.slug: policy
    for policy in [
        Policy(
            slug="infusion-policy",
            title="Infusion policy",
            model_label="infusions.InfusionPolicy",
            permission="infusions.manage_infusion_policy",
            intro="Fasting intervals, vital-sign alerts and critical values, reading cadence, discharge "
            "criteria, the dose ceilings and the pump's range. Each field gives its default, its source in the "
            "clinical reference (or 'clinic policy') and the range allowed.",
        ),
        Policy(
            slug="screening-policy",
            title="Screening policy",
            model_label="consultations.ScreeningPolicy",
            permission="consultations.manage_screening_policy",
            intro="The contraindication screening thresholds of the intake consultation.",
        ),
        Policy(
            slug="follow-up-policy",
            title="Follow-up policy",
            model_label="followups.FollowUpPolicy",
            permission="followups.manage_followup_policy",
            intro="Booster suggestions, worsening alerts and the patients' questionnaire links.",
        ),
        Policy(
            slug="self-booking-policy",
            title="Self-booking policy",
            model_label="scheduling.SelfBookingPolicy",
            permission=MANAGE_LOCATIONS,
            intro="How far ahead and how soon patients may book their own visits from a link, whether the front "
            "desk approves each booking, and how many waitlisted patients are told of a freed slot. Which kinds "
            "of visit patients may book is set on Appointment types.",
            sign_off=False,
        ),
        Policy(
            slug="consent-policy",
            title="Consent policy",
            model_label="consents.ConsentPolicy",
            permission="consents.manage_consent_documents",
            intro="Which consents each patient signs on its current version before an infusion starts, and how "
            "long a signing link opens.",
            sign_off=False,
        ),
        Policy(
            slug="controlled-substance-policy",
            title="Controlled-substance policy",
            model_label="controlled_substances.ControlledSubstancePolicy",
            permission="controlled_substances.manage_stock",
            intro="The DEA registrant's details, the count discrepancy that starts the loss workflow and the "
            "draw tolerance at the chair.",
            sign_off=False,
        ),
        Policy(
            slug="care-team-policy",
            title="Care-team policy",
            model_label="care_team.CareTeamPolicy",
            permission="care_team.manage_care_team_policy",
            intro="When progress letters to the patient's other clinicians are drafted (the end of the induction "
            "series, then every N boosters) and how long an integration or psychotherapy visit lasts.",
            sign_off=False,
        ),
    ]
}


@dataclass(frozen=True)
class Link:
    """A settings page another app serves itself, because it has a workflow of its own (a consent
    document is drafted, then published for good)."""

    title: str
    url_name: str
    permission: str
    intro: str


LINKS: list[Link] = [
    Link(
        title="Consent forms patients sign",
        url_name="consents:versions",
        permission="consents.manage_consent_documents",
        intro="The versioned consent documents (ketamine treatment, telehealth and communications, financial "
        "policy) patients read and sign online, on the clinic's tablet or on paper.",
    ),
    Link(
        title="API clients",
        url_name="interop:clients",
        permission="interop.add_clientregistration",
        intro="Programs that read the clinic's records through the FHIR API: register one, or retire it to stop it.",
    ),
]
