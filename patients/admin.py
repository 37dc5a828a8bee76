"""Read-only admin views of the registry.

Every change goes through the services (validation, audit entry, optimistic
locking), so the admin shows records but does not edit, add or delete them;
the app's own pages do that.
"""

from django.contrib import admin

from patients.models import ContactLogEntry, Patient


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Patients are never deleted; mark them inactive instead.
        return False


@admin.register(Patient)
class PatientAdmin(ReadOnlyAdmin):
    list_display = ("mrn", "legal_last_name", "legal_first_name", "date_of_birth", "status")
    list_filter = ("status",)
    search_fields = ("mrn", "legal_last_name", "legal_first_name")
    exclude = ("last_name_key", "first_name_key", "preferred_name_key")


@admin.register(ContactLogEntry)
class ContactLogEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "patient", "channel", "direction", "by")
    list_select_related = ("patient", "by")
    raw_id_fields = ("patient",)
