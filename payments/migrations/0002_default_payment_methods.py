from django.db import migrations

DEFAULTS = ["test", "bank_transfer", "invoice", "cash_on_pickup", "phone"]


def create(apps, schema_editor):
    PaymentMethod = apps.get_model("payments", "PaymentMethod")
    for position, code in enumerate(DEFAULTS):
        PaymentMethod.objects.get_or_create(code=code, defaults={"position": position, "is_enabled": code != "phone"})


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
