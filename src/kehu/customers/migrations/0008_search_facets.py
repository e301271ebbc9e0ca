"""Facet tokens (stage, source channel, tags) in the search index, so that a search combined with the list's
filters is intersected inside the index (kehu.customers.search_index.facet_tokens).

PostgreSQL: the stored search vector is regenerated over the document and the facets. SQLite: the FTS `scope`
column gets the facets too. Existing customers get their facets in one statement per engine.
"""

from django.db import migrations, models

FILL = (
    "UPDATE customers_customer SET search_facets = "
    "'_s' || CASE WHEN lifecycle_stage = '' THEN 'none' ELSE lifecycle_stage END || "
    "' _c' || CASE WHEN source_channel = '' THEN 'none' ELSE source_channel END || "
    "COALESCE((SELECT ' ' || {aggregate} FROM customers_customer_tags ct "
    "WHERE ct.customer_id = customers_customer.id), '')"
)
SQLITE_TAGS = "group_concat('_g' || tag_id, ' ')"
POSTGRES_TAGS = "string_agg('_g' || tag_id, ' ' ORDER BY tag_id)"
POSTGRES_VECTOR = [
    "DROP INDEX IF EXISTS customer_search_gin",
    "ALTER TABLE customers_customer DROP COLUMN IF EXISTS search_vector",
    "ALTER TABLE customers_customer ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (array_to_tsvector("
    "array_remove(string_to_array(search_document || ' ' || search_facets, ' '), ''))) STORED",
    "CREATE INDEX customer_search_gin ON customers_customer USING gin (search_vector)",
]
POSTGRES_VECTOR_BACK = [
    "DROP INDEX IF EXISTS customer_search_gin",
    "ALTER TABLE customers_customer DROP COLUMN IF EXISTS search_vector",
    "ALTER TABLE customers_customer ADD COLUMN search_vector tsvector "
    "GENERATED ALWAYS AS (array_to_tsvector(string_to_array(search_document, ' '))) STORED",
    "CREATE INDEX customer_search_gin ON customers_customer USING gin (search_vector)",
]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(FILL.format(aggregate=POSTGRES_TAGS))
        for statement in POSTGRES_VECTOR:
            schema_editor.execute(statement)
    elif vendor == "sqlite":
        schema_editor.execute(FILL.format(aggregate=SQLITE_TAGS))
        from kehu.customers.search_index import index_rebuild

        index_rebuild()


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for statement in POSTGRES_VECTOR_BACK:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0007_list_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="search_facets",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(forward, backward),
    ]
