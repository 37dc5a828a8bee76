"""The settings pages' forms: each says in words what is wrong, at the field, before the
database's constraints would refuse it."""

from __future__ import annotations

import secrets
from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.forms.models import construct_instance
from django.utils import timezone

from accounts.roles import GROUP_NAMES, Role, role_of
from billing.models import BillingSettings, FeeItem, FeeRole, PackagePlan
from consultations.choices import IndicationChoice
from consultations.models import Protocol
from controlled_substances.models import Product, Registration, Supplier
from core.formatting import clock
from infusions.models import RescueDrug
from prescribers.forms import DEARegistrationForm, PrescriberProfileForm, StateLicenceForm
from reminders.models import ReminderRule
from scheduling.models import AppointmentType, ClinicianHours, Closure, Location, OpeningHours, Resource, StaffLocation
from scheduling.selectors import clinician_hours_overlaps

TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class SettingsForm(forms.ModelForm):
    """Model validation without the database constraints' generic wording: every constraint a
    user can break is checked in ``clean`` with a message at the field, and the database
    constraints stay the last word on races."""

    # Fields whose change is a change of what someone may do (audited as such).
    privilege_fields: frozenset[str] = frozenset()
    # A form whose every constraint is not yet checked in words keeps Django's constraint check:
    # a generic message at the top is better than the database refusing the save.
    check_constraints = False

    def extra_values(self, instance) -> dict[str, Any]:
        """Values of the form's fields that are not model columns, as the audit compares them."""
        return {}

    def _post_clean(self) -> None:
        # ModelForm._post_clean, less the generic "Constraint … is violated." messages. It calls
        # ModelForm's private helpers, which django-stubs does not declare.
        form: Any = self
        exclude = form._get_validation_exclusions()
        try:
            self.instance = construct_instance(self, self.instance, self._meta.fields, self._meta.exclude)
        except forms.ValidationError as e:
            form._update_errors(e)
        try:
            self.instance.full_clean(
                exclude=exclude, validate_unique=False, validate_constraints=self.check_constraints
            )
        except forms.ValidationError as e:
            form._update_errors(e)
        if form._validate_unique:
            self.validate_unique()


def _window(cleaned: dict[str, Any], start: str, end: str, form: forms.ModelForm) -> None:
    if cleaned.get(start) and cleaned.get(end) and cleaned[end] <= cleaned[start]:
        form.add_error(end, f"Must be after {clock(cleaned[start])}.")


class LocationForm(SettingsForm):
    class Meta:
        model = Location
        fields = ["name", "time_zone", "address", "phone", "monitoring_capacity", "no_show_grace_minutes"]


class OpeningHoursForm(SettingsForm):
    class Meta:
        model = OpeningHours
        fields = ["location", "weekday", "opens", "closes", "effective_from", "effective_until"]
        widgets = {"opens": TIME, "closes": TIME, "effective_from": DATE, "effective_until": DATE}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["location"]).queryset = Location.objects.filter(active=True)
        if self.instance.pk is None:
            # New hours count from today: the open hours of days already past stay as they were.
            self.fields["effective_from"].initial = timezone.localdate()

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        _window(cleaned, "opens", "closes", self)
        first, last = cleaned.get("effective_from"), cleaned.get("effective_until")
        if first and last and last < first:
            self.add_error("effective_until", f"Must be on or after {first:%m/%d/%Y}.")
        return cleaned


class ClosureForm(SettingsForm):
    class Meta:
        model = Closure
        fields = ["location", "starts_on", "ends_on", "reason"]
        widgets = {"starts_on": DATE, "ends_on": DATE}

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("starts_on") and cleaned.get("ends_on") and cleaned["ends_on"] < cleaned["starts_on"]:
            self.add_error("ends_on", f"Must be on or after {cleaned['starts_on']:%m/%d/%Y}.")
        return cleaned


class BillingSettingsForm(SettingsForm):
    class Meta:
        model = BillingSettings
        fields = [
            "location",
            "currency",
            "tax_id",
            "invoice_prefix",
            "late_cancel_hours",
            "late_cancel_fee",
            "no_show_fee",
            "push_max_minutes",
            "additional_hour_over_minutes",
        ]


