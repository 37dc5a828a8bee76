from django.core.management.base import BaseCommand, CommandError

from controlled_substances import services


class Command(BaseCommand):
    help = "Check that every ketamine vial's balance equals the sum of its ledger entries (exit 1 if not)."

    def handle(self, *args, **options):
        problems = services.reconciliation_run()
        if problems:
            raise CommandError("Ledger does not reconcile:\n" + "\n".join(problems))
        self.stdout.write(self.style.SUCCESS("Every vial's balance equals the sum of its ledger entries."))
