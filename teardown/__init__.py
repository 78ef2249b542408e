"""Before `cdk destroy`: empty the buckets CloudFormation will delete, which it cannot while they hold objects."""
