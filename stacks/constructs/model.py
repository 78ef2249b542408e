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
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=image_uri, model_data_url=model_data_url
            ),
            enable_network_isolation=network.isolated,
            vpc_config=vpc_config,
        )
        self.model_name = model.attr_model_name
        if serverless:
            skip_check(
                model,
                "CKV_AWS_370",
                "Serverless endpoints do not support network isolation; the settings refuse that combination.",
            )
