"""generator/local/compat: what is checked without an endpoint (the fixes that change an
API's answers are shown against bare moto's server in tests/local/test_compat.py)."""

from __future__ import annotations

from typing import Any

import pytest
from moto.core import loaders as moto_loaders
from moto.core import utils as moto_utils

from generator.local import compat


def test_moto_loads_its_service_models_through_one_loader() -> None:
    # Bare moto: a new Loader (each listing every service's directory) per model loaded.
    assert moto_loaders.create_loader() is not moto_loaders.create_loader()
    compat.one_model_loader()
    compat.one_model_loader()  # idempotent: the endpoint applies it once, tests may again
    shared = vars(moto_utils)["create_loader"]
    assert shared() is shared()
    loaded = shared().load_service_model("sts", "service-2")
    assert loaded["metadata"]["serviceId"] == "STS"


def test_the_servers_dispatcher_finds_a_hosts_backend_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Bare moto: every request lists moto's package directories under the dispatcher's
    # lock (1-3 ms each, issue 28).
    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    monkeypatch.setattr(DomainDispatcherApplication, "get_backend_for_host",
                        DomainDispatcherApplication.get_backend_for_host)  # put back after
    listed: list[int] = []
    original = backends.list_of_moto_modules

    def counted() -> Any:
        listed.append(1)
        return original()

    monkeypatch.setattr(backends, "list_of_moto_modules", counted)
    compat.backends_found_once()
    compat.backends_found_once()  # idempotent
    app = DomainDispatcherApplication(lambda service: None)  # type: ignore[arg-type,return-value]
    host = "cloudformation.us-east-1.amazonaws.com"
    found = [app.get_backend_for_host(host) for _ in range(3)]
    assert found == ["cloudformation"] * 3
    assert app.get_backend_for_host("s3") == "s3"  # a module's name: itself
    assert len(listed) == 2  # once per host
