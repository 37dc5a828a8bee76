"""Indexes for the report filters on tables the reports read but do not own.

The calendar's own indexes all lead with a location, patient, clinician or
resource; a report over every location filters on the start instant alone.
Outcome reports pick baseline scores by date. Owned here (created and dropped
by this app's migrations) so the stage apps need not know about reports.
"""

from django.db import migrations

INDEXES = [
    ("reports_appointment_start", "scheduling_appointment", '("start")', ""),
    (
        "reports_response_baseline_at",
        "assessments_instrumentresponse",
        '("administered_at")',
        " WHERE context = 'baseline'",
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("scheduling", "0001_initial"),
        ("assessments", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} {columns}{where};",
            f"DROP INDEX IF EXISTS {name};",
        )
        for name, table, columns, where in INDEXES
    ]
