from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    """The recent scores of one instrument by date, for the follow-up worklist.

    Built CONCURRENTLY: scores are recorded all day at the chair and from patients' links, and a
    plain CREATE INDEX would hold their inserts until it finished.
    """

    atomic = False

    dependencies = [
        ("assessments", "0001_initial"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="instrumentresponse",
            index=models.Index(fields=["instrument", "administered_at"], name="response_instrument_recent"),
        ),
    ]
