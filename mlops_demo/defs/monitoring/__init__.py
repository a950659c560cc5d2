"""Monitoring: deployed_model_performance and its checks."""
