from django.urls import path

from consultations import views

app_name = "consultations"

urlpatterns = [
    path("ready-to-book/", views.ready_to_book, name="ready-to-book"),
    path("appointments/<int:appointment_id>/open/", views.consultation_open, name="open"),
    path("patients/<int:patient_id>/panel/", views.patient_panel, name="patient-panel"),
    path("patients/<int:patient_id>/start/", views.consultation_start, name="start"),
    path("<int:consultation_id>/", views.consultation_detail, name="detail"),
    path("<int:consultation_id>/draft/", views.consultation_draft, name="draft"),
    path("<int:consultation_id>/amend/", views.consultation_amend, name="amend"),
    path("<int:consultation_id>/plan/", views.plan_create, name="plan-create"),
    path("plans/<int:plan_id>/", views.plan_detail, name="plan-detail"),
    path("plans/<int:plan_id>/status/", views.plan_transition, name="plan-transition"),
    path("plans/<int:plan_id>/order/", views.plan_order, name="plan-order"),
]
