"""Deployment: the candidates (the gate applied), deployed_model and its check, the job."""
