"""The customer search index.

SQLite: an FTS5 table with the search document and a `scope` column (owner, team, live/archived tokens),
so a sales rep's quick search is answered from the index alone.
PostgreSQL: a stored generated tsvector column over the token array, with a GIN index; the planner can
then also filter cheaply while walking an ordered index.
"""

from django.db import migrations

SQLITE_CREATE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS customers_search USING fts5("
    "document, scope, tokenize = 'unicode61 remove_diacritics 0', prefix = '1 2 3 4')"
)
POSTGRES_CREATE = [
    "ALTER TABLE customers_customer ADD COLUMN IF NOT EXISTS search_vector tsvector "
    "GENERATED ALWAYS AS (array_to_tsvector(string_to_array(search_document, ' '))) STORED",
    "CREATE INDEX IF NOT EXISTS customer_search_gin ON customers_customer USING gin (search_vector)",
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_CREATE)
    elif schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_CREATE:
            schema_editor.execute(statement)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TABLE IF EXISTS customers_search")
    elif schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS customer_search_gin")
        schema_editor.execute("ALTER TABLE customers_customer DROP COLUMN IF EXISTS search_vector")


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
