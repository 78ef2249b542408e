"""The SageMaker Model: the regional built-in k-means image serving our artifact."""

from __future__ import annotations

from aws_cdk import Aws, CfnMapping, CfnRule, Fn, Stack
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from aws_facts.kmeans_image import KMEANS_ACCOUNTS, KMEANS_REPOSITORY, KMEANS_TAG, image_mapping
from stacks.checkov import skip_check
from stacks.settings import Network

MAPPING_ID = "KMeansImageByRegion"


class KMeansImage(Construct):
    """Region -> image account and registry domain as a CfnMapping: one template, every region."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        mapping = CfnMapping(Stack.of(self), MAPPING_ID, mapping=image_mapping())
        self.account = mapping.find_in_map(Aws.REGION, "account")
        domain = mapping.find_in_map(Aws.REGION, "domain")
        self.uri = Fn.join(
            "", [self.account, ".dkr.ecr.", Aws.REGION, ".", domain, f"/{KMEANS_REPOSITORY}:{KMEANS_TAG}"]
        )
        self.repository_arn = Fn.join(
            "", ["arn:", Aws.PARTITION, ":ecr:", Aws.REGION, ":", self.account, f":repository/{KMEANS_REPOSITORY}"]
        )
        CfnRule(
            Stack.of(self),
            "RegionHasKMeansImage",
            assertions=[
                {
                    "assert": Fn.condition_contains(sorted(KMEANS_ACCOUNTS), Aws.REGION),
                    "assertDescription": "SageMaker's built-in k-means image is not published in this region; "
                    "supported: " + ", ".join(sorted(KMEANS_ACCOUNTS)),
                }
            ],
        )


class KMeansModel(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        image_uri: str,
        model_data_url: str,
        role_arn: str,
        model_package_name: str | None = None,
        network: Network,
        serverless: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        vpc_config = None
        if network.in_vpc:
            vpc_config = sagemaker.CfnModel.VpcConfigProperty(
                subnets=list(network.subnet_ids), security_group_ids=list(network.security_group_ids)
            )
        model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=role_arn,
            primary_container=_container(image_uri, model_data_url, model_package_name),
            enable_network_isolation=network.isolated,
            vpc_config=vpc_config,
        )
        self.model_name = model.attr_model_name
        if model_package_name is not None:
            _package_in_stack_region(self, model_package_name)
        if serverless:
            skip_check(
                model,
                "CKV_AWS_370",
                "Serverless endpoints do not support network isolation; the settings refuse that combination.",
            )


def _container(
    image_uri: str, model_data_url: str, model_package_name: str | None
) -> sagemaker.CfnModel.ContainerDefinitionProperty:
    """The image and artifact, or the approved package that names both (AWS takes one or the other)."""
    if model_package_name is not None:
        return sagemaker.CfnModel.ContainerDefinitionProperty(model_package_name=model_package_name)
    return sagemaker.CfnModel.ContainerDefinitionProperty(image=image_uri, model_data_url=model_data_url)


PACKAGE_REGION_RULE = "ModelPackageInStackRegion"


def _package_in_stack_region(scope: Construct, package_arn: str) -> None:
    """A model package serves only in its own region: its image and artifact must be in the Model's region
    (CreateModel's ContainerDefinition: "The model artifacts in an Amazon S3 bucket and the Docker image for
    inference container in Amazon EC2 Container Registry must be in the same region as the model or endpoint you
    are creating"), so a stack
    deployed to another region is refused before anything is created, as RegionHasKMeansImage refuses a region
    without the image."""
    region = package_arn.split(":")[3]
    CfnRule(
        Stack.of(scope),
        PACKAGE_REGION_RULE,
        assertions=[
            {
                "assert": Fn.condition_equals(Aws.REGION, region),
                "assertDescription": f"the model package {package_arn} is in {region}: deploy the stack there "
                "(its image and artifact must be in the Model's region)",
            }
        ],
    )
