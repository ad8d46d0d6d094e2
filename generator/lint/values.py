"""Parameter values to lint a template with, as it will deploy.

Static values come from the env's parameters file. Values only known at deploy
time (upstream outputs, lookups) get placeholders of the real shape, so that
cfn-lint checks patterns and conditions instead of stopping at "required".
"""

from __future__ import annotations

import re
from typing import Any

from generator.references import is_reference
from generator.yamlsrc import load_cfn

ACCOUNT = "123456789012"

# By Parameter type first, then by name suffix: what a real value looks like.
BY_TYPE = {
    "AWS::EC2::VPC::Id": "vpc-0123456789abcdef0",
    "List<AWS::EC2::Subnet::Id>": "subnet-0123456789abcdef0,subnet-0123456789abcdef1",
    "AWS::EC2::SecurityGroup::Id": "sg-0123456789abcdef0",
    "AWS::Route53::HostedZone::Id": "Z0123456789ABCDEFGHIJ",
    "Number": "1",
}
BY_NAME = (
    (re.compile(r"TargetGroupArn$"),
     f"arn:aws:elasticloadbalancing:{{region}}:{ACCOUNT}:targetgroup/app/0123456789abcdef"),
    (re.compile(r"CertificateArn$"),
     f"arn:aws:acm:{{region}}:{ACCOUNT}:certificate/01234567-89ab-cdef-0123-456789abcdef"),
    (re.compile(r"SecretArn$"),
     f"arn:aws:secretsmanager:{{region}}:{ACCOUNT}:secret:app-AbCdEf"),
    (re.compile(r"Endpoint$"), "app.abcdefghijkl.{region}.rds.amazonaws.com"),
    (re.compile(r"Port$"), "5432"),
    (re.compile(r"RequestCountLabel$"),
     "app/lb/0123456789abcdef/targetgroup/app/0123456789abcdef"),
    (re.compile(r"Bucket$"), "stackgen-artifacts-placeholder"),
)


def placeholder(name: str, ptype: str, region: str) -> str:
    if ptype in BY_TYPE:
        return BY_TYPE[ptype]
    for pattern, value in BY_NAME:
        if pattern.search(name):
            return value.format(region=region)
    return "placeholder"


def lint_values(template: str, file_values: dict[str, Any], region: str) -> dict[str, Any]:
    """Values for every Parameter of ``template`` that has no Default."""
    declared = load_cfn(template).get("Parameters") or {}
    values: dict[str, Any] = {}
    for name, decl in declared.items():
        if "Default" in decl:
            continue  # SSM-typed parameters keep their path as the default
        value = file_values.get(name)
        if value is None or is_reference(value):
            value = placeholder(name, decl.get("Type", "String"), region)
        value = value if isinstance(value, str) else str(value)
        ptype = decl.get("Type", "String")
        # cfn-lint wants list-typed parameters as arrays, as deployment files give them.
        is_list = ptype.startswith("List<") or ptype == "CommaDelimitedList"
        values[name] = value.split(",") if is_list else value
    return values
