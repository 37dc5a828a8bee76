from django.contrib import admin
from django.db.models import Exists, OuterRef

from assessments.models import InstrumentResponse


@admin.register(InstrumentResponse)
class InstrumentResponseAdmin(admin.ModelAdmin):
    """Read-only: responses are immutable; corrections are entered where they were taken."""

    list_display = ["id", "patient_mrn", "instrument", "total", "band", "context", "administered_at", "superseded"]
    list_filter = ["instrument", "context", "source"]
    list_select_related = ["patient"]
    search_fields = ["patient__mrn"]
    date_hierarchy = "administered_at"

    @admin.display(description="MRN")
    def patient_mrn(self, obj):
        return obj.patient.mrn

    @admin.display(boolean=True, description="Corrected")
    def superseded(self, obj):
        return obj.is_corrected

    def get_queryset(self, request):
        corrected = InstrumentResponse.objects.filter(supersedes=OuterRef("pk"))
        return super().get_queryset(request).annotate(is_corrected=Exists(corrected))

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
