from django.urls import path

from followups import public_views, views

app_name = "followups"

urlpatterns = [
    path("worklist/", views.worklist, name="worklist"),
    path("ready-to-book/", views.ready_to_book, name="ready-to-book"),
    path("patients/<int:patient_id>/panel/", views.patient_panel, name="patient-panel"),
    path("patients/<int:patient_id>/outcomes/", views.outcomes, name="outcomes"),
    path("patients/<int:patient_id>/questionnaire/", views.link_send, name="link-send"),
    path("appointments/<int:appointment_id>/note/", views.visit_open, name="visit-open"),
    path("visits/<int:visit_id>/", views.visit_detail, name="visit-detail"),
    path("visits/<int:visit_id>/sign/", views.visit_sign, name="visit-sign"),
    path("visits/<int:visit_id>/amend/", views.visit_amend, name="visit-amend"),
    path("suggestions/<int:suggestion_id>/decide/", views.suggestion_decide, name="suggestion-decide"),
    path("alerts/<int:alert_id>/", views.alert_detail, name="alert-detail"),
    # Patient-facing (no staff sign-in; security-reference A9)
    path("q/verify/", public_views.link_verify, name="link-verify"),
    path("q/<str:token>/", public_views.link_open, name="link-open"),
    path("self-report/", public_views.self_report, name="self-report"),
    path("self-report/done/", public_views.self_report_done, name="self-report-done"),
]
