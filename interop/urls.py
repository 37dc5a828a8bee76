from django.urls import path

from interop import export_views, views

app_name = "interop"

urlpatterns = [
    path("r4/metadata", views.metadata, name="metadata"),
    path("r4/.well-known/smart-configuration", views.smart_configuration, name="smart-configuration"),
    # Bulk export before read and search, which would take "$export" for a type or an id.
    path("r4/$export", export_views.export_system, name="export"),
    path("r4/Patient/$export", export_views.export_patients, name="export-patients"),
    path("r4/Group/<str:group_id>/$export", export_views.export_group, name="export-group"),
    path("r4/$export-status/<uuid:export_id>", export_views.export_status, name="export-status"),
    path("r4/$export-file/<uuid:export_id>/<str:name>", export_views.export_file, name="export-file"),
    path("r4/<str:resource_type>/<str:resource_id>", views.read, name="read"),
    path("r4/<str:resource_type>", views.search, name="search"),
    path("clients/", views.clients, name="clients"),
    path("clients/new/", views.client_new, name="client-new"),
    path("clients/<int:pk>/retire/", views.client_retire, name="client-retire"),
    path("patients/<int:patient_id>/record/", export_views.record_exports, name="record-exports"),
    path("patients/<int:patient_id>/record/new/", export_views.record_export_new, name="record-export-new"),
    path("records/<uuid:export_id>/download/", export_views.record_download, name="record-download"),
]
