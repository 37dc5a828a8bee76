"""Administrators keep the product list, suppliers and the policy here. The ledger itself is
read-only in the admin: entries are written by the services and never changed."""

from django.contrib import admin

from controlled_substances.models import (
    Container,
    ControlledSubstancePolicy,
    InventoryCount,
    LedgerEntry,
    LossReport,
    Lot,
    Product,
    Registration,
    Supplier,
)


@admin.register(ControlledSubstancePolicy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ["registrant_name", "registrant_dea_number", "significant_discrepancy_mg"]

    def has_add_permission(self, request):
        return not ControlledSubstancePolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Registration)
class RegistrationAdmin(admin.ModelAdmin):
    list_display = ["location", "dea_number", "expires_on"]
    list_select_related = ["location"]

    def has_delete_permission(self, request, obj=None):
        return False  # its vials, counts and logs refer to it for as long as records are kept


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "ndc", "schedule", "concentration_mg_per_ml", "container_volume_ml", "active"]


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = ["name", "dea_number"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Lot)
class LotAdmin(ReadOnlyAdmin):
    list_display = ["lot_number", "product", "expiry_date", "supplier", "invoice_number", "invoice_date"]


@admin.register(Container)
class ContainerAdmin(ReadOnlyAdmin):
    list_display = ["code", "lot", "opened_at", "remaining_ml"]
    list_select_related = ["lot"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["container", "seq", "kind", "occurred_at", "quantity_ml", "delta_ml", "balance_after_ml", "actor"]
    list_filter = ["kind"]
    list_select_related = ["container", "actor"]


@admin.register(InventoryCount)
class InventoryCountAdmin(ReadOnlyAdmin):
    list_display = ["type", "counted_at", "business_time", "counted_by"]


@admin.register(LossReport)
class LossReportAdmin(ReadOnlyAdmin):
    list_display = ["kind", "discovered_at", "notice_due_on", "notice_given_on", "form_106_due_on", "form_106_ref"]
