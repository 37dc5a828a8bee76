"""Admin for reminder rules (administrators configure them, audited) and a read-only reminder list.

Access follows ``scheduling.manage_locations`` like the rest of the clinic set-up.
"""

from django.contrib import admin

from reminders.models import Reminder, ReminderRule

# Imported at the end of scheduling/admin.py, after these are defined.
from scheduling.admin import AuditedAdmin, ManagedByLocationAdmins


@admin.register(ReminderRule)
class ReminderRuleAdmin(AuditedAdmin):
    list_display = [
        "name",
        "kind",
        "location",
        "offset_mode",
        "hours_before",
        "local_time",
        "send_sms",
        "send_email",
        "active",
    ]
    list_filter = ["kind", "location", "active"]
    filter_horizontal = ["appointment_types"]


@admin.register(Reminder)
class ReminderAdmin(ManagedByLocationAdmins, admin.ModelAdmin):
    """Status of every reminder; ids only (no patient names), so no PHI leaves the calendar's checks."""

    list_display = ["id", "appointment_id", "kind", "channel", "status", "due_at", "sent_at", "attempts", "last_error"]
    list_filter = ["status", "kind", "channel"]
    readonly_fields = [f.name for f in Reminder._meta.fields]
    raw_id_fields = ["appointment", "rule"]
    date_hierarchy = "due_at"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
