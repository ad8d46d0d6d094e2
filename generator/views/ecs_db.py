"""How every workload reaches the database: its environment, its secrets (the app's own
login or the master one), and the init container that creates the app's login before the
app starts."""

from __future__ import annotations

from generator.config import Environment, SecretRef, Task, Workload
from generator.views.common import yaml_scalar
from generator.views.ecs_types import EnvVar, InitContainer, SecretVar

# The DB logins: the app's own (least privilege) and the master (administration,
# migrations, and creating the app's login), each in a secret of its own.
LOGIN_SECRET = {"app": "AppDbSecretArn", "master": "DbSecretArn"}

# Creates (or updates) the app's login with the master login, before the app starts:
# an init container of the service's task, idempotent, serialised by an advisory lock
# (tasks start side by side). The app may use and create tables in schema public (it
# may create its own tables at start) but cannot create roles or databases.
# RDS's master login is no superuser (a member of rds_superuser, RDS user guide,
# "Understanding PostgreSQL roles and permissions"), and PostgreSQL refuses any mention
# of the SUPERUSER attribute from a non-superuser ("must be superuser to alter superuser
# roles or change superuser attribute"): a role the master creates is never a superuser,
# so the SQL does not name the attribute. psql 15+ (\getenv) keeps names off the
# command line; the password is never in the SQL at all (DB_BOOTSTRAP_PASSWORD).
DB_BOOTSTRAP_SQL = r"""\set ON_ERROR_STOP on
\getenv app_user APP_DB_USERNAME
SELECT pg_advisory_lock(1313);
SELECT format('CREATE ROLE %I LOGIN', :'app_user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN NOCREATEDB NOCREATEROLE', :'app_user') \gexec
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', current_database(), :'app_user') \gexec
SELECT format('GRANT USAGE, CREATE ON SCHEMA public TO %I', :'app_user') \gexec
SELECT format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %I', :'app_user') \gexec
SELECT format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %I', :'app_user') \gexec
SELECT format('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I', :'app_user') \gexec
SELECT format('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO %I', :'app_user') \gexec
SELECT pg_advisory_unlock(1313);
"""  # noqa: E501
# The app's password is set by psql's \password: libpq hashes it (SCRAM-SHA-256, the
# server's password_encryption) and sends only the verifier, so no plaintext password is
# in any statement the server receives or logs. With no terminal (a container) psql reads
# the new password, twice, from standard input.
DB_BOOTSTRAP_PASSWORD = r'\password :"app_user"'
# verify-full: the server's certificate must chain to RDS's CA bundle and name the host
# (RDS user guide, "Using SSL/TLS with a PostgreSQL DB instance"; libpq's sslmode table:
# `require` encrypts but verifies nothing). The bundle is fetched at start (busybox wget,
# as in the postgres alpine images) into the writable scratch path.
DB_CA_FILE = "${TMPDIR:-/tmp}/rds-ca.pem"
DB_BOOTSTRAP_SCRIPT = (
    "set -eu; "
    f'wget -q -O "{DB_CA_FILE}" "$RDS_CA_BUNDLE_URL"; '
    f'export PGSSLROOTCERT="{DB_CA_FILE}"; '
    "printf '%s' \"$BOOTSTRAP_SQL\" | psql --no-psqlrc --quiet; "
    "printf '%s\\n%s\\n' \"$APP_DB_PASSWORD\" \"$APP_DB_PASSWORD\" | "
    "psql --no-psqlrc --quiet -v app_user=\"$APP_DB_USERNAME\" -c "
    f"'{DB_BOOTSTRAP_PASSWORD}'"
)
DB_BOOTSTRAP_CONTAINER = "db-bootstrap"


def secret_value_from(ref: SecretRef, login: str = "app") -> str:
    if ref.db_password:
        return f'!Sub "${{{LOGIN_SECRET[login]}}}:password::"'
    return yaml_scalar(ref.secretsmanager_arn or ref.ssm_parameter_arn)


def db_env(cfg: Environment) -> dict[str, str]:
    """How the app reaches the DB; the service and (unless they opt out) every other
    workload get the same. kube-news opens TLS only with DB_SSL_REQUIRE=true
    (src/models/post.js); PostgreSQL 15+ on RDS refuses plaintext (rds.force_ssl=1)."""
    return {
        "DB_DATABASE": yaml_scalar(cfg.rds.database_name),
        "DB_HOST": "!Ref DbEndpoint",
        "DB_PORT": "!Ref DbPort",
        "DB_SSL_REQUIRE": yaml_scalar("true"),
    }


def workload_secrets(w: Task | Workload) -> dict[str, SecretRef]:
    """A workload's own secrets, on top of the DB password it shares with the service."""
    base = {"DB_PASSWORD": SecretRef(db_password=True)} if w.database else {}
    return {**base, **w.secrets}


def secrets_list(secrets: dict[str, SecretRef], login: str = "app",
                  database: bool = True) -> tuple[SecretVar, ...]:
    """Container secrets; with the DB, DB_USERNAME comes from the login's secret too
    (the app's own login, or the master one for a `db_login: master` workload)."""
    items = {k: secret_value_from(v, login) for k, v in secrets.items()}
    if database:
        items.setdefault("DB_USERNAME", f'!Sub "${{{LOGIN_SECRET[login]}}}:username::"')
    return tuple(SecretVar(k, items[k]) for k in sorted(items))


def db_bootstrap(cfg: Environment) -> InitContainer:
    master, app = LOGIN_SECRET["master"], LOGIN_SECRET["app"]
    return InitContainer(
        name=DB_BOOTSTRAP_CONTAINER,
        image=yaml_scalar(cfg.rds.bootstrap_image),
        command=("sh", "-c", DB_BOOTSTRAP_SCRIPT),
        environment=(
            EnvVar("BOOTSTRAP_SQL", yaml_scalar(DB_BOOTSTRAP_SQL)),
            EnvVar("PGDATABASE", yaml_scalar(cfg.rds.database_name)),
            EnvVar("PGHOST", "!Ref DbEndpoint"),
            EnvVar("PGPORT", "!Ref DbPort"),
            # TLS, as the app: the DB refuses plaintext (rds.force_ssl), and the server
            # is verified against RDS's CA bundle.
            EnvVar("PGSSLMODE", yaml_scalar("verify-full")),
            EnvVar("RDS_CA_BUNDLE_URL", yaml_scalar(cfg.rds.ca_bundle_url)),
        ),
        secrets=(
            SecretVar("APP_DB_PASSWORD", f'!Sub "${{{app}}}:password::"'),
            SecretVar("APP_DB_USERNAME", f'!Sub "${{{app}}}:username::"'),
            SecretVar("PGPASSWORD", f'!Sub "${{{master}}}:password::"'),
            SecretVar("PGUSER", f'!Sub "${{{master}}}:username::"'),
        ),
    )
