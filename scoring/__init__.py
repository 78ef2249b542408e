"""Score data of any size with the stack's Model: SageMaker Batch Transform (and the local AWS's)."""
