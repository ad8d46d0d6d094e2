"""generator/local/compat: what is checked without an endpoint (the fixes that change an
API's answers are shown against bare moto's server in tests/local/test_compat.py)."""

from __future__ import annotations

import os

import moto
import pytest
from moto import backends as moto_backends
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


def test_moto_lists_its_modules_once(monkeypatch: pytest.MonkeyPatch) -> None:
    listed: list[str] = []
    real_listdir = os.listdir

    def listdir(path: str) -> list[str]:
        if path == os.path.dirname(moto.__file__):
            listed.append(path)
        return real_listdir(path)

    monkeypatch.setattr(os, "listdir", listdir)
    monkeypatch.setattr(moto_backends, "list_of_moto_modules", moto_backends.list_of_moto_modules)
    # Bare moto: every request's dispatch lists moto's directory again.
    bare = [list(moto_backends.list_of_moto_modules()) for _ in range(2)]
    assert len(listed) == 2
    compat.one_module_listing()
    compat.one_module_listing()  # idempotent
    for _ in range(3):
        assert list(moto_backends.list_of_moto_modules()) == bare[0]
    assert len(listed) == 3
    assert "cloudformation" in moto_backends.list_of_moto_modules()
