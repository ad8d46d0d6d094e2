"""The rds stack's view and template (generator/views/rds.py): TLS, engine version, logins."""

from __future__ import annotations

import pytest

from generator.yamlsrc import load_cfn
from tests.conftest import ENVS
from tests.helpers.hardening import _service_containers, _value_from
from tests.helpers.rendered import _env_vars, _render, _resources

# --- 4: TLS to PostgreSQL 15+ ------------------------------------------------------


@pytest.mark.parametrize("env", ["local", "dev", "prod", "fargate"])
def test_the_app_is_told_to_use_tls_and_the_db_keeps_requiring_it(env: str) -> None:
    r = _render(env)
    task = _resources(r, "ecs")["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert _env_vars(task)["DB_SSL_REQUIRE"] == "true"
    db = _resources(r, "rds")["DbInstance"]["Properties"]
    # The engine's default parameter group, whose rds.force_ssl is 1 from 15 on.
    assert "DBParameterGroupName" not in db
    assert int(r.env.config.rds.engine_version.split(".")[0]) >= 15


# --- 12: engine version, NAT per AZ, alarms ----------------------------------------


def test_engine_version_is_the_major_and_minor_upgrades_apply() -> None:
    r = _render("prod")
    db = _resources(r, "rds")["DbInstance"]["Properties"]
    assert r.stacks["rds"].parameters["DbEngineVersion"] == "16"
    assert db["AutoMinorVersionUpgrade"] is True


# --- 10: the DB password does not rotate behind the running tasks ------------------


@pytest.mark.parametrize("env", ["local", "dev", "prod", "fargate"])
def test_the_db_password_is_a_generated_secret_without_automatic_rotation(env: str) -> None:
    res = _resources(_render(env), "rds")
    assert "ManageMasterUserPassword" not in res["DbInstance"]["Properties"]
    assert res["DbSecret"]["Type"] == "AWS::SecretsManager::Secret"
    assert not [k for k, v in res.items() if v["Type"] == "AWS::SecretsManager::RotationSchedule"]


@pytest.mark.parametrize("env", ENVS)
def test_the_app_logs_in_with_its_own_login_not_the_master(env: str) -> None:
    r = _render(env)
    rds = load_cfn(r.stacks["rds"].template)
    secret = rds["Resources"]["AppDbSecret"]["Properties"]["GenerateSecretString"]
    assert secret["SecretStringTemplate"] == '{"username": "kubenews_app"}'
    assert rds["Outputs"]["AppDbSecretArn"]["Value"] == {"Ref": "AppDbSecret"}
    containers = _service_containers(r)
    app = containers["web"]
    assert _value_from(app) == {"DB_PASSWORD": "${AppDbSecretArn}:password::",
                                "DB_USERNAME": "${AppDbSecretArn}:username::"}
    assert "${DbSecretArn}" not in str(app)
    # The init container creates the login with the master secret; the app waits for it.
    boot = containers["db-bootstrap"]
    assert boot["Essential"] is False
    assert _value_from(boot)["PGPASSWORD"] == "${DbSecretArn}:password::"
    assert _value_from(boot)["APP_DB_PASSWORD"] == "${AppDbSecretArn}:password::"
    assert app["DependsOn"] == [{"ContainerName": "db-bootstrap", "Condition": "SUCCESS"}]
    sql = {e["Name"]: e["Value"] for e in boot["Environment"]}["BOOTSTRAP_SQL"]
    assert "NOCREATEDB NOCREATEROLE" in sql
    # RDS's master is no superuser and may not name the attribute (tests/test_local_rds.py)
    assert "SUPERUSER" not in sql
    assert "PASSWORD" not in sql  # set by \\password from stdin: no literal, no command line

