import pytest
from django.urls import reverse

from reports.registry import REPORTS

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("slug", [r.slug for r in REPORTS])
def test_every_report_opens_empty_for_an_administrator(client_as, admin, slug):
    response = client_as(admin).get(reverse(f"reports:{slug}"))
    assert response.status_code == 200
    assert b"No data in this range" in response.content or b"<table" in response.content
