import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('scheduling', '0010_adjunct_appointment_type'),
    ]

    operations = [
        migrations.CreateModel(
            name='DailyJobRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('job', models.CharField(max_length=80)),
                ('local_day', models.DateField(help_text="The site's local day the run closed.")),
                ('ran_at', models.DateTimeField()),
                ('location', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='scheduling.location')),
            ],
            options={
                'ordering': ['-local_day', 'job'],
                'constraints': [models.UniqueConstraint(fields=('job', 'location', 'local_day'), name='dailyjobrun_once_per_site_day')],
            },
        ),
    ]
