"""The k-means data plane: what SageMaker's built-in k-means container and runtime API answer."""
