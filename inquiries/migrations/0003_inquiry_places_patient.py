"""A registered patient whose inquiry named a location has care there (scheduling's PatientLocation)."""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('inquiries', '0002_rate_limits_count_in_core'),
        ('scheduling', '0012_staff_and_patient_locations'),
    ]

    operations = [
        pgtrigger.migrations.AddTrigger(
            model_name='inquiry',
            trigger=pgtrigger.compiler.Trigger(name='inquiry_places_patient', sql=pgtrigger.compiler.UpsertTriggerSql(func='\n            IF NEW.patient_id IS NOT NULL AND NEW.preferred_location_id IS NOT NULL THEN\n                INSERT INTO scheduling_patientlocation (patient_id, location_id)\n                VALUES (NEW.patient_id, NEW.preferred_location_id)\n                ON CONFLICT DO NOTHING;\n            END IF;\n            RETURN NULL;\n        ', hash='bc1c01535cc60a1326a7a722fde8f464da6de85d', operation='INSERT OR UPDATE OF "patient_id", "preferred_location_id"', pgid='pgtrigger_inquiry_places_patient_645ba', table='inquiries_inquiry', when='AFTER')),
        ),
        migrations.RunSQL(
            sql="""
                INSERT INTO scheduling_patientlocation (patient_id, location_id)
                SELECT DISTINCT patient_id, preferred_location_id FROM inquiries_inquiry
                WHERE patient_id IS NOT NULL AND preferred_location_id IS NOT NULL
                ON CONFLICT DO NOTHING
            """,
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