class FeeItemForm(SettingsForm):
    """A price on the fee schedule. To change a price, end the old row and add the new one from
    the day it applies: invoices already issued keep the price they were issued with."""

    class Meta:
        model = FeeItem
        fields = [
            "location",
            "role",
            "appointment_type",
            "code_system",
            "code",
            "description",
            "price",
            "effective_from",
            "effective_until",
        ]
        widgets = {"effective_from": DATE, "effective_until": DATE}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["location"]).queryset = Location.objects.filter(active=True)
        if self.instance.pk is None:
            self.fields["effective_from"].initial = timezone.localdate()

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        first, last = cleaned.get("effective_from"), cleaned.get("effective_until")
        if first and last and last < first:
            self.add_error("effective_until", f"Must be on or after {first:%m/%d/%Y}.")
        price = cleaned.get("price")
        if price is not None and price < 0:
            self.add_error("price", "A price cannot be negative.")
        if cleaned.get("appointment_type") and cleaned.get("role") != FeeRole.VISIT:
            self.add_error("appointment_type", "Only the visit fee is priced per appointment type.")
        return cleaned


class PackagePlanForm(SettingsForm):
    class Meta:
        model = PackagePlan
        fields = ["location", "name", "appointment_type", "sessions", "price", "validity_days"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["location"]).queryset = Location.objects.filter(active=True)

    def clean_price(self):
        price = self.cleaned_data["price"]
        if price is not None and price < 0:
            raise forms.ValidationError("A price cannot be negative.")
        return price


class ResourceForm(SettingsForm):
    class Meta:
        model = Resource
        fields = ["location", "kind", "name", "sort_order"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["location"]).queryset = Location.objects.filter(active=True)

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        location, name = cleaned.get("location"), cleaned.get("name")
        if location and name:
            same = Resource.objects.filter(location=location, name__iexact=name).exclude(pk=self.instance.pk)
            if same.exists():
                self.add_error("name", f"{location.name} already has a chair or room named {name}.")
        return cleaned


class ClinicianHoursForm(SettingsForm):
    class Meta:
        model = ClinicianHours
        fields = ["clinician", "location", "weekday", "starts", "ends"]
        widgets = {"starts": TIME, "ends": TIME}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["clinician"]).queryset = (
            get_user_model().objects.filter(is_active=True, groups__name__in=["Nurse", "Prescriber"]).distinct()
        )
        cast(forms.ModelChoiceField, self.fields["location"]).queryset = Location.objects.filter(active=True)

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        _window(cleaned, "starts", "ends", self)
        if self.errors:
            return cleaned
        clash = clinician_hours_overlaps(
            clinician=cleaned["clinician"],
            weekday=cleaned["weekday"],
            starts=cleaned["starts"],
            ends=cleaned["ends"],
            exclude_pk=self.instance.pk,
        )
        if clash is not None:
            self.add_error(
                "starts",
                f"{cleaned['clinician']} already works {clock(clash.starts)}–{clock(clash.ends)} on "
                f"{clash.get_weekday_display()} at {clash.location.name}; one person cannot be in two places.",
            )
        return cleaned


class AppointmentTypeForm(SettingsForm):
    class Meta:
        model = AppointmentType
        fields = [
            "name",
            "default_minutes",
            "infusion_minutes",
            "recovery_minutes",
            "resource_kind",
            "clinician_exclusive",
            "requires_escort",
            "colour",
            "self_bookable",
        ]

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("resource_kind") not in (None, AppointmentType.NeedsResource.CHAIR):
            for name in ("infusion_minutes", "recovery_minutes"):
                if cleaned.get(name) is not None:
                    self.add_error(name, "Only a type that uses an infusion chair has infusion and recovery times.")
        return cleaned


class ReminderRuleForm(SettingsForm):
    class Meta:
        model = ReminderRule
        fields = [
            "name",
            "location",
            "kind",
            "appointment_types",
            "send_sms",
            "send_email",
            "offset_mode",
            "hours_before",
            "local_time",
            "quiet_start",
            "quiet_end",
            "subject",
            "text",
        ]
        widgets = {"local_time": TIME, "quiet_start": TIME, "quiet_end": TIME}


