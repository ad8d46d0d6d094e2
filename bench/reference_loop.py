"""The reference a deploy tool is measured against: a direct loop of CloudFormation calls
on the rendered env (build/<env>), as few as the job takes, with botocore alone.

    python bench/reference_loop.py create|noop|delete BUILD_DIR

create: CreateStack per stack in graph order, each stack's parameters from the outputs
of the stacks before it, waiting for each (DescribeStacks every POLL s); noop: UpdateStack
per stack with what it holds ("No updates are to be performed"); delete: DeleteStack per
stack in reverse order, waiting for each. What a tool adds over this (review, forecast,
lint, locks, drift, progress) is what its figures beside these cost.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import botocore.session
from botocore.exceptions import ClientError

POLL = 0.5
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


def client(service: str) -> Any:
    session = botocore.session.Session()
    return session.create_client(service,
                                 region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))


def zone_id(name: str) -> str:
    """The HostedZoneIdByName lookup (one ListHostedZonesByName)."""
    name = name.rstrip(".") + "."
    zones = client("route53").list_hosted_zones_by_name(DNSName=name)["HostedZones"]
    return str(next(z["Id"] for z in zones if z["Name"] == name)).rsplit("/", 1)[-1]


def wait(cfn: Any, stack_id: str) -> str:
    while True:
        status = str(cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"])
        if not status.endswith("_IN_PROGRESS"):
            return status
        time.sleep(POLL)


def stacks(build: Path) -> list[tuple[str, dict[str, Any], str]]:
    manifest = json.loads((build / "manifest.json").read_text())
    return [(name, json.loads((build / f"{name}.params.json").read_text()),
             (build / f"{name}.yaml").read_text()) for name in manifest["order"]]


def parameters(doc: dict[str, Any], outputs: dict[str, dict[str, str]]) -> list[dict[str, str]]:
    out = []
    for key, value in doc["Parameters"].items():
        if isinstance(value, dict) and "From" in value:
            stack, _, name = value["From"].partition(".")
            value = outputs[stack][name]
        elif isinstance(value, dict):  # the one lookup the shipped envs use
            assert value["Lookup"] == "HostedZoneIdByName", value
            value = zone_id(value["Name"])
        out.append({"ParameterKey": key, "ParameterValue": str(value)})
    return out


def create(cfn: Any, build: Path, noop: bool = False) -> None:
    outputs: dict[str, dict[str, str]] = {}
    for name, doc, template in stacks(build):
        kwargs = dict(StackName=doc["StackName"], TemplateBody=template,
                      Parameters=parameters(doc, outputs), Capabilities=CAPABILITIES,
                      Tags=[{"Key": k, "Value": v} for k, v in doc["Tags"].items()])
        if noop:
            try:
                cfn.update_stack(**kwargs)
                status = wait(cfn, doc["StackName"])
            except ClientError as exc:
                if "No updates are to be performed" not in str(exc):
                    raise
        else:
            stack_id = cfn.create_stack(**kwargs)["StackId"]
            status = wait(cfn, stack_id)
            if status != "CREATE_COMPLETE":
                sys.exit(f"{doc['StackName']}: {status}")
        found = cfn.describe_stacks(StackName=doc["StackName"])["Stacks"][0]
        outputs[name] = {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}


def delete(cfn: Any, build: Path) -> None:
    for _, doc, _ in reversed(stacks(build)):
        try:
            stack_id = cfn.describe_stacks(StackName=doc["StackName"])["Stacks"][0]["StackId"]
        except ClientError:
            continue  # not deployed
        cfn.delete_stack(StackName=stack_id)
        status = wait(cfn, stack_id)
        if status != "DELETE_COMPLETE":
            sys.exit(f"{doc['StackName']}: {status}")


def main() -> None:
    op, build = sys.argv[1], Path(sys.argv[2])
    cfn = client("cloudformation")
    if op == "delete":
        delete(cfn, build)
    else:
        create(cfn, build, noop=op == "noop")


if __name__ == "__main__":
    main()
