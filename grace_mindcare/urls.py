from django.contrib import admin
from django.urls import include, path

from grace_mindcare import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("accounts.passkey_urls")),  # passkeys (django-otp-webauthn)
    path("patients/", include("patients.urls")),
    # The patient's confirm/cancel link from a reminder, under the calendar's prefix (links already sent).
    path("schedule/visit/", include("reminders.urls")),
    path("schedule/", include("scheduling.urls")),
    # The patient's own booking and waitlist link (no sign-in).
    path("book/", include("scheduling.public_urls")),
    path("prescribers/", include("prescribers.urls")),
    path("consultations/", include("consultations.urls")),
    path("infusions/", include("infusions.urls")),
    path("followups/", include("followups.urls")),
    path("packets/", include("packets.urls")),
    path("courses/", include("courses.urls")),
    path("controlled-substances/", include("controlled_substances.urls")),
    path("reports/", include("reports.urls")),
    path("settings/", include("clinic_settings.urls")),
    path("documents/", include("documents.urls")),
    path("tasks/", include("staff_tasks.urls")),
    # The public inquiry form (/start/) and the desk's inquiry queue (/inquiries/).
    path("", include("inquiries.urls")),
    path("billing/", include("billing.urls")),
    path("consents/", include("consents.urls")),
    path("care-team/", include("care_team.urls")),
    path("fhir/", include("interop.urls")),
    path("o/", include("interop.oauth_urls")),
    path("admin/", admin.site.urls),
]

handler403 = "grace_mindcare.views.permission_denied"
handler404 = "grace_mindcare.views.page_not_found"
handler500 = "grace_mindcare.views.server_error"
