# Separate from 0004: PostgreSQL refuses to ALTER a table with pending deferred-FK trigger
# events, which the data migration's UPDATEs leave in that transaction.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('controlled_substances', '0004_registrations'),
    ]

    operations = [
        migrations.AlterField(
            model_name='container',
            name='registration',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='containers', to='controlled_substances.registration'),
        ),
        migrations.AlterField(
            model_name='inventorycount',
            name='registration',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='counts', to='controlled_substances.registration'),
        ),
    ]
