"""CDK v2 app pieces: settings, constructs and the stacks that host the k-means model."""
