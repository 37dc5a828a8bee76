import django.contrib.postgres.indexes
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    """A btree on the folded family name for prefix searches (FHIR Patient?family=).

    Built CONCURRENTLY: the registry is written all day by the desk, and a plain CREATE INDEX would
    hold those writes until it finished.
    """

    atomic = False

    dependencies = [
        ("patients", "0003_consent_by_inquiry_form"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="patient",
            index=models.Index(
                django.contrib.postgres.indexes.OpClass(models.F("last_name_key"), name="text_pattern_ops"),
                name="patient_last_prefix",
            ),
        ),
    ]
