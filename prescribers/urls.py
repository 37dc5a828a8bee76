from django.urls import path

from prescribers import views

app_name = "prescribers"

urlpatterns = [
    path("policy-changes/", views.policy_changes, name="policy-changes"),
    path("policy-changes/<int:change_id>/decide/", views.policy_change_decide, name="policy-change-decide"),
]
