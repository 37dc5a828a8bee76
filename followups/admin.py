from django.contrib import admin

from followups.models import FollowUpPolicy
from prescribers.policy import SignOffAdminMixin


@admin.register(FollowUpPolicy)
class FollowUpPolicyAdmin(SignOffAdminMixin, admin.ModelAdmin):
    """The booster rule and questionnaire-link settings: one row, never deleted."""

    list_display = ("__str__", "booster_enabled", "booster_fraction_percent", "link_expiry_hours", "updated_at")

    def has_add_permission(self, request):
        return not FollowUpPolicy.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False
