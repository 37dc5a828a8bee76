from decimal import Decimal

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("consultations", "0005_dose_override_reason"),
    ]

    operations = [
        # NOT VALID: every protocol saved from now on must be within the bounds; a clinic's own
        # protocol recorded outside them before the rule stays readable (plans point at it) and
        # must be brought within them at its next edit.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddConstraint(
                    model_name="protocol",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("dose_max__lte", Decimal("0.75")),
                                ("dose_min__gte", Decimal("0.1")),
                                ("dose_unit", "mg_per_kg"),
                            ),
                            models.Q(
                                ("dose_max__lte", Decimal("2")),
                                ("dose_min__gte", Decimal("0.35")),
                                ("dose_unit", "mg_per_kg_per_h"),
                            ),
                            _connector="OR",
                        ),
                        name="protocol_dose_within_bounds",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    sql="""ALTER TABLE consultations_protocol ADD CONSTRAINT protocol_dose_within_bounds CHECK (
                    (dose_unit = 'mg_per_kg' AND dose_min >= 0.1 AND dose_max <= 0.75)
                    OR (dose_unit = 'mg_per_kg_per_h' AND dose_min >= 0.35 AND dose_max <= 2)) NOT VALID""",
                    reverse_sql="ALTER TABLE consultations_protocol DROP CONSTRAINT protocol_dose_within_bounds",
                ),
            ],
        ),
    ]
