"""Storage: landing batches, the JSONL and PostgreSQL stores, and the prediction log."""
