"""Staff assigned to locations, and the locations where each patient has care (kept by triggers;
filled here from the appointments and waitlist entries already recorded)."""

import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('patients', '0005_remove_patient_last_prefix'),
        ('scheduling', '0011_daily_job_runs'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='PatientLocation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
            ],
        ),
        migrations.CreateModel(
            name='StaffLocation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
            ],
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='appointment',
            trigger=pgtrigger.compiler.Trigger(name='appointment_places_patient', sql=pgtrigger.compiler.UpsertTriggerSql(func='\n            IF NEW.patient_id IS NOT NULL AND NEW.location_id IS NOT NULL THEN\n                INSERT INTO scheduling_patientlocation (patient_id, location_id)\n                VALUES (NEW.patient_id, NEW.location_id)\n                ON CONFLICT DO NOTHING;\n            END IF;\n            RETURN NULL;\n        ', hash='72628a660ca9428e2d4f708cff3e4ae53c2aaf26', operation='INSERT OR UPDATE OF "patient_id", "location_id"', pgid='pgtrigger_appointment_places_patient_8b047', table='scheduling_appointment', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='waitlistentry',
            trigger=pgtrigger.compiler.Trigger(name='waitlistentry_places_patient', sql=pgtrigger.compiler.UpsertTriggerSql(func='\n            IF NEW.patient_id IS NOT NULL AND NEW.location_id IS NOT NULL THEN\n                INSERT INTO scheduling_patientlocation (patient_id, location_id)\n                VALUES (NEW.patient_id, NEW.location_id)\n                ON CONFLICT DO NOTHING;\n            END IF;\n            RETURN NULL;\n        ', hash='3fbe201ec489f61447de65295232e44368ef7238', operation='INSERT OR UPDATE OF "patient_id", "location_id"', pgid='pgtrigger_waitlistentry_places_patient_15ed6', table='scheduling_waitlistentry', when='AFTER')),
        ),
        migrations.AddField(
            model_name='patientlocation',
            name='location',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='scheduling.location'),
        ),
        migrations.AddField(
            model_name='patientlocation',
            name='patient',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='patients.patient'),
        ),
        migrations.AddField(
            model_name='stafflocation',
            name='location',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='staff', to='scheduling.location'),
        ),
        migrations.AddField(
            model_name='stafflocation',
            name='user',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='staff_locations', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddIndex(
            model_name='patientlocation',
            index=models.Index(fields=['location', 'patient'], name='patientlocation_by_location'),
        ),
        migrations.AddConstraint(
            model_name='patientlocation',
            constraint=models.UniqueConstraint(fields=('patient', 'location'), name='patientlocation_once'),
        ),
        migrations.AddConstraint(
            model_name='stafflocation',
            constraint=models.UniqueConstraint(fields=('user', 'location'), name='stafflocation_once_per_user'),
        ),
        migrations.RunSQL(
            sql="""
                INSERT INTO scheduling_patientlocation (patient_id, location_id)
                SELECT DISTINCT patient_id, location_id FROM scheduling_appointment
                UNION
                SELECT DISTINCT patient_id, location_id FROM scheduling_waitlistentry
                ON CONFLICT DO NOTHING
            """,
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
