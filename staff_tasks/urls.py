from django.urls import path

from staff_tasks import views

app_name = "staff_tasks"

urlpatterns = [
    path("", views.task_list, name="list"),
    path("home-panel/", views.home_panel, name="home-panel"),
    path("new/", views.task_new, name="new"),
    path("patient/<int:patient_id>/", views.patient_panel, name="patient-panel"),
    path("patient/<int:patient_id>/new/", views.patient_task_new, name="patient-new"),
    path("<int:task_id>/done/", views.task_done, name="done"),
    path("<int:task_id>/cancel/", views.task_cancel, name="cancel"),
]
