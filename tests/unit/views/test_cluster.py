"""The cluster stack's view and template (generator/views/cluster.py)."""

from __future__ import annotations

from generator.yamlsrc import load_cfn
from tests.helpers.rendered import _render, _resources


def test_the_repository_is_immutable_scanned_encrypted_and_kept() -> None:
    assert "Repository" not in _resources(_render("prod"), "cluster")
    r = _render("prod", "ecs.repository.create=true")
    repo = _resources(r, "cluster")["Repository"]
    assert repo["DeletionPolicy"] == "Retain"
    props = repo["Properties"]
    assert props["ImageTagMutability"] == "IMMUTABLE"
    assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert props["EncryptionConfiguration"] == {"EncryptionType": "KMS"}
    assert load_cfn(r.stacks["cluster"].template)["Outputs"]["RepositoryUri"]

