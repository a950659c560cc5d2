"""Training: the join, the split, trained_model and its check, the job, its schedule, and the
retrain sensor."""
