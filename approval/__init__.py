"""Approval drives the deploy: resolve a group's approved package into CDK context, listen for approvals, and
run what the pipeline runs (synth, deploy, verify) for each one, on the local AWS or anywhere else.

`python -m approval resolve` is the pipeline's synth step before `cdk synth`; `python -m approval follow` is the
pipeline's equivalent where CodePipeline does not run (the local AWS): it consumes the approval rule's events from
an SQS queue. `listen` makes that rule and queue; `share` gives another account a group's packages.
"""
