from django.urls import path

from interop import views

app_name = "interop"

urlpatterns = [
    path("r4/metadata", views.metadata, name="metadata"),
    path("r4/.well-known/smart-configuration", views.smart_configuration, name="smart-configuration"),
    path("r4/<str:resource_type>/<str:resource_id>", views.read, name="read"),
    path("r4/<str:resource_type>", views.search, name="search"),
    path("clients/", views.clients, name="clients"),
    path("clients/new/", views.client_new, name="client-new"),
    path("clients/<int:pk>/retire/", views.client_retire, name="client-retire"),
]
