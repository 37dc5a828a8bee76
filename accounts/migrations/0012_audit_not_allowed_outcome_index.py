from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    """The partial index of denied and failed audit rows carries the outcome, so that counting a
    filter on one of them reads the index alone instead of fetching each row (built CONCURRENTLY,
    as the other indexes of the trail)."""

    atomic = False

    dependencies = [
        ("accounts", "0011_user_access_version"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("outcome", "allowed"), _negated=True),
                fields=["outcome", "at"],
                name="audit_not_allowed_outcome_at",
            ),
        ),
        RemoveIndexConcurrently(model_name="auditevent", name="audit_not_allowed_at"),
    ]
