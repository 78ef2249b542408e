"""The floor for `cdk synth`: an app with one empty stack (Node, jsii and the CLI, nothing else)."""

from __future__ import annotations

import aws_cdk as cdk

app = cdk.App()
cdk.Stack(app, "Empty")
app.synth()
