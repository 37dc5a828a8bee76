"""Content types of the moved reminder models follow them to this app.

Their permissions and admin log entries point at the content type row, so relabelling the row
(``scheduling`` → ``reminders``) keeps both. A row already made for ``reminders`` (a database where
the new label was created before this ran) is left alone, with the old one.
"""

from django.db import migrations

MODELS = ["reminderrule", "reminder", "reminderlink"]


def relabel(apps, schema_editor, *, old, new):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    taken = set(ContentType.objects.using(db).filter(app_label=new, model__in=MODELS).values_list("model", flat=True))
    ContentType.objects.using(db).filter(app_label=old, model__in=[m for m in MODELS if m not in taken]).update(
        app_label=new
    )


def forwards(apps, schema_editor):
    relabel(apps, schema_editor, old="scheduling", new="reminders")


def backwards(apps, schema_editor):
    relabel(apps, schema_editor, old="reminders", new="scheduling")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("reminders", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
