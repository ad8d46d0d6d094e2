"""The platforms of an image, asked of its registry with the Registry HTTP API V2
(the OCI distribution spec): GET /v2/<repo>/manifests/<ref>, with an anonymous bearer
token when the registry asks for one (Docker Hub does).

Used only behind `forecast --registries`: the default forecast contacts no registry
but ECR (through the AWS API) and says so.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request

import msgspec

ACCEPT = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])
DOCKER_HUB = "registry-1.docker.io"


class RegistryError(Exception):
    """The registry could not be asked (network, auth, a server error)."""


class ImageNotFound(Exception):
    """The registry answered: no such repository or tag."""


class ImageRef(msgspec.Struct, frozen=True):
    host: str
    repository: str
    reference: str  # tag or digest

    @property
    def base_url(self) -> str:
        # A registry on the loopback interface speaks plain HTTP (Docker's own default).
        local = self.host.split(":")[0] in ("127.0.0.1", "localhost")
        return f"{'http' if local else 'https'}://{self.host}"


def parse(image: str) -> ImageRef:
    name, _, digest = image.partition("@")
    first = name.split("/", 1)[0]
    if "/" in name and ("." in first or ":" in first or first == "localhost"):
        host, path = name.split("/", 1)
    else:
        host, path = "docker.io", name
    tag = ""
    if ":" in path.rsplit("/", 1)[-1]:
        path, tag = path.rsplit(":", 1)
    if host == "docker.io":
        host = DOCKER_HUB
        if "/" not in path:
            path = f"library/{path}"
    return ImageRef(host, path, digest or tag or "latest")


def _get(url: str, headers: dict[str, str], timeout: float) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()
    except (urllib.error.URLError, OSError) as exc:
        raise RegistryError(f"{url}: {getattr(exc, 'reason', exc)}") from None


_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


def _token(challenge: str, timeout: float) -> str:
    params = dict(_CHALLENGE.findall(challenge))
    realm = params.pop("realm", "")
    if not challenge.lower().startswith("bearer") or not realm:
        raise RegistryError(f"registry wants credentials ({challenge.split(' ')[0]})")
    status, _, body = _get(f"{realm}?{urllib.parse.urlencode(params)}", {}, timeout)
    if status != 200:
        raise RegistryError(f"token endpoint answered HTTP {status}")
    doc = json.loads(body)
    return str(doc.get("token") or doc.get("access_token") or "")


def platforms(image: str, timeout: float = 5.0) -> list[str] | None:
    """Architectures the image is published for; None for a single-platform manifest
    (its architecture is in the config blob, which is not fetched)."""
    ref = parse(image)
    url = f"{ref.base_url}/v2/{ref.repository}/manifests/{ref.reference}"
    headers = {"Accept": ACCEPT}
    status, answer_headers, body = _get(url, headers, timeout)
    if status == 401:
        challenge = {k.lower(): v for k, v in answer_headers.items()}.get("www-authenticate", "")
        headers["Authorization"] = f"Bearer {_token(challenge, timeout)}"
        status, _, body = _get(url, headers, timeout)
    if status == 404:
        raise ImageNotFound(f"{ref.host}/{ref.repository}:{ref.reference}")
    if status != 200:
        raise RegistryError(f"{url}: HTTP {status}")
    manifest = json.loads(body or b"{}")
    if "manifests" not in manifest:
        return None
    return sorted({str((m.get("platform") or {}).get("architecture"))
                   for m in manifest["manifests"]})
