from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from accounts import views
from accounts.forms import SignInForm, ThrottledPasswordChangeForm

app_name = "accounts"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(authentication_form=SignInForm, redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("two-factor/", views.two_factor, name="two-factor"),
    # Not under two-factor/: that prefix is reachable before the second factor.
    path("security/", views.security, name="security"),
    path("emergency-access/end/", views.emergency_access_end, name="emergency-access-end"),
    path("users/<int:user_id>/two-factor-reset/", views.two_factor_reset, name="two-factor-reset"),
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(
            form_class=ThrottledPasswordChangeForm, success_url=reverse_lazy("accounts:password-change-done")
        ),
        name="password-change",
    ),
    path("password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password-change-done"),
    path(
        "password/reset/",
        views.PasswordResetRequestView.as_view(success_url=reverse_lazy("accounts:password-reset-done")),
        name="password-reset",
    ),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password-reset-done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(success_url=reverse_lazy("accounts:password-reset-complete")),
        name="password-reset-confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password-reset-complete",
    ),
    path("audit/", views.audit_report, name="audit-report"),
]
