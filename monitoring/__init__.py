"""Drift monitoring: captured traffic against the baseline its model was built with.

`python -m monitoring drift` (monitoring.cli) reads a stack's capture from S3; `python3 -m monitoring.processing`
reads a folder of capture files inside a SageMaker Processing job. Both share the core: monitoring.capture (the
capture record format), monitoring.reading (streaming, batching), monitoring.analysis (the figures and the
verdict), monitoring.settings (thresholds and their sources), monitoring.metrics (the CloudWatch names). The core
uses only Python 3.9's standard library, numpy and boto3, which SageMaker's scikit-learn processing image has.
"""
