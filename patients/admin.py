from django.contrib import admin

from patients.models import Patient


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ("mrn", "legal_last_name", "legal_first_name", "date_of_birth", "status")
    search_fields = ("mrn", "legal_last_name", "legal_first_name")
    readonly_fields = ("mrn", "created_at", "updated_at", "created_by")

    def has_delete_permission(self, request, obj=None):
        # Patients are never deleted; mark them inactive instead.
        return False
