from django.urls import path

from inquiries import views

app_name = "inquiries"

urlpatterns = [
    # Public: no sign-in.
    path("start/", views.start, name="start"),
    path("start/thanks/", views.thanks, name="thanks"),
    path("start/book/", views.start_booking, name="start-booking"),
    # The desk's queue.
    path("start/poster/", views.start_poster, name="poster"),
    path("inquiries/", views.queue, name="queue"),
    path("inquiries/home-panel/", views.home_panel, name="home-panel"),
    path("inquiries/<int:inquiry_id>/", views.detail, name="detail"),
    path("inquiries/<int:inquiry_id>/contact/", views.contact, name="contact"),
    path("inquiries/<int:inquiry_id>/status/", views.change_status, name="status"),
    path("inquiries/<int:inquiry_id>/convert/", views.convert, name="convert"),
    path("inquiries/<int:inquiry_id>/link/", views.link, name="link"),
]
