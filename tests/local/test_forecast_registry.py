"""The forecast's image registry check against a registry on loopback."""

from __future__ import annotations

from generator.forecast.model import Finding
from generator.params import load_env
from generator.render import render
from tests.conftest import ROOT

# --- image platforms from a registry (a stub on 127.0.0.1, never a public registry) --

class _Registry:
    """Registry HTTP API V2 on 127.0.0.1: a bearer-token challenge, then manifests."""

    def __init__(self, manifests: dict[str, dict[str, object]]) -> None:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: object, headers: dict[str, str] = {}) -> None:  # noqa: B006
                data = json.dumps(body).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.startswith("/token?"):
                    self._send(200, {"token": "t0k"})
                elif self.headers.get("Authorization") != "Bearer t0k":
                    realm = f"http://127.0.0.1:{outer.port}/token"
                    self._send(401, {}, {"WWW-Authenticate":
                                         f'Bearer realm="{realm}",service="stub",scope="pull"'})
                elif self.path in manifests:
                    self._send(200, manifests[self.path])
                else:
                    self._send(404, {"errors": [{"code": "MANIFEST_UNKNOWN"}]})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _image_findings(image: str, *overrides: str) -> list[Finding]:
    from generator.forecast.account import Account
    from generator.forecast.checks import ImagePlatform
    from generator.forecast.model import Subject

    def no_aws(service: str) -> object:
        raise AssertionError(f"no AWS call expected, asked for {service}")

    rendered = render(load_env(ROOT / "params", "local", (f"ecs.container.image={image}",
                                                          *overrides)), ROOT / "templates")
    return ImagePlatform().run(Subject(rendered, {"registries": True}), Account(no_aws, "1"))


def test_registry_platforms_through_a_token_challenge() -> None:
    index = {"mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"digest": "sha256:" + "a" * 64, "platform": {"architecture": "amd64", "os": "linux"}}]}
    stub = _Registry({"/v2/team/app/manifests/v1": index,
                      "/v2/team/single/manifests/v1": {"config": {"digest": "sha256:x"}}})
    host = f"127.0.0.1:{stub.port}"
    try:
        assert _image_findings(f"{host}/team/app:v1") == []
        [wrong] = _image_findings(f"{host}/team/app:v1", "ecs.cpu_architecture=ARM64",
                                   "ecs.container.image_architecture=null")
        assert wrong.severity == "error" and "has platforms amd64, none arm64" in wrong.message
        [missing] = _image_findings(f"{host}/team/app:v2")
        assert missing.severity == "error" and "is not in its registry" in missing.message
        [single] = _image_findings(f"{host}/team/single:v1")
        assert single.severity == "info" and "single-platform manifest" in single.message
    finally:
        stub.close()
    [unreachable] = _image_findings(f"{host}/team/app:v1")
    assert unreachable.severity == "warning" and "could not be reached" in unreachable.message

