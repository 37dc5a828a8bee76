"""Read-only admin: documents and disclosures are written by services only (and never deleted)."""

from django.contrib import admin

from documents.models import Disclosure, Document


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = ("title", "kind", "version", "status", "issued_at", "issued_by", "page_count", "size_bytes")
    list_filter = ("kind", "status")
    search_fields = ("patient__mrn",)
    exclude = ("pdf", "snapshot")
    list_select_related = ("issued_by",)

    def get_queryset(self, request):
        return super().get_queryset(request).defer("pdf", "snapshot")


@admin.register(Disclosure)
class DisclosureAdmin(ReadOnlyAdmin):
    list_display = ("at", "document", "recipient", "purpose", "channel", "by")
    list_filter = ("purpose", "channel")
    search_fields = ("patient__mrn", "recipient")
    list_select_related = ("document", "by")
