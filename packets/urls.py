from django.urls import path

from packets import public_views, views

app_name = "packets"

urlpatterns = [
    path("patients/<int:patient_id>/panel/", views.patient_panel, name="patient-panel"),
    path("patients/<int:patient_id>/send/", views.send, name="send"),
    path("<int:packet_id>/withdraw/", views.revoke, name="revoke"),
    path("<int:packet_id>/corrections/", views.corrections, name="corrections"),
    path("consultations/<int:consultation_id>/reported/", views.reported, name="reported"),
    path("consultations/<int:consultation_id>/facts/<int:fact_id>/accept/", views.accept_fact, name="accept-fact"),
    path(
        "consultations/<int:consultation_id>/medications/<int:medication_id>/accept/",
        views.accept_medication,
        name="accept-medication",
    ),
    # Patient-facing (no staff sign-in; security-reference A9)
    path("open/<str:token>/", public_views.link_open, name="link-open"),
    path("verify/", public_views.link_verify, name="link-verify"),
    path("forms/", public_views.hub, name="hub"),
    path("forms/done/", public_views.done, name="done"),
    path("forms/<slug:step>/", public_views.step, name="step"),
]
