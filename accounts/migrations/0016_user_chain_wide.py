from django.db import migrations, models


class Migration(migrations.Migration):
    """Every existing account keeps seeing every location (a single-site clinic notices nothing);
    accounts made from now on start scoped to the locations they are given."""

    dependencies = [
        ("accounts", "0015_heartbeats"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="chain_wide",
            field=models.BooleanField(default=True),
        ),
        migrations.AlterField(
            model_name="user",
            name="chain_wide",
            field=models.BooleanField(
                default=False,
                help_text="Sees patients, calendars and worklists of every location (otherwise only the assigned ones).",
                verbose_name="All locations",
            ),
        ),
    ]
