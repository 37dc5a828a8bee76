"""The app's URLs, plus ``/bench/bare/``: a view that returns two bytes and reads nothing.

Requested signed in, it costs the whole middleware stack and the session's sign-in reads and no
work of its own: the floor a signed-in page cannot go below. Only the bench serves it.
"""

from django.http import HttpResponse
from django.urls import path

from grace_mindcare.urls import handler403, handler404, handler500  # noqa: F401
from grace_mindcare.urls import urlpatterns as app_urlpatterns


def bare(request):
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("bench/bare/", bare, name="bench-bare"), *app_urlpatterns]
