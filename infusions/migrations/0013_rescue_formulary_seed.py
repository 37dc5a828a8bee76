"""The clinic's starting rescue formulary. The clinical reference gives no rescue doses, so
every default dose is blank (the dose given is typed each time); administrators edit the list
in the admin."""

from django.db import migrations

NO_DOSE = "clinic policy: the clinical reference gives no dose"
FORMULARY = [
    # name, unit, route, controlled, DEA schedule, source
    ("Midazolam", "mg", "iv", True, "CIV", NO_DOSE + "; Schedule IV under 21 CFR 1308.14 (not in the reference)"),
    ("Ondansetron", "mg", "iv", False, "", NO_DOSE),
    ("Labetalol", "mg", "iv", False, "", NO_DOSE),
    ("Clonidine", "mg", "po", False, "", NO_DOSE),
]


def seed(apps, schema_editor):
    RescueDrug = apps.get_model("infusions", "RescueDrug")
    for name, unit, route, controlled, schedule, source in FORMULARY:
        RescueDrug.objects.get_or_create(
            name=name,
            defaults={
                "dose_unit": unit,
                "route": route,
                "controlled": controlled,
                "dea_schedule": schedule,
                "source": source,
            },
        )


def unseed(apps, schema_editor):
    RescueDrug = apps.get_model("infusions", "RescueDrug")
    RescueDrug.objects.filter(name__in=[row[0] for row in FORMULARY], given__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("infusions", "0012_adverse_events_structured")]

    operations = [migrations.RunPython(seed, unseed)]
