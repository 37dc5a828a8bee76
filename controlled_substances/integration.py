"""Hooks into the infusions app, wired from this app's AppConfig.ready (dependencies run one way:
this app builds on infusions; infusions never imports it)."""

from __future__ import annotations

from django.utils import timezone

from controlled_substances.selectors import open_draw_chairs, session_sign_problems, session_start_problems
from controlled_substances.services import closeout_discrepancies_open
from infusions import signing


def connect_infusions() -> None:
    signing.register_sign_check(session_sign_problems)
    signing.register_start_check(session_start_problems)
    signing.register_sign_refusal(closeout_discrepancies_open)
    signing.register_open_draws(_open_draws_today)


def _open_draws_today(location_id: int, start, end) -> set[int]:
    return open_draw_chairs(location_id, start, end, today=timezone.localdate())
