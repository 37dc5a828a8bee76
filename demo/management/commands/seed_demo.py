from __future__ import annotations

import time
from importlib import import_module

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from demo.context import SeedContext
from patients.models import Patient

# Journey order: each stage builds on the ones before it.
SEEDERS = [
    "demo.seeders.accounts",
    "demo.seeders.patients",
    "demo.seeders.scheduling",
    "demo.seeders.reminders",  # the last weeks' reminders, already sent
    "demo.seeders.prescribers",  # after scheduling: a DEA registration per location
    "demo.seeders.consultations",
    "demo.seeders.infusions",
    "demo.seeders.controlled_substances",  # after infusions (draws for its sessions when it seeds them)
    "demo.seeders.followups",
    "demo.seeders.courses",  # after infusions: titration, surveillance, maintenance re-screens
    "demo.seeders.policy",  # a change awaiting the medical director's sign-off
    "demo.seeders.staff_tasks",  # tasks between staff, about patients seeded above
    "demo.seeders.packets",  # pre-visit forms for the coming intake consultations, in every state
    "demo.seeders.inquiries",  # after scheduling: the inquiry each booked patient came in through
    "demo.seeders.billing",  # invoices, fees and payments for the visits seeded above
    "demo.seeders.consents",  # consent documents and signatures (after infusions: started sessions stand)
    "demo.seeders.self_booking",  # an online request to approve and patients on the waitlist
    "demo.seeders.care_team",  # outside clinicians, care teams, letters and integration visits
]


class Command(BaseCommand):
    help = "Fill an empty database with deterministic synthetic demo data (no real person's data)."

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, default=200, help="number of synthetic patients (default 200)")
        parser.add_argument("--seed", type=int, default=2026, help="random seed; same seed, same data")
        parser.add_argument(
            "--allow-demo-accounts",
            action="store_true",
            help="create the frontdesk/clinician/admin logins even when DJANGO_DEBUG is off",
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing (and succeed) when patients already exist"
        )
        parser.add_argument("--force", action="store_true", help="add demo data even though patients exist")

    def handle(self, *args, patients, seed, allow_demo_accounts, if_empty, force, **options):
        if patients < 0 or patients > 100_000:
            raise CommandError("--patients must be between 0 and 100000.")
        if Patient.objects.exists() and not force:
            if if_empty:
                self.stdout.write("Database already has patients; demo data not added.")
                return
            raise CommandError("The database already has patients. Use --force to add demo data anyway.")
        ctx = SeedContext(
            seed=seed,
            patients_wanted=patients,
            today=timezone.localdate(),
            allow_demo_accounts=settings.DEBUG or allow_demo_accounts,
        )
        started = time.monotonic()
        with transaction.atomic():
            for dotted in SEEDERS:
                import_module(dotted).seed(ctx)
                self.stdout.write(f"  {dotted.rsplit('.', 1)[-1]} ✓")
        elapsed = time.monotonic() - started
        summary = ", ".join(f"{n} {what}" for what, n in ctx.counts.items())
        self.stdout.write(self.style.SUCCESS(f"Demo data ready in {elapsed:.1f}s: {summary}."))
        if not ctx.allow_demo_accounts:
            self.stdout.write("Demo accounts were not created (DJANGO_DEBUG is off; see --allow-demo-accounts).")
