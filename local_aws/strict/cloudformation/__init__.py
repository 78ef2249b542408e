"""CloudFormation made strict: stacks that roll back, change sets, and reading templates."""
