from __future__ import annotations

from django.contrib import admin

from accounts import audit
from core.audit import Category, Verb
from prescribers.forms import DEARegistrationForm, PrescriberProfileForm, StateLicenceForm
from prescribers.models import DEARegistration, PrescriberProfile, StateLicence


class StateLicenceInline(admin.TabularInline):
    model = StateLicence
    form = StateLicenceForm
    extra = 0


class DEARegistrationInline(admin.TabularInline):
    model = DEARegistration
    form = DEARegistrationForm
    extra = 0


@admin.register(PrescriberProfile)
class PrescriberProfileAdmin(admin.ModelAdmin):
    form = PrescriberProfileForm
    inlines = [StateLicenceInline, DEARegistrationInline]
    list_display = ["user", "credential", "npi", "medical_director"]
    list_filter = ["credential", "medical_director"]
    search_fields = ["user__last_name", "user__first_name", "npi"]
    autocomplete_fields = ["user"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit.record(
            actor=request.user,
            action="prescribers.profile.saved",
            verb=Verb.UPDATE if change else Verb.CREATE,
            category=Category.SECURITY,
            target=obj,
            changes={name: str(form.cleaned_data.get(name)) for name in form.changed_data},
        )

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        for row in formset.new_objects + [obj for obj, _ in formset.changed_objects]:
            audit.record(
                actor=request.user,
                action=f"prescribers.{row._meta.model_name}.saved",
                verb=Verb.UPDATE,
                category=Category.SECURITY,
                target=row,
                changes={"number": row.number, "expires_on": row.expires_on.isoformat()},
            )
        for row in formset.deleted_objects:
            audit.record(
                actor=request.user,
                action=f"prescribers.{row._meta.model_name}.deleted",
                verb=Verb.DELETE,
                category=Category.SECURITY,
                changes={"number": row.number},
            )
