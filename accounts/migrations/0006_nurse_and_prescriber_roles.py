from django.db import migrations

# Nursing licences: a Clinician holding one of these becomes a Nurse, everyone else a Prescriber.
NURSING_CREDENTIALS = {"RN", "LPN", "LVN"}


def split_clinician(apps, schema_editor):
    """The one Clinician group becomes Prescriber (keeping its members and any permissions an
    administrator gave it), and a new Nurse group takes the members whose recorded credential is a
    nursing licence: they keep everything a nurse does and lose only the prescriber's decisions,
    which their licence never covered. Permissions are granted by accounts.roles after migrate."""
    Group = apps.get_model("auth", "Group")
    User = apps.get_model("accounts", "User")
    nurse, _ = Group.objects.get_or_create(name="Nurse")
    clinician = Group.objects.filter(name="Clinician").first()
    if clinician is None:
        Group.objects.get_or_create(name="Prescriber")
        return
    if Group.objects.filter(name="Prescriber").exists():
        prescriber = Group.objects.get(name="Prescriber")
        for user in User.objects.filter(groups=clinician):
            user.groups.add(prescriber)
        clinician.delete()
    else:
        clinician.name = "Prescriber"
        clinician.save(update_fields=["name"])
        prescriber = clinician
    for user in User.objects.filter(groups=prescriber):
        if user.credentials.strip().upper().rstrip(".") in NURSING_CREDENTIALS:
            user.groups.remove(prescriber)
            user.groups.add(nurse)


def join_clinician(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    User = apps.get_model("accounts", "User")
    prescriber, _ = Group.objects.get_or_create(name="Prescriber")
    nurse = Group.objects.filter(name="Nurse").first()
    if nurse is not None:
        for user in User.objects.filter(groups=nurse):
            user.groups.add(prescriber)
        nurse.delete()
    prescriber.name = "Clinician"
    prescriber.save(update_fields=["name"])


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_emergency_access")]

    operations = [migrations.RunPython(split_clinician, join_clinician)]
