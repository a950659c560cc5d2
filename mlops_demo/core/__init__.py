"""Everything with no Dagster import: records, cleaning, stores, broker, models, registry."""
