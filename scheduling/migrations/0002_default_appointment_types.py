"""The four appointment types every clinic starts with; administrators edit them in the admin."""

from django.db import migrations

DEFAULT_TYPES = [
    # code, name, default_minutes, infusion, recovery, resource, exclusive, escort, colour
    # Lengths of consultations and follow-ups and the recovery time are clinic policy
    # (no sourced defaults); 40 minutes of infusion is the most studied protocol [S2][S3];
    # sedated patients leave with a responsible adult [S26].
    ("consultation", "Intake consultation", 60, None, None, "room", True, False, "blue"),
    ("infusion", "Infusion", 100, 40, 60, "chair", False, True, "purple"),
    ("follow_up", "Follow-up", 30, None, None, "room", True, False, "teal"),
    ("booster", "Booster infusion", 100, 40, 60, "chair", False, True, "amber"),
]


def create(apps, schema_editor):
    AppointmentType = apps.get_model("scheduling", "AppointmentType")
    for code, name, minutes, infusion, recovery, resource, exclusive, escort, colour in DEFAULT_TYPES:
        AppointmentType.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "default_minutes": minutes,
                "infusion_minutes": infusion,
                "recovery_minutes": recovery,
                "resource_kind": resource,
                "clinician_exclusive": exclusive,
                "requires_escort": escort,
                "colour": colour,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
