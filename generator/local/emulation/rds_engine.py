"""moto's RDS instances of engine postgres get a real server (``rds_postgres``), and the
instance's lifecycle follows AWS where moto's CloudFormation does not:

- ``Endpoint.Address``/``Port`` (DescribeDBInstances, GetAtt, and so the rds stack's
  outputs) name the running server: 127.0.0.1 and a free loopback port, or with containers
  on the gateway address of the endpoint's Docker network, which the tasks' containers and
  this machine both reach (``rds_postgres.endpoint_address``);
- the master password is the one the template gives, a ``{{resolve:secretsmanager:…}}``
  reference resolved from the local Secrets Manager (CloudFormation user guide, "Get a
  secret or secret value from Secrets Manager": dynamic references are resolved at create);
  moto passes the reference text through unresolved;
- ``ManageMasterUserPassword``: the secret RDS makes holds the master username and a random
  password (RDS user guide, "Password management with Amazon RDS and AWS Secrets
  Manager"); moto wrote ``admin``/``P@55w0rd!`` whatever the template said;
- ``DeletionProtection: true`` in a template protects the DB: DeleteDBInstance is refused
  with InvalidParameterCombination (RDS API reference, DeleteDBInstance: "You can't
  delete a DB instance when deletion protection is enabled"; RDS user guide, "Deletion
  protection"), and so the stack's delete fails; moto's CloudFormation dropped the property;
- ``DeletionPolicy: Snapshot`` keeps a final snapshot when the stack deletes the DB
  (CloudFormation user guide, "DeletionPolicy attribute", Snapshot), and
  ``DBSnapshotIdentifier`` creates a DB from a snapshot with its data (AWS::RDS::DBInstance,
  DBSnapshotIdentifier); moto deleted without a snapshot and ignored the property.
"""

from __future__ import annotations

import atexit
import json
import re
import secrets
import tempfile
import threading
from pathlib import Path
from typing import Any

from moto.cloudformation import parsing
from moto.rds import models as rds_models

from generator.local.emulation import rds_postgres
from generator.local.emulation.rds_ca import Authority
from generator.local.emulation.rds_postgres import Server, endpoint_address

ENGINES = frozenset({"postgres"})
_DYNAMIC = re.compile(r"^\{\{resolve:secretsmanager:(?P<id>.+?)(?::SecretString:(?P<key>[^:}]*))?"
                      r"(?::[^:}]*){0,2}\}\}$")

STATE: dict[str, Path] = {}


def configure(state_dir: Path) -> None:
    """Where this endpoint keeps its DBs' data (``<state dir>/rds``)."""
    STATE["root"] = state_dir / "rds"


def root() -> Path:
    if "root" not in STATE:  # in-process use (tests of the fixes): a fresh temp dir
        STATE["root"] = Path(tempfile.mkdtemp(prefix="stackgen-rds-"))
    return STATE["root"]


def authority() -> Authority:
    return Authority(root() / "ca").ensure()


def ca_bundle_path() -> Path:
    """The CA bundle every local DB's certificate chains to (RDS's global-bundle.pem)."""
    return authority().bundle


def _server(db: Any) -> Server:
    return Server(root() / "instances" / db.account_id / db.region / db.db_instance_identifier,
                  Authority(root() / "ca"))


def _snapshot_dir(account_id: str, region: str, snapshot_id: str) -> Path:
    return root() / "snapshots" / account_id / region / snapshot_id


def servers() -> list[Server]:
    """Every DB instance's server this endpoint holds (its backends' instances)."""
    found = []
    for _account_id, regions in rds_models.rds_backends.items():
        for backend in regions.values():
            for db in list(getattr(backend, "databases", {}).values()):
                if getattr(db, "local_engine", False):
                    found.append(_server(db))
    return found


def resolve_secret(value: Any, account_id: str, region: str) -> Any:
    """A ``{{resolve:secretsmanager:…}}`` reference's value; anything else as it is."""
    from moto.secretsmanager.models import secretsmanager_backends

    match = _DYNAMIC.match(value) if isinstance(value, str) else None
    if match is None:
        return value
    secret = secretsmanager_backends[account_id][region].get_secret_value(
        match["id"], None, None)  # type: ignore[arg-type]
    text = secret.get("SecretString") or ""
    return json.loads(text)[match["key"]] if match["key"] else text


