"""Express mode against the local endpoint (issue 16, item 4)."""

from __future__ import annotations

import json
from typing import Any

from generator.aws.cfn import EXPRESS
from tests.conftest import clients, reset
from tests.helpers.express import STACK


def test_the_local_endpoint_takes_an_express_change_set(endpoint: Any) -> None:
    reset(endpoint.url)
    cfn = clients(endpoint.url).cloudformation
    template = {"Resources": {"Vpc": {"Type": "AWS::EC2::VPC",
                                      "Properties": {"CidrBlock": "10.0.0.0/16"}}}}
    cs = cfn.create_change_set(StackName=STACK, ChangeSetName="cs", ChangeSetType="CREATE",
                               TemplateBody=json.dumps(template), DeploymentConfig=EXPRESS)
    cfn.execute_change_set(ChangeSetName=cs["Id"])
    stack = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"

