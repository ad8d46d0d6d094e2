"""generator/local/compat: what is checked without an endpoint (the fixes that change an
API's answers are shown against bare moto's server in tests/local/test_compat.py)."""

from __future__ import annotations

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
