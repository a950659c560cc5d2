"""The model: features, the pipeline, calibration, training, scoring and evaluation."""
