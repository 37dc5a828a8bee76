"""The patient's confirm/cancel link from a reminder (no sign-in; see views.py), under ``/schedule/visit/``."""

from django.urls import path

from reminders import views

app_name = "reminders"

urlpatterns = [
    path("", views.visit_reply, name="visit-reply"),
    path("done/", views.visit_done, name="visit-done"),
    path("<str:token>/", views.visit_link, name="visit-link"),
]
