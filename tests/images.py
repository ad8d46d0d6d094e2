"""Images for tests that run containers, built offline: no registry is reachable here.

Each is ``FROM scratch`` plus binaries of this machine and the libraries ``ldd`` lists for
them (busybox-static needs none): small, built in a second or two, cached by tag.

- APP: a stand-in for the kube-news image honouring its contract: HTTP on its container
  port (8080), the DB settings from DB_* variables, and with DB_SSL_REQUIRE=true a TLS
  handshake with the DB (``openssl s_client -starttls postgres``) before it serves, exiting 1
  when that fails, as the app fails without its DB. One log line on start. STANDIN_EXIT=<n>
  makes it exit n after the log line (the "exits 7" revision: APP_EXITS_7).
- PSQL: psql and a shell, for the db-bootstrap init container.
- APP_ARM64: APP relabelled linux/arm64 (its binaries stay x86): the architecture check.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

APP = "stackgen-test/kube-news-standin:1"
APP_EXITS_7 = "stackgen-test/kube-news-standin:exits-7"
APP_ARM64 = "stackgen-test/kube-news-standin:arm64"
PSQL = "stackgen-test/psql:1"
BUSYBOX = "/usr/bin/busybox"
PAGE = "<html><head><title>KubeNews</title></head><body><h1>KubeNews</h1></body></html>"
START_LINE = "kube-news stand-in: listening on port"

APP_SCRIPT = f"""#!/bin/sh
db="${{DB_HOST:-none}}:${{DB_PORT:-5432}}/${{DB_DATABASE:-}}"
echo "{START_LINE} ${{PORT:-8080}} (db $db, ssl ${{DB_SSL_REQUIRE:-false}})"
if [ -n "$STANDIN_EXIT" ]; then echo "exiting with code $STANDIN_EXIT"; exit "$STANDIN_EXIT"; fi
if [ "$DB_SSL_REQUIRE" = "true" ]; then
  if ! echo | openssl s_client -starttls postgres -brief \\
      -connect "$DB_HOST:$DB_PORT" >/dev/null 2>&1; then
    echo "cannot open a TLS connection to the database at $DB_HOST:$DB_PORT"; exit 1
  fi
  echo "database TLS handshake ok"
fi
mkdir -p /tmp/www && echo '{PAGE}' > /tmp/www/index.html
exec httpd -f -p "${{PORT:-8080}}" -h /tmp/www
"""


def _libraries(binary: str) -> list[str]:
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=False).stdout
    found = re.findall(r"(/\S+)\s+\(0x", out)
    return sorted(set(found))


def _exists(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True,
                          check=False).returncode == 0


def _build(tag: str, files: dict[str, str], scripts: dict[str, str], dockerfile_tail: str) -> str:
    """An image of ``files`` (path in image -> path here) and ``scripts`` (path -> text)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        for inside, outside in files.items():
            dest = root / inside.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(Path(outside).resolve(), dest)
        for inside, text in scripts.items():
            dest = root / inside.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(text)
            dest.chmod(0o755)
        (root / "tmp").mkdir(exist_ok=True)
        (root / "tmp").chmod(0o1777)  # as in any distro image (Docker copies it up into a tmpfs)
        (Path(tmp) / "Dockerfile").write_text(
            "FROM scratch\nCOPY root/ /\n"
            'RUN ["/bin/busybox", "--install", "-s", "/bin"]\n' + dockerfile_tail)
        subprocess.run(["docker", "build", "-q", "-t", tag, tmp], capture_output=True,
                       text=True, check=True)
    return tag


def _real_binary(binary: str) -> str:
    """The ELF binary behind ``binary`` (Debian's psql is a Perl wrapper: the real one is
    under /usr/lib/postgresql/<version>/bin)."""
    path = shutil.which(binary)
    if path is not None and Path(path).read_bytes()[:4] == b"\x7fELF":
        return path
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{binary}"),
                        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    if candidates:
        return str(candidates[-1])
    raise RuntimeError(f"{binary} is not installed here; the test image needs it")


def _with_libs(*binaries: str) -> dict[str, str]:
    files = {"/bin/busybox": BUSYBOX}
    for binary in binaries:
        path = _real_binary(binary)
        files[f"/usr/bin/{binary}"] = path
        for lib in _libraries(path):
            files[lib] = lib
    return files


def app(tag: str = APP, exit_code: int | None = None) -> str:
    if _exists(tag):
        return tag
    env = f"ENV STANDIN_EXIT={exit_code}\n" if exit_code is not None else ""
    return _build(tag, _with_libs("openssl"), {"/app/start.sh": APP_SCRIPT},
                  f'{env}EXPOSE 8080\nCMD ["/app/start.sh"]\n')


def app_exits_7() -> str:
    return app(APP_EXITS_7, exit_code=7)


def psql() -> str:
    if _exists(PSQL):
        return PSQL
    return _build(PSQL, _with_libs("psql"), {}, 'CMD ["psql", "--version"]\n')


def app_arm64() -> str:
    """APP with its config saying linux/arm64 (docker save, edit, docker load)."""
    if _exists(APP_ARM64):
        return APP_ARM64
    app()
    with tempfile.TemporaryDirectory() as tmp:
        saved = Path(tmp) / "saved.tar"
        subprocess.run(["docker", "save", "-o", str(saved), APP], check=True)
        out = Path(tmp) / "out"
        with tarfile.open(saved) as tar:
            tar.extractall(out, filter="tar")
        manifest = json.loads((out / "manifest.json").read_text())
        config = out / manifest[0]["Config"]
        data = json.loads(config.read_text())
        data["architecture"] = "arm64"
        import hashlib

        body = json.dumps(data).encode()
        digest = hashlib.sha256(body).hexdigest()
        new_config = out / f"{digest}.json"
        new_config.write_bytes(body)
        manifest[0]["Config"] = new_config.name
        manifest[0]["RepoTags"] = [APP_ARM64]
        (out / "manifest.json").write_text(json.dumps(manifest))
        (out / "repositories").unlink(missing_ok=True)
        rebuilt = Path(tmp) / "arm64.tar"
        with tarfile.open(rebuilt, "w") as tar:
            for item in sorted(out.iterdir()):
                tar.add(item, arcname=item.name)
        subprocess.run(["docker", "load", "-i", str(rebuilt)], capture_output=True, check=True)
    return APP_ARM64


PSQL_STANDIN = "stackgen-test/psql-standin:1"
PSQL_STANDIN_SCRIPT = """#!/bin/sh
# Stands in for psql until the endpoint's DB is a real PostgreSQL: reads the SQL, says so.
sql=$(cat)
echo "psql stand-in: ${#sql} bytes of SQL for ${PGUSER:-?}@${PGHOST:-?}:${PGPORT:-?}/${PGDATABASE:-?}"
"""


def psql_standin() -> str:
    """A bootstrap image whose psql succeeds without a DB: for tests of the container
    runtime that must not depend on the DB (PSQL is the real one)."""
    if _exists(PSQL_STANDIN):
        return PSQL_STANDIN
    return _build(PSQL_STANDIN, {"/bin/busybox": BUSYBOX}, {"/usr/bin/psql": PSQL_STANDIN_SCRIPT},
                  'CMD ["psql"]\n')
