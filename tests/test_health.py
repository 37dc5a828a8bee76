from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import heartbeat


@pytest.fixture
def alive():
    heartbeat.stamp(heartbeat.WORKER)
    heartbeat.stamp(heartbeat.BEAT)


@pytest.mark.django_db
def test_healthz_reports_database_broker_and_heartbeats_without_sign_in(client, alive, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        response = client.get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": True, "broker": True, "worker": True, "beat": True}
    assert set(body["heartbeat_age_seconds"]) == {"worker", "beat"}
    assert "sessionid" not in response.cookies
    assert "__Host-sessionid" not in response.cookies


@pytest.mark.django_db
def test_healthz_answers_503_when_the_broker_is_unreachable(client, settings, alive):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": True, "broker": False, "worker": True, "beat": True}


@pytest.mark.django_db
@pytest.mark.parametrize("stopped", [heartbeat.WORKER, heartbeat.BEAT])
def test_healthz_answers_503_when_the_worker_or_beat_stopped(client, settings, stopped):
    now = timezone.now()
    for name in (heartbeat.WORKER, heartbeat.BEAT):
        heartbeat.stamp(name, now - timedelta(seconds=settings.HEARTBEAT_STALE_SECONDS + 5 if name == stopped else 0))
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["checks"][stopped] is False
    assert body["heartbeat_age_seconds"][stopped] > settings.HEARTBEAT_STALE_SECONDS


@pytest.mark.django_db
def test_healthz_answers_503_before_any_worker_was_seen(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["heartbeat_age_seconds"] == {"worker": None, "beat": None}


@pytest.mark.django_db
def test_the_worker_heartbeat_task_and_beats_sends_stamp_their_rows():
    from accounts.tasks import worker_heartbeat

    worker_heartbeat()
    heartbeat._last_beat_write[0] = 0.0
    heartbeat.stamp_beat(sender="accounts.heartbeat.worker")
    assert all(heartbeat.fresh(age) for age in heartbeat.ages().values())
