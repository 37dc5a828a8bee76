"""The ledger pages this work changed keep a flat query count as rows grow."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from controlled_substances import services
from controlled_substances.tests.factories import container, manager, nurse, receive, registration
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _queries(client, url, data=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, data or {}).status_code == 200
    return len(ctx.captured_queries)


def _stock(n, *, at):
    rn, witness = nurse(), nurse()
    for vial in receive(containers=n, by=manager(), at=at, lot_number=f"Q{n}"):
        draw = services.administration_record(
            container=vial, volume_ml="1", patient=PatientFactory(), by=rn, at=timezone.now()
        )
        services.waste_record(of_draw=draw, volume_ml="0.10", by=rn, witness=witness, at=timezone.now())


@pytest.mark.parametrize(
    ("name", "pin"),
    [("index", 17), ("counts", 12), ("count-new", 14), ("report-balances", 16), ("report-waste", 16)],
)
def test_the_ledger_pages_query_count_is_flat_and_pinned(client_as, admin, name, pin):
    here = registration()
    client = client_as(admin)
    url = reverse(f"controlled_substances:{name}")
    _stock(2, at=here)
    registration(dea_number="FB7654324")
    client.get(url)  # the first request of a session loads what later ones reuse
    few = _queries(client, url)
    _stock(6, at=here)
    registration(dea_number="FC1111119")
    many = _queries(client, url)
    assert few == many, (few, many)
    assert many <= pin, many


def test_a_vials_page_and_its_reversal_page_are_pinned(client_as, admin, django_assert_max_num_queries):
    vial, rn = container(), nurse()
    for _ in range(6):
        services.administration_record(
            container=vial, volume_ml="0.5", patient=PatientFactory(), by=rn, at=timezone.now()
        )
    draw = vial.entries.filter(kind="administration").last()
    client = client_as(admin)
    with django_assert_max_num_queries(14):
        client.get(reverse("controlled_substances:container-detail", args=[vial.pk]))
    with django_assert_max_num_queries(16):
        client.get(reverse("controlled_substances:entry-reverse", args=[draw.pk]))


def test_the_count_pages_are_pinned(client_as, admin, django_assert_max_num_queries):
    boss, here = manager(), registration()
    vials = receive(containers=5, by=boss, at=here)
    count = services.count_record(
        registration=here,
        type="periodic",
        business_time="close",
        counted_at=timezone.now(),
        by=boss,
        lines=[(v, "9.90", "exact") for v in vials],
    )
    client = client_as(admin)
    with django_assert_max_num_queries(12):
        client.get(reverse("controlled_substances:count-detail", args=[count.pk]))
    with django_assert_max_num_queries(14):
        client.get(reverse("controlled_substances:count-line-resolve", args=[count.lines.first().pk]))