def _master_password(db: Any) -> str:
    secret = getattr(db, "master_user_secret", None)
    if getattr(db, "manage_master_user_password", False) and secret is not None:
        return str(json.loads(secret.secret.secret_string)["password"])
    # moto keeps it but its property refuses to read it ("not retrievable", as the API).
    return str(resolve_secret(db._master_user_password, db.account_id, db.region))


def provision(db: Any, snapshot_id: str | None = None) -> None:
    """Start the instance's PostgreSQL (new, or from a snapshot) and point its endpoint
    at it."""
    if str(db.engine) not in ENGINES:
        return
    server = _server(db)
    if snapshot_id:
        server.restore_from(_snapshot_dir(db.account_id, db.region, snapshot_id))
    else:
        server.create(str(db.master_username), _master_password(db), db.db_name)
    db.local_engine = True
    db.port = server.port


def resume(db: Any) -> None:
    """After the endpoint's restart: the instance's server again, on its port if free."""
    if getattr(db, "local_engine", False):
        db.port = _server(db).start()


def release(db: Any, final_snapshot: str | None) -> None:
    if not getattr(db, "local_engine", False):
        return
    server = _server(db)
    if final_snapshot:
        server.snapshot_to(_snapshot_dir(db.account_id, db.region, final_snapshot))
    server.destroy()


def stop_all() -> None:
    for server in servers():
        server.stop()


# --- the patches -----------------------------------------------------------------------


def _managed_secret_holds_the_master() -> None:
    def secret_string(self: Any) -> str:
        return json.dumps({"username": self.resource.master_username,
                           "password": secrets.token_urlsafe(24)})

    rds_models.MasterUserSecret._generate_secret_string = secret_string  # type: ignore[method-assign]


def _cloudformation_lifecycle() -> None:
    db_class = rds_models.DBInstance
    create = db_class.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str, **kwargs: Any) -> Any:
        props = cloudformation_json["Properties"]
        snapshot_id = props.get("DBSnapshotIdentifier")
        if snapshot_id:
            backend = rds_models.rds_backends[account_id][region_name]
            snapshot = backend.describe_db_snapshots(None, snapshot_id)[0]
            # From a snapshot the master login is the snapshot's (AWS::RDS::DBInstance,
            # MasterUsername: not with DBSnapshotIdentifier).
            props = {**props, "MasterUsername": snapshot.database.master_username,
                     "DBName": snapshot.database.db_name}
            cloudformation_json = {**cloudformation_json, "Properties": props}
        db = create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        db.deletion_protection = str(props.get("DeletionProtection")).lower() == "true"
        try:
            provision(db, snapshot_id)
        except Exception:
            db.deletion_protection = False
            db.delete(account_id, region_name)
            raise
        return db

    db_class.create_from_cloudformation_json = classmethod(  # type: ignore[assignment]
        create_from_cloudformation_json)  # type: ignore[arg-type]

    update = db_class.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def update_from_cloudformation_json(cls: Any, original_resource: Any, new_resource_name: str,
                                        cloudformation_json: Any, account_id: str,
                                        region_name: str) -> Any:
        db = update(cls, original_resource, new_resource_name, cloudformation_json, account_id,
                    region_name)
        props = cloudformation_json["Properties"]
        db.deletion_protection = str(props.get("DeletionProtection")).lower() == "true"
        if db is not original_resource and not getattr(db, "local_engine", False):
            provision(db)  # a replacement is a new instance, with a new server
        return db

    db_class.update_from_cloudformation_json = classmethod(  # type: ignore[assignment]
        update_from_cloudformation_json)

    def delete(self: Any, account_id: str, region_name: str) -> None:
        backend = rds_models.rds_backends[account_id][region_name]
        final = getattr(self, "final_snapshot_on_delete", None)
        backend.delete_db_instance(self.db_instance_identifier, final_db_snapshot_identifier=final,
                                   skip_final_snapshot=final is None)

    db_class.delete = delete  # type: ignore[method-assign]

    delete_resource = parsing.ResourceMap._delete_resource

    def _delete_resource(self: Any, parsed_resource: Any, resource_json: dict[str, Any]) -> None:
        if (isinstance(parsed_resource, db_class)
                and resource_json.get("DeletionPolicy") == "Snapshot"):
            parsed_resource.final_snapshot_on_delete = (  # type: ignore[attr-defined]
                f"{parsed_resource.db_instance_identifier}-final-snapshot-"
                f"{secrets.token_hex(6)}").lower()
        delete_resource(self, parsed_resource, resource_json)

    parsing.ResourceMap._delete_resource = _delete_resource  # type: ignore[method-assign]


