"""One engine for SageMaker's jobs (transform, training, processing): lifecycle, channels, workers, outputs, logs.

What every job shares lives here; what a kind of job adds is a job type, a class implementing
`engine.JobType`, next to the work it does (the transform job type is `local_aws.transform.job`), and a
thin hook in `local_aws.strict` that validates the API request and calls `engine.start`:

- `lifecycle`: `InProgress` with secondary statuses and their transitions (timestamps, as
  SecondaryStatusTransitions), `Completed` / `Failed` with a FailureReason / `Stopping` then `Stopped`.
- `channels`: `S3Prefix` and `ManifestFile` inputs, dealt `ShardedByS3Key` or `FullyReplicated`.
- `instance`: what a worker process sees: its index and host, the stop request, its log, its outputs, its volume.
- `delivery`: the platform's transfer of input to the instances, from moto's store: File mode's copy onto each
  volume before the work starts, Pipe mode's FIFO per channel and epoch.
- `logs`: each instance's stream in `/aws/sagemaker/{TransformJobs,TrainingJobs,ProcessingJobs}`.
- `engine`: `start` and `request_stop`; one worker process per instance (fork server); the job's role checked
  on every object read and written; outputs published only when the job's outcome allows.

To add a job type (training, processing), write a class with:

- `log_group` (one of `logs.LOG_GROUPS`), `working_status` (`Training`...), `keeps_partial_outputs`;
- `name`, and `host(index)`: what an instance is called in its log stream (`algo-1`);
- `prepare(run)`: validate what only shows once running and return the picklable spec every instance gets;
- `channels()`: the request's input channels; `plan(spec, inputs, run)`: one share per worker process
  (`channels.shares` deals every channel by its distribution), checking more rights with `run.authorize`;
- `worker`: a module-level function `(instance, spec, share)`, run in each worker process (its module listed in
  `engine.WORKER_MODULES`, which the fork server imports); it raises
  JobFailedError to fail the job, calls `instance.check_stop()` between units of work, `instance.log(...)`,
  and `instance.commit(path, bucket, key)` for each finished output;
- `render(snapshot)`: show the lifecycle on the API's record, as that type's Describe* does.
"""
