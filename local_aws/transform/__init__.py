"""Batch transform on the local AWS: SageMaker's CreateTransformJob, run for real."""
