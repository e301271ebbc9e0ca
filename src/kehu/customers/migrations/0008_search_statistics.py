"""PostgreSQL: keep enough statistics on the search vector for the planner to tell a common prefix from a rare one.

With the default statistics target (100) ANALYZE keeps ~700 of the tens of millions of search tokens at 1M
customers, so the planner guessed 3,271 rows for `zh:*`, which matches 151,000, and intersected a huge GIN
bitmap with the filters' index instead of walking it. At 10,000 it keeps ~80,000 tokens and estimates
`wy:*` at 17,098 (17,226 match) and `zh:*` at 78,000. ANALYZE of the column then reads the whole table at
1M customers (~20 s, run by autovacuum after large changes). See docs/benchmarks.md, pages.
"""

from django.db import migrations


def raise_target(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE customers_customer ALTER COLUMN search_vector SET STATISTICS 10000")


def reset_target(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE customers_customer ALTER COLUMN search_vector SET STATISTICS -1")


class Migration(migrations.Migration):
    dependencies = [("customers", "0007_list_indexes")]
    operations = [migrations.RunPython(raise_target, reset_target)]
