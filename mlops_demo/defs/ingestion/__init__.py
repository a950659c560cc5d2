"""Ingestion: each stream's assets, checks, job and queue sensor, made by one factory."""
