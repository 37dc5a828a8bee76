from django.urls import path

from patients import views

app_name = "patients"

urlpatterns = [
    path("", views.patient_list, name="list"),
    path("new/", views.patient_create, name="create"),
    path("<int:pk>/", views.patient_detail, name="detail"),
    path("<int:pk>/edit/", views.patient_edit, name="edit"),
    path("<int:pk>/status/", views.patient_status, name="status"),
    path("<int:pk>/contacts/", views.patient_contacts, name="contacts"),
    path("<int:pk>/emergency-access/", views.patient_emergency_access, name="emergency-access"),
]
