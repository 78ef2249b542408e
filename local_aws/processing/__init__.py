"""SageMaker Processing jobs on the local AWS: a job type of the shared job engine (local_aws.jobs)."""
