"""Housekeeping: the cleanup job that keeps Dagster's own run history to a set age, and its
schedule."""
