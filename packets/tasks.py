"""Thin Celery tasks: ids in, services do the work."""

from __future__ import annotations

from celery import shared_task

from core.tasks import TransactionAwareTask
from packets.services.booking import packet_for_booking, packet_wanted


@shared_task(
    base=TransactionAwareTask,
    name="packets.send_for_booking",
    acks_late=True,
    soft_time_limit=50,
    time_limit=60,
    autoretry_for=(ConnectionError,),
    max_retries=3,
    retry_backoff=30,
)
def send_packet_for_booking(appointment_id: int) -> None:
    packet_for_booking(appointment_id=appointment_id)


def on_appointment_changed(appointment_id: int) -> None:
    """The scheduling hook, after a booking or change commits: send the intake's packet when wanted."""
    if packet_wanted(appointment_id):
        send_packet_for_booking.delay(appointment_id)