class UserForm(SettingsForm):
    """A member of staff and their one role. A new account's password is random and unknown: the
    colleague sets theirs with "Forgot your password?" and sets up a second factor at first sign-in."""

    role = forms.ChoiceField(choices=Role.choices)
    locations = forms.ModelMultipleChoiceField(
        queryset=Location.objects.filter(active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The sites whose patients, calendars and worklists this colleague sees.",
    )
    privilege_fields = frozenset({"role", "chain_wide", "locations"})

    class Meta:
        model = get_user_model()
        fields = ["username", "first_name", "last_name", "email", "credentials", "chain_wide"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True
        self.fields["first_name"].required = True
        self.fields["last_name"].required = True
        if self.instance.pk:
            self.fields["role"].initial = role_of(self.instance)
            self.fields["locations"].initial = list(
                StaffLocation.objects.filter(user=self.instance).values_list("location_id", flat=True)
            )

    def clean(self):
        cleaned = super().clean() or self.cleaned_data
        # A new account is scoped unless the administrator says otherwise: never "nothing chosen
        # means every location".
        if not cleaned.get("chain_wide") and not cleaned.get("locations") and "locations" not in self.errors:
            self.add_error("locations", "Choose the locations this colleague works at, or All locations.")
        return cleaned

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        same = get_user_model().objects.filter(email__iexact=email).exclude(pk=self.instance.pk)
        if same.exists():
            raise forms.ValidationError("Another account uses this e-mail address.")
        return email

    def extra_values(self, instance) -> dict[str, Any]:
        if not instance.pk:
            return {"role": "", "locations": []}
        names = set(instance.groups.values_list("name", flat=True))
        return {
            "role": next((role for role, name in GROUP_NAMES.items() if name in names), ""),
            "locations": sorted(StaffLocation.objects.filter(user=instance).values_list("location__name", flat=True)),
        }

    def save(self, commit: bool = True):
        user = super().save(commit=False)
        if user._state.adding:
            # Never shown to anyone: the colleague chooses theirs through "Forgot your password?",
            # which mails only accounts that have a (usable) password.
            user.set_password(secrets.token_urlsafe(32))
        user.save()
        user.groups.set([Group.objects.get(name=GROUP_NAMES[self.cleaned_data["role"]])])
        user.__dict__.pop("_role_cache", None)
        chosen = {location.pk for location in self.cleaned_data["locations"]}
        # Retired sites are not offered, so an assignment to one stays until removed in the admin.
        StaffLocation.objects.filter(user=user, location__active=True).exclude(location_id__in=chosen).delete()
        StaffLocation.objects.bulk_create(
            [StaffLocation(user=user, location_id=pk) for pk in sorted(chosen)], ignore_conflicts=True
        )
        return user


class PrescriberForm(SettingsForm, PrescriberProfileForm):
    check_constraints = True

    class Meta(PrescriberProfileForm.Meta):
        pass


class LicenceForm(SettingsForm, StateLicenceForm):
    check_constraints = True

    class Meta(StateLicenceForm.Meta):
        fields = ["profile", *StateLicenceForm.Meta.fields]
        widgets = {"expires_on": DATE}


class PrescriberRegistrationForm(SettingsForm, DEARegistrationForm):
    check_constraints = True

    class Meta(DEARegistrationForm.Meta):
        fields = ["profile", *DEARegistrationForm.Meta.fields]
        widgets = {"expires_on": DATE}


class RescueDrugForm(SettingsForm):
    check_constraints = True

    class Meta:
        model = RescueDrug
        fields = ["name", "default_dose", "dose_unit", "route", "controlled", "dea_schedule", "source"]


class LocationRegistrationForm(SettingsForm):
    check_constraints = True

    class Meta:
        model = Registration
        fields = ["location", "dea_number", "expires_on"]
        widgets = {"expires_on": DATE}


class ProductForm(SettingsForm):
    check_constraints = True

    class Meta:
        model = Product
        fields = ["name", "ndc", "schedule", "form", "concentration_mg_per_ml", "container_volume_ml"]


class SupplierForm(SettingsForm):
    check_constraints = True

    class Meta:
        model = Supplier
        fields = ["name", "address", "dea_number"]


class ProtocolForm(SettingsForm):
    check_constraints = True
    indications = forms.TypedMultipleChoiceField(
        choices=IndicationChoice.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=Protocol.indications.field.help_text,
    )

    class Meta:
        model = Protocol
        fields = [
            "name",
            "indications",
            "dose_unit",
            "dose_min",
            "dose_max",
            "infusion_minutes",
            "sessions",
            "sessions_per_week",
            "course",
            "default_weight_basis",
            "source",
            "notes",
        ]
