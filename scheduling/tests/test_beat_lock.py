"""A second beat is harmless: with Redis, beat holds a lock there (celery-redbeat) and a second
beat started on another node waits for it instead of sending every task twice."""

import uuid
from types import SimpleNamespace

import pytest
from celery import Celery
from django.conf import settings

pytestmark = pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("redis://"), reason="the beat lock lives in Redis"
)


def test_production_settings_run_beat_under_the_redis_lock():
    assert settings.CELERY_BEAT_SCHEDULER == "redbeat.RedBeatScheduler"
    assert settings.CELERY_REDBEAT_LOCK_TIMEOUT > settings.CELERY_BEAT_MAX_LOOP_INTERVAL


def test_a_second_beat_waits_for_the_first_ones_lock_and_takes_over_when_it_is_gone():
    from redbeat.schedulers import RedBeatScheduler, acquire_distributed_beat_lock, get_redis

    app = Celery("beat-lock-test", set_as_current=False)
    app.conf.update(
        broker_url=settings.CELERY_BROKER_URL,
        redbeat_redis_url=settings.CELERY_BROKER_URL,
        redbeat_key_prefix=f"grace-test-{uuid.uuid4().hex}:",  # apart from any real beat's keys
        redbeat_lock_timeout=30,
        beat_schedule={},
    )
    first = RedBeatScheduler(app=app)
    second = RedBeatScheduler(app=app)
    redis = get_redis(app)
    try:
        acquire_distributed_beat_lock(SimpleNamespace(scheduler=first))  # what beat does as it starts
        assert first.lock is not None
        standby = redis.lock(second.lock_key, timeout=30)
        assert not standby.acquire(blocking=False)  # the second beat sends nothing while it waits
        first.lock.release()  # the first beat stopped (or its lock ran out)
        assert standby.acquire(blocking=False)
        standby.release()
    finally:
        for key in redis.scan_iter(f"{app.conf.redbeat_key_prefix}*"):
            redis.delete(key)
