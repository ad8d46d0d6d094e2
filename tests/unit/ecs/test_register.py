"""Registering a task definition revision (generator/ecs/register.py)."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from generator.ecs.register import Resolver, Unresolvable, rendered_task_definition
from generator.params import load_env
from generator.render import Rendered
from tests.conftest import ROOT
from tests.helpers.ecs_responses import (
    ACCOUNT,
    GROUP,
    MIGRATE_ARN,
    T0,
    _client,
)


def test_the_new_revision_is_registered_from_the_rendered_template(dev: Rendered) -> None:
    iam = _client("iam")
    role = {"Path": "/", "RoleId": "AROAEXAMPLEID0000001", "CreateDate": T0,
            "AssumeRolePolicyDocument": "{}"}
    with Stubber(iam) as s_iam:
        s_iam.add_response("get_role", {"Role": {**role, "RoleName": "dev-exec",
                                                 "Arn": f"arn:aws:iam::{ACCOUNT}:role/dev-exec"}},
                           {"RoleName": "dev-exec"})
        s_iam.add_response("get_role", {"Role": {**role, "RoleName": "dev-migrate",
                                                 "Arn": f"arn:aws:iam::{ACCOUNT}:role/dev-migrate"}},
                           {"RoleName": "dev-migrate"})
        resolver = Resolver(
            {"Image": "acme/app:v10", "DbEndpoint": "db.internal", "DbPort": "5432",
             "DbSecretArn": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-AbCdEf"},
            {"MigrateExecutionRole": "dev-exec", "MigrateTaskRole": "dev-migrate", "LogGroup": GROUP},
            {"AWS::Region": "us-east-1"}, iam)
        args = rendered_task_definition(dev.stacks["ecs"].template, "migrate", resolver)
    assert args["family"] == "kubenews-dev-migrate"
    assert args["executionRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/dev-exec"
    assert args["taskRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/dev-migrate"
    [container] = args["containerDefinitions"]
    assert container["image"] == "acme/app:v10"  # the revision about to be deployed
    # what params/dev.yaml gives migrate: a command the app image has (issue 21)
    migrate = load_env(ROOT / "params", "dev").config.ecs.tasks["migrate"]
    assert container["command"] == list(migrate.command or [])
    assert {"name": "DB_HOST", "value": "db.internal"} in container["environment"]
    # migrate logs in as the master (db_login: master): user and password from its secret
    assert sorted(container["secrets"], key=lambda x: x["name"], reverse=True) == [
        {"name": "DB_USERNAME",
         "valueFrom": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-AbCdEf:username::"},
        {"name": "DB_PASSWORD",
         "valueFrom": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-AbCdEf:password::"}]
    assert container["logConfiguration"] == {"logDriver": "awslogs", "options": {
        "awslogs-group": GROUP, "awslogs-region": "us-east-1",
        "awslogs-stream-prefix": "migrate"}}
    # The botocore model accepts it as RegisterTaskDefinition input.
    ecs = _client("ecs")
    with Stubber(ecs) as s_ecs:
        s_ecs.add_response("register_task_definition", {"taskDefinition": {
            "taskDefinitionArn": MIGRATE_ARN}}, args)
        ecs.register_task_definition(**args)


def test_a_role_new_in_this_deploy_cannot_be_resolved(dev: Rendered) -> None:
    """The task's roles come with this deploy (no physical id yet): no revision can be
    made before the stack, so the task runs after it instead."""
    resolver = Resolver({"Image": "acme/app:v10"}, {"LogGroup": GROUP}, {}, None)
    with pytest.raises(Unresolvable, match=r"MigrateExecutionRole\.Arn is not deployed yet"):
        rendered_task_definition(dev.stacks["ecs"].template, "migrate", resolver)

