"""The Dagster definitions: thin assets, resources, jobs, sensors and checks, by stage."""
