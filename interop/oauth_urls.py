"""django-oauth-toolkit's endpoints that the API needs, and no others.

Authorising needs the member of staff signed in (with two-factor, like every page); the token,
revocation and introspection endpoints are called by the client itself, with no session."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path
from oauth2_provider import views as oauth

from interop.views import SmartAuthorizationView

app_name = "oauth2_provider"

urlpatterns = [
    path("authorize/", SmartAuthorizationView.as_view(), name="authorize"),
    path("token/", login_not_required(oauth.TokenView.as_view()), name="token"),
    path("revoke_token/", login_not_required(oauth.RevokeTokenView.as_view()), name="revoke-token"),
    path("introspect/", login_not_required(oauth.IntrospectTokenView.as_view()), name="introspect"),
]
