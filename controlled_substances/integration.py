"""Hooks into the infusions app, wired only when it is installed (dependencies run one way:
this app builds on infusions; infusions never imports it)."""

from __future__ import annotations


def connect_infusions() -> None:
    from django.apps import apps

    if not apps.is_installed("infusions"):
        return
    try:
        from infusions import signing
    except ImportError:
        return
    register = getattr(signing, "register_sign_check", None)
    if register is None:
        return
    from controlled_substances.selectors import session_sign_problems, session_start_problems

    register(session_sign_problems)
    register_start = getattr(signing, "register_start_check", None)
    if register_start is not None:
        register_start(session_start_problems)
    from controlled_substances.services import closeout_discrepancies_open

    if (register_refusal := getattr(signing, "register_sign_refusal", None)) is not None:
        register_refusal(closeout_discrepancies_open)
    if (register_open := getattr(signing, "register_open_draws", None)) is not None:
        register_open(_open_draws_today)


def _open_draws_today(location_id: int, start, end) -> set[int]:
    from django.utils import timezone

    from controlled_substances.selectors import open_draw_chairs

    return open_draw_chairs(location_id, start, end, today=timezone.localdate())
