from django.urls import path

from consents import public_views, views

app_name = "consents"

urlpatterns = [
    path("patients/<int:patient_id>/panel/", views.patient_panel, name="patient-panel"),
    path("patients/<int:patient_id>/sign/<slug:consent_kind>/", views.sign_in_clinic, name="sign-in-clinic"),
    path("patients/<int:patient_id>/paper/", views.paper, name="paper"),
    path("patients/<int:patient_id>/link/", views.link_new, name="link-new"),
    path("patients/<int:patient_id>/signed/<int:consent_signature_id>/withdraw/", views.withdraw, name="withdraw"),
    path("patients/<int:patient_id>/signed/<int:consent_signature_id>/scan/", views.scan, name="scan"),
    path("documents/", views.version_list, name="versions"),
    path("documents/new/", views.version_new, name="version-new"),
    path("documents/<int:consent_version_id>/", views.version_detail, name="version-detail"),
    path("documents/<int:consent_version_id>/publish/", views.version_publish, name="version-publish"),
    # The patient's pages (no staff sign-in): the token URL, the date-of-birth check, signing.
    path("c/verify/", public_views.link_verify, name="link-verify"),
    path("c/<str:token>/", public_views.link_open, name="link-open"),
    path("sign/", public_views.public_sign, name="public-sign"),
    path("sign/done/", public_views.public_done, name="public-done"),
]