def _backend_lifecycle() -> None:
    backend_class = rds_models.RDSBackend
    delete_db_instance = backend_class.delete_db_instance

    def delete(self: Any, db_instance_identifier: str,
               final_db_snapshot_identifier: str | None = None,
               skip_final_snapshot: bool | None = False,
               delete_automated_backups: bool | None = True) -> Any:
        db = delete_db_instance(self, db_instance_identifier, final_db_snapshot_identifier,
                                skip_final_snapshot, delete_automated_backups)
        release(db, None if skip_final_snapshot else final_db_snapshot_identifier)
        return db

    backend_class.delete_db_instance = delete  # type: ignore[method-assign]

    reset = backend_class.reset

    def reset_backend(self: Any) -> None:
        for db in list(getattr(self, "databases", {}).values()):
            if getattr(db, "local_engine", False):
                _server(db).destroy()
        reset(self)

    backend_class.reset = reset_backend  # type: ignore[method-assign]


def _warm_up_on_the_first_stack() -> None:
    """initdb takes seconds: the first stack operation starts making the cluster template
    in the background, so that the rds stack, later in the graph, finds it ready."""
    from moto.cloudformation import models as cfn_models

    started = threading.Event()
    backend = cfn_models.CloudFormationBackend

    def warm() -> None:
        if not started.is_set():
            started.set()
            threading.Thread(target=rds_postgres.prepare_template, args=(root(),),
                             name="rds-template", daemon=True).start()

    for name in ("create_change_set", "create_stack"):
        original = getattr(backend, name)

        def wrapper(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            warm()
            return __original(self, *args, **kwargs)

        setattr(backend, name, wrapper)


def _address_is_the_server() -> None:
    address = rds_models.DBInstance.address

    def local_address(self: Any) -> str:
        return endpoint_address() if getattr(self, "local_engine", False) else str(address.fget(self))  # type: ignore[attr-defined]

    rds_models.DBInstance.address = property(local_address)  # type: ignore[assignment,method-assign]


def apply() -> None:
    _managed_secret_holds_the_master()
    _cloudformation_lifecycle()
    _backend_lifecycle()
    _address_is_the_server()
    _warm_up_on_the_first_stack()
    atexit.register(stop_all)


def with_ca_bundle(app: Any) -> Any:
    """``app`` plus CA_BUNDLE_PATH: the CA bundle, as RDS publishes its own for download."""
    from generator.local.emulation.rds_postgres import CA_BUNDLE_PATH

    def wrapped(environ: Any, start_response: Any) -> Any:
        if environ.get("PATH_INFO") != CA_BUNDLE_PATH:
            return app(environ, start_response)
        body = ca_bundle_path().read_bytes()
        start_response("200 OK", [("Content-Type", "application/x-pem-file"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    return wrapped


def resume_all() -> tuple[int, list[str]]:
    """After a restore: every DB instance's server started again; how many, and why
    each that could not start did not."""
    started, failed = 0, []
    for regions in list(rds_models.rds_backends.values()):
        for backend in list(regions.values()):
            for db in list(getattr(backend, "databases", {}).values()):
                if getattr(db, "local_engine", False):
                    try:
                        resume(db)
                        started += 1
                    except rds_postgres.PostgresFailed as exc:
                        failed.append(f"{db.db_instance_identifier}: {exc}")
    return started, failed


# The CA bundle for the tasks' containers. RDS's bundle is at a public URL every task
# reaches (RDS user guide, "Certificate bundles for all AWS Regions"); here the endpoint's
# bundle is served on the gateway address of its Docker network, at a fixed port (each
# endpoint's gateway is its own address, so one port serves them all) and under a name the
# containers resolve to that gateway (containers.CA_BUNDLE_HOST, an ``--add-host``), so the
# env's params need neither the gateway address nor the endpoint's port. Nothing else of
# the endpoint (its AWS API) is served on that address.
CA_BUNDLE_PORT = 4599


def serve_ca_bundle(host: str, port: int = CA_BUNDLE_PORT) -> Any:
    """A server of CA_BUNDLE_PATH alone on ``host``:``port``, in a daemon thread."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from generator.local.emulation.rds_postgres import CA_BUNDLE_PATH

    class Bundle(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != CA_BUNDLE_PATH:
                self.send_error(404)
                return
            body = ca_bundle_path().read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-pem-file")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer((host, port), Bundle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="rds-ca-bundle", daemon=True).start()
    return server
