"""The control plane: moto's server, with one gap of its CloudFormation support closed.

moto 5.2's CloudFormation ignores `EndpointName` on AWS::SageMaker::Endpoint (its
`cloudformation_name_type` is empty) and invents a name; real CloudFormation keeps the
stable name this project declares, so the launcher tells moto which property holds it.
"""

from __future__ import annotations

import sys

from moto.sagemaker.models import FakeEndpoint
from moto.server import main as moto_main


def _endpoint_name_property() -> str:
    return "EndpointName"


def run(argv: list[str]) -> None:
    """Start moto's server with the SageMaker endpoint name honoured; argv as for moto_server."""
    FakeEndpoint.cloudformation_name_type = staticmethod(_endpoint_name_property)  # type: ignore[method-assign]
    moto_main(argv)


if __name__ == "__main__":
    run(sys.argv[1:])
