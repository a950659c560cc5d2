"""Monitoring: drift in the readings and the deployed model's realized performance."""
