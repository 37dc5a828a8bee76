from django.urls import path

from documents import views

app_name = "documents"

urlpatterns = [
    path("patients/<int:patient_id>/panel/", views.patient_panel, name="patient-panel"),
    path("patients/<int:patient_id>/issue/", views.document_issue, name="issue"),
    path("<int:document_id>/status/", views.document_status, name="status"),
    path("<int:document_id>/download/", views.document_download, name="download"),
]
