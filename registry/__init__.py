"""The SageMaker Model Registry as the record of what runs: what a k-means model package says of itself.

`registry.packages` reads packages back (the newest approved one of a group, one by ARN), `registry.metadata`
is the one home of the CustomerMetadataProperties keys the project writes, `registry.storage` of the
content-addressed S3 keys a registered build's files go under. No CDK, no numpy: the stack's synth step, the
verifier and the CLIs all read packages through it.
"""
