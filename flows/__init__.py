"""Prefect flows: harvest, transform, audit and publish, chained by the pipeline flow."""
