"""What a change may break: replacements (said by AWS or predicted from the
resource schemas cfn-lint ships), stateful resources at risk, and access that
a change widens."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

import msgspec

from generator.aws.cfn_types import Change
from generator.cfndoc import STATEFUL_TYPES, refers_to, resolve_refs

if TYPE_CHECKING:
    from generator.review.security import SecurityTables

@cache
def create_only_properties(resource_type: str, region: str) -> tuple[str, ...]:
    """Top-level properties whose change replaces the resource (from its schema)."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER  # ~0.5 s: only when predicting

    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    except Exception:  # an unknown or custom type has no schema: predict nothing
        return ()
    return tuple(sorted({p.split("/")[2] for p in schema.get("createOnlyProperties", [])
                         if p.startswith("/properties/")}))


class Templates(msgspec.Struct, frozen=True):
    """The deployed and the rendered template of one stack, parsed, with parameters."""

    old: dict[str, Any]
    new: dict[str, Any]
    old_params: Mapping[str, str]
    new_params: Mapping[str, str]
    region: str

    def resource(self, which: str, logical_id: str) -> dict[str, Any]:
        doc = self.old if which == "old" else self.new
        res = (doc.get("Resources") or {}).get(logical_id) or {}
        return res if isinstance(res, dict) else {}

    def properties(self, which: str, logical_id: str) -> dict[str, Any]:
        params = self.old_params if which == "old" else self.new_params
        props = self.resource(which, logical_id).get("Properties") or {}
        return resolve_refs(props, params) if isinstance(props, dict) else {}

    def changed_properties(self, logical_id: str) -> list[tuple[str, Any, Any]]:
        old, new = self.properties("old", logical_id), self.properties("new", logical_id)
        return [(k, old.get(k), new.get(k)) for k in sorted(set(old) | set(new))
                if old.get(k) != new.get(k)]

    def predicted_replacement(self, logical_id: str) -> str | None:
        """The create-only property whose change replaces the resource, if any."""
        rtype = self.resource("new", logical_id).get("Type") or \
            self.resource("old", logical_id).get("Type")
        if not rtype or not self.resource("old", logical_id):
            return None
        create_only = set(create_only_properties(str(rtype), self.region))
        for name, _, _ in self.changed_properties(logical_id):
            if name in create_only:
                return name
        return None

    def changed_outputs(self) -> set[str]:
        """Outputs whose expression differs between the two templates."""
        old = self.old.get("Outputs") or {}
        new = self.new.get("Outputs") or {}
        return {k for k in new if (old.get(k) or {}).get("Value") != new[k].get("Value")}

    def outputs_reading(self, logical_ids: set[str]) -> set[str]:
        """Outputs whose value refers to any of ``logical_ids``."""
        return {k for k, o in (self.new.get("Outputs") or {}).items()
                if refers_to(o.get("Value"), logical_ids)}

    def predicted_changes(self) -> tuple[Change, ...]:
        """Resource changes read off the two templates, for when no change set says."""
        old = self.old.get("Resources") or {}
        new = self.new.get("Resources") or {}
        changes = []
        for name in sorted(set(old) | set(new)):
            if name not in old:
                action = "Add"
            elif name not in new:
                action = "Remove"
            elif old[name] != new[name]:
                action = "Modify"
            else:
                continue
            rtype = str((new.get(name) or old.get(name) or {}).get("Type", ""))
            changes.append(Change(action=action, logical_id=name, resource_type=rtype))
        return tuple(changes)

    def security(self) -> SecurityTables:
        """Who gains or loses access: IAM statements and security group rules."""
        from generator.review.security import security_tables  # it reads this module

        return security_tables(self.old, self.new, self.old_params, self.new_params)

    def findings(self) -> list[str]:
        """What a change does that the reviewer must know although no data is at risk."""
        return _weights_rewritten(self.old, self.new) + _silent_alarms(self.old, self.new)


def is_stateful(resource_type: str) -> bool:
    return resource_type in STATEFUL_TYPES


def _changed(old: dict[str, Any], new: dict[str, Any], rtype: str) -> list[tuple[str, Any]]:
    """Resources of ``rtype`` that the new template adds or modifies, with their properties."""
    before = old.get("Resources") or {}
    out = []
    for name, res in sorted((new.get("Resources") or {}).items()):
        if isinstance(res, dict) and res.get("Type") == rtype and before.get(name) != res:
            out.append((name, res.get("Properties") or {}))
    return out


def _weights_rewritten(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """An update of a weighted forward rule writes the template's weights back. ECS
    blue/green shifts that production rule's weights on every deployment (ECS developer
    guide, "Amazon ECS blue/green deployments"), so the live group may be the other
    one, and the update would send production traffic to a group that may be empty."""
    found = []
    for name, props in _changed(old, new, "AWS::ElasticLoadBalancingV2::ListenerRule"):
        if name not in (old.get("Resources") or {}):
            continue  # a new rule has no weights for ECS to have moved yet
        for action in props.get("Actions") or [] if isinstance(props, dict) else []:
            groups = ((action or {}).get("ForwardConfig") or {}).get("TargetGroups") or []
            if isinstance(groups, list) and len(groups) > 1:
                found.append(
                    f"{name}: updating this weighted rule resets the traffic weights ECS "
                    "blue/green shifted; production traffic may go to an idle target group. "
                    "Apply between deployments, after checking which group is live")
                break
    return found


def _silent_alarms(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [f"{name}: alarm notifies no one; set alarms.topic_arn to an SNS topic"
            for name, props in _changed(old, new, "AWS::CloudWatch::Alarm")
            if isinstance(props, dict) and not props.get("AlarmActions")]
