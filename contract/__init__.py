"""The stack's contract with everything that uses it, free of CDK: its name, its outputs, its role's grants.

`stacks/` declares the stack by these facts; the verifier, `scoring`, `teardown`, the local AWS, the
benchmarks and the tests read them from here, so none of them imports the CDK app to know what the stack
is called, which outputs it promises, or what its execution role may do. (These are the stack's own facts,
not AWS's: those live in `aws_facts/`.)
"""
