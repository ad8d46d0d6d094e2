"""The delete plan (generator/deploy/delete.py): reverse graph order, and the cluster
refused alone while the instances read it."""

from __future__ import annotations

import pytest

from generator.aws.cfn_types import StackInfo
from generator.deploy.delete import Deleter
from generator.ui import Console
from tests.helpers.rendered import EC2_ENVS, _render

# --- defect 2: reverse graph order deletes ecs, asg, then the cluster -------------------


class _AllDeployed:
    """The part of CloudFormation that Deleter.plan reads: every stack is deployed."""

    def describe_many(self, names: list[str]) -> dict[str, StackInfo]:
        return {n: StackInfo(n, f"arn:{n}", "CREATE_COMPLETE", {}, {}, {}, None) for n in names}


@pytest.mark.parametrize("env", EC2_ENVS)
def test_reverse_graph_order_deletes_instances_before_the_cluster(env: str) -> None:
    r = _render(env)
    plan = Deleter(r, _AllDeployed(), Console(color=False), lambda q: True).plan()  # type: ignore[arg-type]
    gone = [stack for stack, _ in plan.stacks]
    # DeleteCluster is refused while container instances are registered
    # (ClusterContainsContainerInstancesException): the asg goes first.
    assert gone.index("ecs") < gone.index("asg") < gone.index("cluster")


def test_deleting_the_cluster_alone_is_refused_while_asg_reads_it() -> None:
    from generator.deploy.delete import DeleteRefused

    with pytest.raises(DeleteRefused, match="feeds kubenews-local-asg"):
        Deleter(_render("local"), _AllDeployed(), Console(color=False),  # type: ignore[arg-type]
                lambda q: True).plan(frozenset({"cluster"}))

