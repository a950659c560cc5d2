"""Inference: devices_at_risk and its checks."""
