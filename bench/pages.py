"""The pages `make bench` times: one dict per page. Add a row to PAGES to time a new page.

Keys of a row:
- ``name``: short slug, unique; shown in results and matched by ``--only``.
- ``persona``: ``None`` (anonymous), ``"frontdesk"``, ``"clinician"`` or ``"admin"`` (the demo accounts).
- ``path``: the URL path (with query string), or a callable ``path(ctx) -> str`` that builds it from the
  benchmark database with the ORM (Django is set up against ``grace_bench`` when it runs). Raise
  ``SkipPage("why")`` from the callable when the page cannot be built yet (its app is missing, no data);
  the run then lists the page as skipped instead of failing.
- ``baseline``: ``True`` on exactly one row, the page every ratio is computed against.
- ``goal_ratio`` (optional, default 3.0): the page's median must stay within this multiple of the
  baseline's median. ``None`` for no goal.
- ``goal_ms`` (optional): an absolute alternative: the goal is also met below this median
  ("within 3x the baseline or under 500 ms, whichever is larger").
- ``note`` (optional): one line shown under the results table.

This module is imported after ``django.setup()``, so model imports at the top are fine.
"""

from __future__ import annotations

import functools
from urllib.parse import urlencode

from django.apps import apps
from django.db.models import Count, Q
from django.urls import Resolver404, resolve

from patients.models import Patient


class SkipPage(Exception):  # noqa: N818 - reads as "skip page", not an error
    """Raised by a path builder when its page cannot be timed in this checkout."""


def search_common_surname(ctx) -> str:
    """The registry search for the most frequent surname in the data set: the most rows to match."""
    return "/patients/?" + urlencode({"q": _most_common_surname()})


def search_misspelled_surname(ctx) -> str:
    """The same surname with two letters swapped, as typed in a hurry at the front desk."""
    return "/patients/?" + urlencode({"q": misspell(_most_common_surname())})


def patient_chart(ctx) -> str:
    """A patient from the middle of the registry (by primary key), opened by a clinician."""
    patients = Patient.objects.order_by("pk").values_list("pk", flat=True)
    total = patients.count()
    if not total:
        raise SkipPage("no patients in the benchmark database")
    return f"/patients/{patients[total // 2]}/"


def schedule_week_12_chairs(ctx) -> str:
    """Week calendar of the location with 12 chairs (issue 3). Skipped until scheduling exists."""
    try:
        resolve("/schedule/")
        location_model = apps.get_model("scheduling", "Location")
    except (Resolver404, LookupError) as exc:
        raise SkipPage("no /schedule/ URL or scheduling.Location model yet (issue 3)") from exc
    locations = location_model.objects.order_by("pk")
    # Chairs are scheduling.Resource rows of kind "chair" (related_name "resources").
    chair = Q(resources__kind="chair", resources__active=True)
    counted = locations.annotate(chairs=Count("resources", filter=chair))
    location = counted.filter(chairs=12).first()
    if location is None:
        raise SkipPage("no location with 12 active chairs in the benchmark database")
    return f"/schedule/?view=week&location={location.pk}"


PAGES: list[dict] = [
    # The baseline: a signed-in page that renders the base layout (navigation by permission,
    # messages, breadcrumbs) and nothing else: no form, no data queries, only the session, user and
    # permission reads and the session save that every signed-in page pays. Every role can open it.
    # (The password change form was the first candidate; its crispy form adds about 8 ms of
    # template work that is not layout, so it is timed below as an ordinary page instead.)
    {"name": "baseline", "persona": "frontdesk", "path": "/accounts/password/change/done/", "baseline": True},
    {"name": "password-change", "persona": "frontdesk", "path": "/accounts/password/change/"},
    {"name": "sign-in", "persona": None, "path": "/accounts/login/"},
    {"name": "home-frontdesk", "persona": "frontdesk", "path": "/"},
    {"name": "home-clinician", "persona": "clinician", "path": "/"},
    {"name": "home-admin", "persona": "admin", "path": "/"},
    {"name": "patient-list", "persona": "frontdesk", "path": "/patients/"},
    {"name": "patient-search-common", "persona": "frontdesk", "path": search_common_surname},
    {"name": "patient-search-misspelled", "persona": "frontdesk", "path": search_misspelled_surname},
    {"name": "patient-chart", "persona": "clinician", "path": patient_chart},
    # ---- Later issues: add pages below this line (one dict per page) ----------------------------
    {"name": "schedule-week-12-chairs", "persona": "frontdesk", "path": schedule_week_12_chairs},
]


def misspell(word: str) -> str:
    """Swap two neighbouring letters in the middle of a word ("Johnson" -> "Johsnon"); deterministic."""
    i = max(1, len(word) // 2)
    if i + 1 >= len(word):
        return word + word[-1:]
    if word[i] == word[i + 1]:  # swapping equal letters would change nothing
        i -= 1
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


@functools.cache
def _most_common_surname() -> str:
    row = (
        Patient.objects.values("legal_last_name")
        .annotate(n=Count("pk"))
        .order_by("-n", "legal_last_name")
        .values_list("legal_last_name", flat=True)
        .first()
    )
    if not row:
        raise SkipPage("no patients in the benchmark database")
    return row
