from django.urls import path

from clinic_settings import views

app_name = "clinic_settings"

urlpatterns = [
    path("", views.SettingsIndex.as_view(), name="index"),
    path("policy/<slug:policy>/", views.PolicyEdit.as_view(), name="policy"),
    path("<slug:section>/", views.SettingsList.as_view(), name="list"),
    path("<slug:section>/new/", views.SettingsCreate.as_view(), name="create"),
    path("<slug:section>/<int:row_id>/", views.SettingsEdit.as_view(), name="edit"),
    path("<slug:section>/<int:row_id>/retire/", views.SettingsRetire.as_view(), name="retire"),
]
