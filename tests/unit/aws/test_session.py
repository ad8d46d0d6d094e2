"""Issue 28: one botocore session per route, its clients made on first use and once, every
session sharing one loader (a service model is read once per run); and the deploy path
does not import boto3 (with s3transfer, a third of its start-up)."""

from __future__ import annotations

from botocore.config import Config
from botocore.loaders import Loader

from generator.aws.endpoint import RETRY_CONFIG, Session, local_route, session, shared_loader

URL = "http://127.0.0.1:1"  # never called: making a client makes no call


def test_a_client_is_made_on_first_use_and_kept() -> None:
    sess = session("us-east-1", local_route(URL))
    assert sess.services == []  # nothing made up front
    cfn = sess.client("cloudformation", config=RETRY_CONFIG)
    assert sess.client("cloudformation", config=RETRY_CONFIG) is cfn
    assert sess.services == ["cloudformation"]
    assert cfn.meta.endpoint_url == URL and cfn.meta.region_name == "us-east-1"


def test_every_session_reads_a_model_once() -> None:
    calls: list[str] = []
    loader = shared_loader()
    assert isinstance(loader, Loader)
    first = Session("us-east-1", URL, {"aws_access_key_id": "a", "aws_secret_access_key": "b"})
    second = Session("eu-west-1", URL, {"aws_access_key_id": "c", "aws_secret_access_key": "d"})
    assert first.core.get_component("data_loader") is loader
    assert second.core.get_component("data_loader") is loader
    first.client("ecs")
    files = loader.file_loader
    original = files.load_file

    def counting(name: str) -> object:
        calls.append(name)
        return original(name)

    files.load_file = counting
    try:
        second.client("ecs")  # another region, other credentials: the same loader
    finally:
        del files.load_file
    assert calls == []  # no file read again: ecs's model, endpoints, partitions


def test_a_client_made_with_a_config_that_is_gone_is_not_another_configs() -> None:
    """Clients were kept by the id() of their config: a config made for one call and
    freed could hand its client to the next config the process put at its address
    (one with other timeouts or retries)."""
    sess = session("us-east-1", local_route(URL))
    first = Config(connect_timeout=7)
    address = id(first)
    assert sess.client("sts", config=first).meta.config.connect_timeout == 7
    del first
    for _ in range(10_000):  # CPython puts a new object of one size at a freed address
        other = Config(connect_timeout=9)
        if id(other) == address:
            break
    assert sess.client("sts", config=other).meta.config.connect_timeout == 9
