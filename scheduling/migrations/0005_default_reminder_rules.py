"""Default reminder rules for every location (administrators edit them in the admin).

Texts carry only the clinic, date, time and place: never the treatment, drug
or diagnosis (minimum necessary).
"""

from datetime import time

from django.db import migrations

ALL = ["consultation", "infusion", "follow_up", "booster"]
CHAIR = ["infusion", "booster"]

DEFAULTS = [
    {
        "name": "Reminder 72 hours before",
        "kind": "appointment_reminder",
        "offset_mode": "hours_before",
        "hours_before": 72,
        "types": ALL,
        "text": "{clinic}: reminder of your appointment on {date} at {time} at {location}. "
        "To confirm or cancel: {link}",
    },
    {
        "name": "Reminder 24 hours before",
        "kind": "appointment_reminder",
        "offset_mode": "hours_before",
        "hours_before": 24,
        "types": ALL,
        "text": "{clinic}: see you on {date} at {time} at {location}, {address}. To confirm or cancel: {link}",
    },
    {
        "name": "Instructions the evening before",
        "kind": "pre_infusion_instructions",
        "offset_mode": "day_before_at",
        "local_time": time(18, 0),
        # Fasting defaults: ASA procedural-sedation guideline, light meal 6 h, clear liquids 2 h [S30];
        # escort: "accompanied by a responsible adult" [S26]; no driving until the next day [S16].
        # Clinic-variable: administrators edit the text (and numbers) in the admin.
        "types": CHAIR,
        "text": "{clinic}: for your visit at {location} on {date} at {time}: no food for 6 hours before and only clear "
        "liquids until 2 hours before. Bring an adult to take you home; do not drive until the next day. "
        "Confirm or cancel: {link}",
    },
]


def create(apps, schema_editor):
    ReminderRule = apps.get_model("scheduling", "ReminderRule")
    AppointmentType = apps.get_model("scheduling", "AppointmentType")
    for spec in DEFAULTS:
        spec = dict(spec)
        types = spec.pop("types")
        rule, created = ReminderRule.objects.get_or_create(
            name=spec.pop("name"), location=None, defaults={**spec, "quiet_start": time(21), "quiet_end": time(8)}
        )
        if created:
            rule.appointment_types.set(AppointmentType.objects.filter(code__in=types))


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0004_reminders")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
