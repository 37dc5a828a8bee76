from django.urls import path

from scheduling import views
from scheduling.views import online

app_name = "scheduling"

urlpatterns = [
    path("", views.calendar, name="calendar"),
    path("day-sheet/", views.day_sheet, name="day-sheet"),
    path("book/", views.book, name="book"),
    path("book/patients/", views.patient_search, name="patient-search"),
    path("book/resources/", views.resource_options, name="resource-options"),
    path("series/new/", views.series_new, name="series-new"),
    path("find/", views.find, name="find"),
    path("appointments/<int:appointment_id>/", views.appointment_detail, name="appointment-detail"),
    path("appointments/<int:appointment_id>/status/", views.appointment_status, name="appointment-status"),
    path("appointments/<int:appointment_id>/cancel/", views.appointment_cancel, name="appointment-cancel"),
    path("appointments/<int:appointment_id>/reschedule/", views.appointment_reschedule, name="appointment-reschedule"),
    path("appointments/<int:appointment_id>/move/", views.appointment_move, name="appointment-move"),
    path("appointments/<int:appointment_id>/escort/", views.appointment_escort, name="appointment-escort"),
    path("patients/<int:patient_id>/panel/", views.patient_panel, name="patient-panel"),
    path("patients/<int:patient_id>/waitlist/", online.patient_waitlist, name="patient-waitlist"),
    path("patients/<int:patient_id>/booking-link/", online.patient_booking_link, name="patient-booking-link"),
    path("online/", online.online, name="online"),
    path("online/<int:self_booking_id>/decide/", online.self_booking_decide, name="self-booking-decide"),
    path("waitlist/<int:waitlist_entry_id>/remove/", online.waitlist_remove, name="waitlist-remove"),
    path("feeds/", views.feeds, name="feeds"),
    path("feeds/regenerate/", views.feed_regenerate, name="feed-regenerate"),
    path("feeds/revoke/", views.feed_revoke, name="feed-revoke"),
    path("feeds/<str:feed_token>.ics", views.feed, name="feed"),
]
