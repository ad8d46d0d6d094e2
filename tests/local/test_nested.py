"""The nested form on the local endpoint: unchanged child templates are not uploaded again."""

from __future__ import annotations

from typing import Any

from generator.deploy.artifacts import Artifacts


def test_unchanged_child_templates_are_not_uploaded_again(aws: Any) -> None:
    store = Artifacts(aws.s3, "artifacts-test", "us-east-1", "123456789012")
    assert store.ensure_bucket() and not store.ensure_bucket()
    assert store.upload("env/alb/abc.yaml", "a: 1\n")
    assert not store.upload("env/alb/abc.yaml", "a: 1\n")
    assert store.upload("env/alb/def.yaml", "a: 2\n")
    assert store.uploaded == ["env/alb/abc.yaml", "env/alb/def.yaml"]
    assert store.purge("env/") == 2
    assert store.purge("env/") == 0

