from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("patients/<int:patient_id>/panel/", views.patient_panel, name="patient-panel"),
    path("patients/<int:patient_id>/payments/new/", views.payment_new, name="payment-new"),
    path("patients/<int:patient_id>/superbill/", views.superbill_period, name="superbill-period"),
    path("invoices/<int:invoice_id>/", views.invoice_detail, name="invoice-detail"),
    path("invoices/<int:invoice_id>/print/", views.invoice_print, name="invoice-print"),
    path("invoices/<int:invoice_id>/allocate/", views.invoice_allocate, name="invoice-allocate"),
    path("invoices/<int:invoice_id>/credit/", views.invoice_credit, name="invoice-credit"),
    path("invoices/<int:invoice_id>/waive/", views.invoice_waive, name="invoice-waive"),
    path("payments/<int:payment_id>/refund/", views.payment_refund, name="payment-refund"),
    path("payments/<int:payment_id>/check/", views.payment_check, name="payment-check"),
    path("payments/<int:payment_id>/cancel/", views.payment_cancel, name="payment-cancel"),
    path("webhooks/provider/", views.provider_webhook, name="provider-webhook"),
    path("patients/<int:patient_id>/packages/new/", views.package_sell, name="package-sell"),
    path("packages/<int:package_id>/close/", views.package_close, name="package-close"),
    path("appointments/<int:appointment_id>/deposit/", views.deposit_take, name="deposit-take"),
    path("appointments/<int:appointment_id>/items/", views.visit_items, name="visit-items"),
    path("items/<int:visit_item_id>/remove/", views.visit_item_remove, name="visit-item-remove"),
]
