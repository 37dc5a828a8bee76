"""The chair board once the infusion has ended: time in recovery, not a frozen time since start."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine
from django.utils import timezone

from infusions.models import InfusionSession
from infusions.rules import SessionStatus as S
from infusions.selectors.board import chair_board
from infusions.tests.factories import advance, open_session


def test_a_chair_in_recovery_shows_the_minutes_since_the_infusion_ended(nurse_user, verifier, policy):
    clinic = ZoneInfo(timezone.get_current_timezone_name())
    with time_machine.travel(datetime(2026, 3, 10, 11, 30, tzinfo=clinic), tick=False):
        _check_recovery_minutes(nurse_user, verifier)


def _check_recovery_minutes(nurse_user, verifier):
    session = advance(open_session(by=nurse_user), S.RECOVERING, nurse_user=nurse_user, verifier=verifier)
    ended = timezone.now() - timedelta(minutes=25)
    InfusionSession.objects.filter(pk=session.pk).update(started_at=ended - timedelta(minutes=40), ended_at=ended)
    session.refresh_from_db()

    rows = chair_board(location=session.appointment.location, at=ended + timedelta(minutes=25))
    row = next(r for r in rows if r.session and r.session.pk == session.pk)
    assert row.minutes_in_recovery == 25
    assert row.minutes_since_start == 40  # how long the infusion ran, shown alongside
