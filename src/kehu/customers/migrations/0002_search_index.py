"""The customer search index: FTS5 on SQLite, a GIN index over the token array on PostgreSQL."""

from django.db import migrations

SQLITE_CREATE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS customers_search USING fts5("
    "document, tokenize = 'unicode61 remove_diacritics 0', prefix = '1 2 3 4')"
)
POSTGRES_CREATE = (
    "CREATE INDEX IF NOT EXISTS customer_search_gin ON customers_customer "
    "USING gin (array_to_tsvector(string_to_array(search_document, ' ')))"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_CREATE)
    elif schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TABLE IF EXISTS customers_search")
    elif schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS customer_search_gin")


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
