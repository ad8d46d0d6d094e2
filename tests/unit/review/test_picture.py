"""The review's picture (generator/review/picture.py)."""

from __future__ import annotations

from generator.params import load_env
from generator.render import render
from generator.review.picture import diagram
from generator.yamlsrc import load_cfn
from tests.conftest import ROOT

# --- picture ------------------------------------------------------------------------------


def test_the_diagram_groups_resources_by_stack_and_colours_the_plans_actions() -> None:
    rendered = render(load_env(ROOT / "params", "prod"), ROOT / "templates")
    docs = {s: load_cfn(st.template) for s, st in rendered.stacks.items()}
    text = diagram(rendered.graph, docs, {("rds", "DbInstance"): "Replace",
                                          ("alb", "OldRule"): "Remove"})
    assert text.startswith("flowchart LR")
    for stack in rendered.graph.order:
        assert f"subgraph {stack}[" in text
    assert "class rds_DbInstance replace" in text and "classDef replace" in text
    assert 'alb_OldRule["OldRule' in text and "class alb_OldRule remove" in text
    assert "classDef add" not in text  # only the classes in use
    assert '-- "VpcId' in text or '-- "' in text  # outputs label the edges
    assert "SubnetRouteTableAssociation" not in text  # plumbing stays out unless changed

