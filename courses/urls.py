from django.urls import path

from courses import views

app_name = "courses"

urlpatterns = [
    path("patients/<int:patient_id>/", views.patient_course, name="patient-course"),
    path("patients/<int:patient_id>/panel/", views.patient_panel, name="patient-panel"),
    path("patients/<int:patient_id>/titration/", views.titration, name="titration"),
    path("patients/<int:patient_id>/liver-tests/new/", views.liver_test, name="liver-test"),
    path("patients/<int:patient_id>/rescreen/", views.rescreen, name="rescreen"),
    path("findings/<int:finding_id>/acknowledge/", views.finding_acknowledge, name="finding-acknowledge"),
    path("rescreens/<int:rescreen_id>/review/", views.rescreen_review, name="rescreen-review"),
    path("sessions/<int:session_id>/panel/", views.session_panel, name="session-panel"),
    path("sessions/<int:session_id>/urinary-screen/", views.urinary_screen, name="urinary-screen"),
    path("exposure/", views.exposure_report, name="exposure-report"),
]
