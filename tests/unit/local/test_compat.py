"""generator/local/compat: what is checked without an endpoint (the fixes that change an
API's answers are shown against bare moto's server in tests/local/test_compat.py)."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
import moto
import pytest
import yaml
from moto import backends as moto_backends
from moto import mock_aws
from moto.cloudformation import models as cfn_models
from moto.cloudformation.utils import yaml_tag_constructor
from moto.core import loaders as moto_loaders
from moto.core import utils as moto_utils

from generator.local import compat
from generator.local.compat import speed
from tests.helpers.renders import shipped


def test_moto_loads_its_service_models_through_one_loader() -> None:
    # Bare moto: a new Loader (each listing every service's directory) per model loaded.
    assert moto_loaders.create_loader() is not moto_loaders.create_loader()
    compat.one_model_loader()
    compat.one_model_loader()  # idempotent: the endpoint applies it once, tests may again
    shared = vars(moto_utils)["create_loader"]
    assert shared() is shared()
    loaded = shared().load_service_model("sts", "service-2")
    assert loaded["metadata"]["serviceId"] == "STS"


def test_moto_lists_its_modules_once(monkeypatch: pytest.MonkeyPatch) -> None:
    listed: list[str] = []
    real_listdir = os.listdir

    def listdir(path: str) -> list[str]:
        if path == os.path.dirname(moto.__file__):
            listed.append(path)
        return real_listdir(path)

    monkeypatch.setattr(os, "listdir", listdir)
    monkeypatch.setattr(moto_backends, "list_of_moto_modules", moto_backends.list_of_moto_modules)
    # Bare moto: every request's dispatch lists moto's directory again.
    bare = [list(moto_backends.list_of_moto_modules()) for _ in range(2)]
    assert len(listed) == 2
    compat.one_module_listing()
    compat.one_module_listing()  # idempotent
    for _ in range(3):
        assert list(moto_backends.list_of_moto_modules()) == bare[0]
    assert len(listed) == 3
    assert "cloudformation" in moto_backends.list_of_moto_modules()


def bare_moto_parse(template: str) -> Any:
    """moto 5.2.5's Stack.parse_template, as it reads (moto/cloudformation/models.py)."""
    yaml.add_multi_constructor("", yaml_tag_constructor)
    try:
        return yaml.load(template, Loader=yaml.Loader)
    except (yaml.parser.ParserError, yaml.scanner.ScannerError):
        return json.loads(template)


@pytest.mark.parametrize("env", ["local", "dev", "prod", "fargate"])
def test_templates_read_by_libyaml_as_moto_reads_them(env: str) -> None:
    rendered = shipped(env)
    templates = [s.template for s in rendered.stacks.values()] + [rendered.root.template]
    for template in templates:
        assert speed.parse_template(template) == bare_moto_parse(template)
    as_json = json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})
    assert speed.parse_template(as_json) == bare_moto_parse(as_json)


def test_a_tab_indented_json_template_is_read_as_json_as_moto_reads_it() -> None:
    # PyYAML's scanner refuses the tabs and moto falls back to JSON; libyaml takes them,
    # and as YAML 1e3 is a string (found in review).
    template = '{\n\t"Resources": {"Q": {"Type": "AWS::SQS::Queue",\n\t\t"Properties": ' \
        '{"DelaySeconds": 1e3}}}\n}'
    assert bare_moto_parse(template)["Resources"]["Q"]["Properties"]["DelaySeconds"] == 1000.0
    assert speed.parse_template(template) == bare_moto_parse(template)


SHORT_FORMS = """
Parameters:
  Name: {Type: String}
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${Name}-queue"
Outputs:
  Arn: {Value: !GetAtt Queue.Arn}
"""


def test_moto_reads_templates_with_libyaml_once_patched(monkeypatch: pytest.MonkeyPatch) -> None:
    for owner in (cfn_models.Stack, cfn_models.ChangeSet):  # moto's own methods back after
        for name, value in list(vars(owner).items()):
            if callable(value) or isinstance(value, staticmethod):
                monkeypatch.setattr(owner, name, value)
    python_parser: list[object] = []
    real = yaml.parser.Parser.parse_stream_start

    def parse_stream_start(self: Any) -> Any:
        python_parser.append(self)
        return real(self)

    monkeypatch.setattr(yaml.parser.Parser, "parse_stream_start", parse_stream_start)

    def change_set_and_stack(name: str) -> str:
        """The queue a stack made from SHORT_FORMS by a change set: its URL."""
        client = boto3.client("cloudformation", region_name="us-east-1")
        client.create_change_set(StackName=name, ChangeSetName="c", ChangeSetType="CREATE",
                                 TemplateBody=SHORT_FORMS,
                                 Parameters=[{"ParameterKey": "Name", "ParameterValue": name}])
        client.execute_change_set(ChangeSetName="c", StackName=name)
        resources = client.describe_stack_resources(StackName=name)["StackResources"]
        return str(resources[0]["PhysicalResourceId"])

    with mock_aws():
        bare = change_set_and_stack("bare")
        assert python_parser  # bare moto: PyYAML's parser, written in Python
        python_parser.clear()
        compat.templates_read_by_libyaml()
        patched = change_set_and_stack("patched")
    assert python_parser == []
    assert (bare.rsplit("/", 1)[1], patched.rsplit("/", 1)[1]) == ("bare-queue", "patched-queue")
    template = shipped("local").stacks["network"].template
    assert cfn_models.Stack.parse_template(template) == bare_moto_parse(template)
