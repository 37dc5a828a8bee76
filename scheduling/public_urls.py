"""The patient's booking pages (no sign-in; see views/self_booking.py), under ``/book/``."""

from django.urls import path

from scheduling.views import self_booking

app_name = "self_booking"

urlpatterns = [
    path("", self_booking.book, name="book"),
    path("verify/", self_booking.link_verify, name="verify"),
    path("waitlist/", self_booking.waitlist_join, name="waitlist"),
    path("offer/", self_booking.offer, name="offer"),
    path("done/", self_booking.done, name="done"),
    path("manage/", self_booking.manage, name="manage"),
    path("<str:token>/", self_booking.link_open, name="open"),
]
