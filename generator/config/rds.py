"""The rds stack's params: PostgreSQL on RDS, its logins and what a delete keeps."""


from typing import Annotated, Literal

from msgspec import Meta

from generator.config.base import Port, Strict, doc


class Rds(Strict):
    """PostgreSQL on RDS; its password lives in Secrets Manager, never in params."""

    instance_class: Annotated[str, Meta(pattern=r"^db\."), doc("DB instance class")] = "db.t3.micro"
    engine: Annotated[Literal["postgres"], doc("database engine")] = "postgres"
    engine_version: Annotated[
        # 15+: the default parameter group then refuses plaintext (rds.force_ssl=1).
        str, Meta(pattern=r"^(1[5-9]|[2-9]\d)(\.\d+)*$"),
        doc("major version: RDS picks the default minor and AutoMinorVersionUpgrade keeps it current"),
    ] = "16"
    allocated_storage_gib: Annotated[int, Meta(ge=20, le=65536), doc("storage size")] = 20
    storage_type: Annotated[Literal["gp2", "gp3", "io1", "io2"], doc("storage type")] = "gp3"
    storage_encrypted: Annotated[bool, doc("encrypt storage at rest (create-only)")] = True
    backup_retention_days: Annotated[int, Meta(ge=0, le=35), doc("days automated backups are kept")] = 7
    multi_az: Annotated[bool, doc("a standby in a second AZ")] = False
    deletion_protection: Annotated[bool, doc("refuse deleting the DB")] = False
    database_name: Annotated[
        str, Meta(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,62}$"), doc("database created at launch (create-only)")
    ] = "kubenews"
    master_username: Annotated[
        str,
        Meta(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,15}$"),
        doc("master user (create-only); its password is never in params"),
    ] = "kubenews"
    app_username: Annotated[
        str,
        Meta(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,62}$"),
        doc("the app's own least-privilege login (its own secret); the master login is for "
            "administration and migrations only"),
    ] = "kubenews_app"
    bootstrap_image: Annotated[
        str, doc("image with psql that creates the app's login with the master secret (init container)")
    ] = "public.ecr.aws/docker/library/postgres:16-alpine"
    ca_bundle_url: Annotated[
        str, Meta(pattern=r"^https?://[^\s'\"$`\\]+$"),
        doc("RDS's CA bundle, fetched by the init container to verify the DB (verify-full); "
            "RDS user guide, \"Certificate bundles for all AWS Regions\""),
    ] = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
    # `secret` by default: RDS rotates a managed password every 7 days and ECS injects
    # secrets only when a task starts, so running tasks would fail to open connections
    # after each rotation (see docs/deploy.md, "Rotating the DB password").
    password: Annotated[
        Literal["managed", "secret"],
        doc("`secret`: a generated secret, rotated only by you (runbook in docs/deploy.md); "
            "`managed`: RDS rotates it every 7 days and running tasks keep the old one"),
    ] = "secret"

    port: Annotated[Port, doc("DB port; the app's security group reaches only this")] = 5432
    publicly_accessible: Annotated[bool, doc("a public endpoint (keep false)")] = False
    deletion_policy: Annotated[
        Literal["Snapshot", "Retain", "Delete"], doc("what deleting or replacing the DB keeps")
    ] = "Snapshot"
