"""The rds stack: PostgreSQL, its master login and the app's own, and the security
group rules between the app and the DB."""

from __future__ import annotations

import json

import msgspec

from generator.config import Environment
from generator.views.common import (
    NO_EGRESS,
    Built,
    Egress,
    EgressRule,
    Ingress,
    Names,
    Output,
    Param,
    skips,
    yaml_scalar,
)
from generator.views.facts import Facts

# The master password from the stack's own secret, as a dynamic reference
# (CloudFormation user guide, "Get values stored in other services using dynamic
# references"): the template never holds it.
MASTER_PASSWORD = '!Sub "{{resolve:secretsmanager:${DbSecret}:SecretString:password}}"'


class RdsView(msgspec.Struct, frozen=True):
    description: str
    ingress: tuple[Ingress, ...]
    egress: tuple[Egress, ...]
    group_name: str
    app_to_db: EgressRule  # on the app's group (network stack), beside the DB's group it names
    subnet_group_description: str
    managed_password: bool  # RDS keeps the master password in a secret of its own
    master_password: str  # raw YAML, when the stack's DbSecret holds it
    secret_policy: str  # DeletionPolicy of both secrets
    secret_skips: tuple[dict[str, str], ...]
    secret_description: str
    secret_template: str
    app_secret_description: str
    app_secret_template: str
    db_skips: tuple[dict[str, str], ...]
    deletion_policy: str
    engine: str
    allocated_storage_gib: int
    storage_type: str
    storage_encrypted: bool
    backup_retention_days: int
    multi_az: bool
    deletion_protection: bool
    publicly_accessible: bool
    database_name: str
    port: int
    master_username: str


def _outputs(cfg: Environment, managed: bool) -> tuple[Output, ...]:
    # Dotted attribute names in the long form: moto's parser mangles both short forms.
    secret = (yaml_scalar({"Fn::GetAtt": ["DbInstance", "MasterUserSecret.SecretArn"]})
              if managed else "!Ref DbSecret")
    return (
        Output("DbEndpoint", yaml_scalar({"Fn::GetAtt": ["DbInstance", "Endpoint.Address"]}),
               "DB host name"),
        Output("DbPort", yaml_scalar({"Fn::GetAtt": ["DbInstance", "Endpoint.Port"]}), "DB port"),
        Output("DbSecretArn", secret, "secret holding the DB master credentials"),
        Output("AppDbSecretArn", "!Ref AppDbSecret",
               "secret holding the app's own least-privilege DB login"),
        Output("DbName", yaml_scalar(cfg.rds.database_name), "database name"),
    )


def build(cfg: Environment, names: Names, facts: Facts) -> Built[RdsView]:
    rds = cfg.rds
    managed = rds.password == "managed"
    params = (
        Param("DbInstanceClass", description="DB instance class", value=rds.instance_class),
        Param("DbEngineVersion", description="PostgreSQL version", value=rds.engine_version),
    )
    view = RdsView(
        description=(f"Database: PostgreSQL {rds.engine_version}, its password in Secrets "
                     "Manager, reachable only from the app"),
        ingress=(Ingress("PostgreSQL from the app", rds.port, rds.port,
                         source_sg="!Ref AppSecurityGroupId"),),
        egress=tuple(NO_EGRESS),
        group_name=names.resource("db"),
        # The app's group lives in network; its rule to the DB lives here, beside the
        # DB's group it names (no cross-stack cycle).
        app_to_db=EgressRule("AppToDbEgress", "!Ref AppSecurityGroupId",
                             Egress("PostgreSQL to the database", rds.port, rds.port,
                                    dest_sg="!Ref DbSecurityGroup")),
        subnet_group_description=f"Subnets of {names.prefix} database",
        managed_password=managed,
        master_password=MASTER_PASSWORD,
        # A retained snapshot is useless without its password: keep the secret too.
        secret_policy="Delete" if rds.deletion_policy == "Delete" else "Retain",
        secret_skips=tuple(skips("CKV_AWS_149")),
        secret_description=f"Master credentials of the {names.prefix} database",
        secret_template=json.dumps({"username": rds.master_username}),
        app_secret_description=f"The app's least-privilege login to the {names.prefix} database",
        app_secret_template=json.dumps({"username": rds.app_username}),
        db_skips=tuple(skips("CKV_AWS_161", "CKV_AWS_118",
                             *(() if rds.multi_az else ("CKV_AWS_157",)))),
        deletion_policy=rds.deletion_policy,
        engine=rds.engine,
        allocated_storage_gib=rds.allocated_storage_gib,
        storage_type=rds.storage_type,
        storage_encrypted=rds.storage_encrypted,
        backup_retention_days=rds.backup_retention_days,
        multi_az=rds.multi_az,
        deletion_protection=rds.deletion_protection,
        publicly_accessible=rds.publicly_accessible,
        database_name=rds.database_name,
        port=rds.port,
        master_username=rds.master_username,
    )
    return Built(view, params, _outputs(cfg, managed))
