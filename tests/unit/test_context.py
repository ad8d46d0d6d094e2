"""The stack views and their templates agree: every name a template reads is defined
by its view, and every attribute a view defines is read by its template (or a
partial it calls). Also: the env's facts are decided once per render."""

from __future__ import annotations

from typing import Any

import jinja2
import jinja2.meta
import jinja2.nodes
import msgspec
import pytest

from generator.context import VIEWS, Names, stack_context
from generator.graph import build_graph, load_spec
from generator.params import load_env
from generator.render import make_jinja, render, tidy
from generator.views import alb, asg, cert, cluster, dns, ecs, network, rds
from generator.views.facts import Facts
from tests.conftest import ENVS, ROOT
from tests.helpers.views import TEMPLATES

VIEW_CLASSES: dict[str, type[Any]] = {
    "network": network.NetworkView, "dns": dns.DnsView, "cluster": cluster.ClusterView,
    "cert": cert.CertView, "alb": alb.AlbView, "asg": asg.AsgView, "rds": rds.RdsView,
    "ecs": ecs.EcsView,
}
# What a view-backed template may read: its view, its Parameters and Outputs.
TEMPLATE_NAMES = {"view", "params", "outputs"}

# The shipped envs, and settings no shipped env has, so every optional block renders.
SUBNETS = "network.public_subnet_ids=[subnet-0a1b2c3d4e5f67891,subnet-0a1b2c3d4e5f67892]"
CASES: list[tuple[str, tuple[str, ...]]] = [(env, ()) for env in ENVS] + [
    ("local", ("network.mode=existing", "network.vpc_id=vpc-0a1b2c3d4e5f67890", SUBNETS)),
    ("local", ("dns.zone.create=true", "dns.zone.parent_zone_id=Z123")),
    ("local", ("dns.record_type=cname", "alb.http_redirect=false", "asg.key_name=k")),
    ("local", ("ecs.repository.create=true",
               "ecs.repository.kms_key_arn=arn:aws:kms:us-east-1:123456789012:key/k")),
    ("local", ("waf.web_acl_arn=arn:aws:wafv2:us-east-1:123456789012:regional/webacl/a/b",
               "asg.scaling.mode=none", "rds.password=managed")),
    ("dev", ("ecs.services.api.kind=web", "ecs.services.api.rule.priority=10",
             'ecs.services.api.rule.paths=["/api/*"]', "ecs.services.api.memory_mib=128",
             "ecs.services.api.cpu=128")),
]


def test_every_view_stack_is_checked() -> None:
    assert set(VIEW_CLASSES) == set(VIEWS)


def test_view_templates_read_only_view_params_and_outputs() -> None:
    """No raw config, no names helper, no loose values: the view decides."""
    jinja = make_jinja(TEMPLATES)
    for stack in VIEW_CLASSES:
        source = (TEMPLATES / f"{stack}.yaml.j2").read_text()
        names = jinja2.meta.find_undeclared_variables(jinja.parse(source))
        assert names <= TEMPLATE_NAMES, f"{stack}.yaml.j2 reads {sorted(names - TEMPLATE_NAMES)}"


def _view_reads(source: str) -> set[str]:
    tree = make_jinja(TEMPLATES).parse(source)
    return {n.attr for n in tree.find_all(jinja2.nodes.Getattr)
            if isinstance(n.node, jinja2.nodes.Name) and n.node.name == "view"}


@pytest.mark.parametrize("stack", sorted(VIEW_CLASSES))
def test_template_reads_exactly_its_view(stack: str) -> None:
    """Every `view.x` in the template (taken branch or not) is an attribute of the view,
    and every field of the view is read somewhere in the template."""
    cls = VIEW_CLASSES[stack]
    defined = {f.name for f in msgspec.structs.fields(cls)}
    read = _view_reads((TEMPLATES / f"{stack}.yaml.j2").read_text())
    assert read - defined == set(), f"{stack}.yaml.j2 reads undefined view.{sorted(read - defined)}"
    assert defined - read == set(), f"{cls.__name__} fields no template reads: {sorted(defined - read)}"


class _Recorder:
    """A view (or a value inside it) that notes each attribute the template reads."""

    __slots__ = ("_obj", "_seen")

    def __init__(self, obj: Any, seen: set[tuple[str, str]]) -> None:
        self._obj = obj
        self._seen = seen

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._obj, name)
        self._seen.add((type(self._obj).__name__, name))
        return _wrap(value, self._seen)


def _wrap(value: Any, seen: set[tuple[str, str]]) -> Any:
    if isinstance(value, msgspec.Struct):
        return _Recorder(value, seen)
    if isinstance(value, tuple) and any(isinstance(v, msgspec.Struct) for v in value):
        return tuple(_wrap(v, seen) for v in value)
    return value


def _fields(value: Any, found: set[tuple[str, str]]) -> None:
    """Every field of every dataclass reachable from a view."""
    if isinstance(value, tuple):
        for item in value:
            _fields(item, found)
    elif isinstance(value, msgspec.Struct):
        for f in msgspec.structs.fields(value):
            found.add((type(value).__name__, f.name))
            _fields(getattr(value, f.name), found)


def test_every_view_attribute_is_read_and_every_name_defined() -> None:
    """Rendered with nothing but view, params and outputs (StrictUndefined fails on any
    other name), for every shipped env and the settings they leave out: the same text
    as `render`, and every field of every view (nested ones too) read by a template."""
    jinja = make_jinja(TEMPLATES)
    assert jinja.undefined is jinja2.StrictUndefined
    seen: set[tuple[str, str]] = set()
    defined: set[tuple[str, str]] = set()
    for env, sets in CASES:
        loaded = load_env(ROOT / "params", env, sets)
        rendered = render(loaded, TEMPLATES)
        facts = Facts.of(loaded.config)
        for name in rendered.graph.order:
            if name not in VIEWS:
                continue
            ctx = stack_context(rendered.graph.stacks[name], loaded.config, rendered.names, facts)
            _fields(ctx.view, defined)
            text = jinja.get_template(f"{name}.yaml.j2").render(
                view=_wrap(ctx.view, seen), params=ctx.params, outputs=ctx.outputs)
            assert tidy(text) == rendered.stacks[name].template, f"{env} {sets} {name}"
    assert defined - seen == set(), f"view attributes no template reads: {sorted(defined - seen)}"


def test_views_are_frozen() -> None:
    cfg = load_env(ROOT / "params", "local").config
    graph = build_graph(load_spec(TEMPLATES), Facts.of(cfg).conditions, TEMPLATES / "stacks.yaml")
    view = stack_context(graph.stacks["network"], cfg, Names("p", "local")).view
    with pytest.raises(AttributeError):
        view.existing = True
