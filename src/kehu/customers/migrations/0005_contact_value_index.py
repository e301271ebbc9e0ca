"""Fill the blind index of contact points stored before it existed (values were plaintext then)."""

from django.db import migrations

from kehu.core.fields import index_of


def fill_value_index(apps, schema_editor):
    ContactPoint = apps.get_model("customers", "ContactPoint")
    batch = []
    for point in ContactPoint.objects.filter(value_index="").only("id", "kind", "value").iterator(chunk_size=2000):
        domain = "phone" if point.kind in ("mobile", "phone") else f"contact:{point.kind}"
        point.value_index = index_of(domain, point.value)
        batch.append(point)
        if len(batch) >= 2000:
            ContactPoint.objects.bulk_update(batch, ["value_index"])
            batch = []
    ContactPoint.objects.bulk_update(batch, ["value_index"])


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_protected_fields")]

    operations = [migrations.RunPython(fill_value_index, migrations.RunPython.noop)]
