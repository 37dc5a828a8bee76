from django.urls import path

from reports import views
from reports.registry import REPORTS

app_name = "reports"

urlpatterns = [
    path("", views.index, name="index"),
    path("prepare/", views.prepare, name="prepare"),
    *[path(f"{r.slug}/", views.report_view(r.slug), name=r.slug) for r in REPORTS],
]
