"""SageMaker's built-in k-means training, run for real: the `training` job type of the job engine (local_aws.jobs).

`job`: what CreateTrainingJob adds to the engine (image, channels, rights, the record DescribeTrainingJob shows);
`hyperparameters`: the algorithm's own validation of its hyperparameters; `readers`: each channel's objects as
mini-batches of rows (CSV, RecordIO-protobuf), streamed from S3; `algorithm`: web-scale mini-batch k-means per
instance, the weighted merge and the local Lloyd reduction to k centres; `worker`: what each instance runs.
"""
