"""mlops_demo: a Dagster code location running a predictive-maintenance MLOps loop on RabbitMQ."""
