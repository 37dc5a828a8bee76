"""The starting protocol library and the screening policy row with the cited defaults.

Every dose figure is from clinical-reference.md; administrators edit or add protocols
in the admin afterwards.
"""

from decimal import Decimal

from django.db import migrations

PROTOCOLS = [
    {
        "name": "Depression/TRD: 0.5 mg/kg IV over 40 min, 6 infusions over 2–3 weeks",
        "indications": ["mdd", "trd"],
        "dose_unit": "mg_per_kg",
        "dose_min": Decimal("0.5"),
        "dose_max": Decimal("0.5"),
        "infusion_minutes": 40,
        "sessions": 6,
        "sessions_per_week": 3,
        "course": "6 infusions over 2–3 weeks",
        "source": "[S1] APA consensus: 0.5 mg/kg over 40 min is the most used and studied dose (via [S2][S3]); "
        "6 infusions 3× a week over ~12 days [S6]; typical course 4–6 infusions [S44]. "
        "Sanacora's own series wording UNVERIFIED.",
        "notes": "Twice weekly (a three-week course) is also within '2–3 weeks'; set per plan.",
    },
    {
        "name": "Chronic pain: 0.5–2 mg/kg/h IV infusion (ASRA/AAPM/ASA 2018)",
        "indications": ["fibromyalgia", "crps", "other"],
        "dose_unit": "mg_per_kg_per_h",
        "dose_min": Decimal("0.5"),
        "dose_max": Decimal("2"),
        "infusion_minutes": None,
        "sessions": None,
        "sessions_per_week": None,
        "course": "Infusion 0.5–2 mg/kg/h; higher doses give more benefit (total ≥80 mg over >2 h)",
        "source": "[S10][S11] Cohen 2018 (grade C, low certainty). Fibromyalgia: weak or no evidence of "
        "immediate benefit [S11][S12].",
        "notes": "Duration and number of infusions are not given by the guideline: set per plan.",
    },
    {
        "name": "CRPS: 0.35 mg/kg/h IV over 4 h daily for 10 days (ASRA/AAPM/ASA 2018)",
        "indications": ["crps"],
        "dose_unit": "mg_per_kg_per_h",
        "dose_min": Decimal("0.35"),
        "dose_max": Decimal("0.35"),
        "infusion_minutes": 240,
        "sessions": 10,
        "sessions_per_week": 7,
        "course": "0.35 mg/kg/h over 4 h daily × 10 days (moderate evidence, improvement up to 12 weeks)",
        "source": "[S10][S11][S12] Cohen 2018: CRPS regimen.",
        "notes": "",
    },
]


def forwards(apps, schema_editor):
    Protocol = apps.get_model("consultations", "Protocol")
    ScreeningPolicy = apps.get_model("consultations", "ScreeningPolicy")
    for spec in PROTOCOLS:
        Protocol.objects.get_or_create(name=spec["name"], defaults=spec)
    ScreeningPolicy.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("consultations", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
