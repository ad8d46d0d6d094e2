"""A whole-graph plan: change sets created, not executed, and reviewed as a whole.

The plan is data (msgspec structs, saved as JSON) so that `apply` can execute
exactly what was reviewed, and the text and Markdown reviews render the same
facts.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
import yaml

from generator import __version__, secrets
from generator.aws.cfn_types import ChangeSet, ChangeSetContent
from generator.aws.status import PlanState
from generator.aws.validation import ValidationNote
from generator.review.cost import EnvCost
from generator.review.risk import Templates, create_only_properties, is_stateful
from generator.review.security import SecurityTables
from generator.yamlsrc import load_cfn

MASK = secrets.MASK
# Bumped when a field changes meaning or goes away; new optional fields keep it.
SCHEMA_VERSION = 1

MAX_PLAN_BYTES = 256 << 20  # a plan holds diffs of a few templates; more is not a plan

# Tags that describe the run, not the stack: they never make a stack "changed".
INFORMATIONAL_TAGS = ("stackgen:version", "stackgen:commit")


class ParamChange(msgspec.Struct, kw_only=True):
    key: str
    old: str | None
    new: str | None


class PropertyChange(msgspec.Struct, kw_only=True):
    name: str
    before: Any = None
    after: Any = None


class ResourceChange(msgspec.Struct, kw_only=True):
    action: str
    logical_id: str
    resource_type: str
    physical_id: str = ""
    replacement: str = ""  # what AWS said: True, False, Conditional, or nothing
    predicted: str | None = None  # the create-only property that predicts a replacement
    properties: list[PropertyChange] = []
    drift: list[str] = []  # changed by hand since the deploy: the apply overwrites these
    validation: list[str] = []  # CloudFormation's pre-deployment validation (review/validation.py)

    @property
    def replaces(self) -> bool:
        return self.replacement == "True" or (self.replacement in ("", "Conditional")
                                              and self.predicted is not None)

    @property
    def risk(self) -> str:
        if self.replacement == "True":
            return "True"
        if self.predicted:
            return f"True (predicted: {self.predicted})"
        return self.replacement

    @property
    def endangers_data(self) -> bool:
        return is_stateful(self.resource_type) and (self.action == "Remove" or self.replaces)


class ChangeSetFacts(msgspec.Struct, kw_only=True):
    """What the review was made from, as AWS reported the change set when planned:
    `apply` reads the change set again and refuses it unless every field matches."""

    arn: str
    stack_id: str
    template_sha256: str  # GetTemplate with ChangeSetName, TemplateStage Original
    parameters_sha256: str  # DescribeChangeSet's Parameters (NoEcho as AWS masks them)
    tags_sha256: str  # DescribeChangeSet's Tags


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def mapping_digest(values: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(dict(values), sort_keys=True).encode()).hexdigest()


def no_echo_params(template: str) -> set[str]:
    """The parameters a template declares NoEcho: AWS masks their values when it
    describes a change set."""
    declared = load_cfn(template).get("Parameters") or {}
    return {k for k, d in declared.items()
            if isinstance(d, dict) and str(d.get("NoEcho")).lower() == "true"}


def change_set_facts(content: ChangeSetContent) -> ChangeSetFacts:
    return ChangeSetFacts(arn=content.arn, stack_id=content.stack_id,
                          template_sha256=sha256_text(content.template),
                          parameters_sha256=mapping_digest(content.parameters),
                          tags_sha256=mapping_digest(content.tags))


def facts_mismatch(recorded: ChangeSetFacts, live: ChangeSetFacts) -> list[str]:
    """What differs between the change set the review was made from and the live one."""
    out = []
    if live.arn != recorded.arn:
        out.append(f"the change set is {live.arn or '(unnamed)'}, the plan recorded "
                   f"{recorded.arn}")
    if live.stack_id != recorded.stack_id:
        out.append(f"the change set belongs to stack {live.stack_id or '(none)'}, the review "
                   f"was made on {recorded.stack_id or '(none)'}")
    for field, what in (("template_sha256", "template body"),
                        ("parameters_sha256", "parameters"), ("tags_sha256", "tags")):
        if getattr(live, field) != getattr(recorded, field):
            out.append(f"its {what} differ from the reviewed ones (sha256 "
                       f"{getattr(live, field)[:12]}…, reviewed {getattr(recorded, field)[:12]}…)")
    return out


class StackPlan(msgspec.Struct, kw_only=True):
    stack: str
    stack_name: str
    state: PlanState
    template_sha256: str
    inputs_sha256: str = ""  # the parameter values the change set was made with
    change_set_id: str | None = None
    reviewed: ChangeSetFacts | None = None  # what the change set held when reviewed
    deployed_at: str | None = None  # the stack's last change when planned
    deployed_status: str | None = None
    deployed_sha256: str = ""  # template, parameters and tags deployed when planned
    stack_id: str = ""  # the deployed stack when planned: a re-created one is another stack
    rendered_sha256: str = ""  # the rendered parameters (references unresolved) and tags
    parameters: list[ParamChange] = []
    tags: list[ParamChange] = []  # stack tags: part of the desired state
    resources: list[ResourceChange] = []
    template_diff: str = ""
    security: SecurityTables = msgspec.field(default_factory=SecurityTables)
    findings: list[str] = []  # risk.Templates.findings: rewritten weights, silent alarms
    ripple: list[str] = []  # "Param <- stack.Output" read from an upstream that may change
    waits_for: list[str] = []  # upstream stacks that must be created or applied first
    changed_outputs: list[str] = []
    nested: list[StackPlan] = []  # the nested stacks' own change sets, reviewed the same way
    validation: list[ValidationNote] = []  # the change set's validation results (FAIL blocks it)
    # "on"/"off": the run turns the deployed stack's termination protection to this (the
    # env's termination_protection changed); "": it stays as it is.
    protection: str = ""

    def __post_init__(self) -> None:  # a plain string in: its typed state out
        self.state = PlanState(self.state)

    @property
    def changes(self) -> bool:
        return self.state.changes()

    @property
    def protection_note(self) -> str:
        """What the run does to the stack's termination protection, or ""."""
        if not self.protection:
            return ""
        return ("termination protection turns off: the stack can then be deleted"
                if self.protection == "off" else "termination protection turns on")

    @property
    def widened_access(self) -> list[str]:
        """One line per change that broadens access (the security tables' marks)."""
        return self.security.broadening()

    @property
    def broadens(self) -> bool:
        return self.security.broadens or any(child.broadens for child in self.nested)

    @property
    def predicted(self) -> bool:
        """Reviewed from templates: its change set can only be made once upstream ran."""
        return self.state.predicted()

    def all_resources(self) -> list[ResourceChange]:
        return self.resources + [r for child in self.nested for r in child.all_resources()]

    def all_findings(self) -> list[str]:
        return self.findings + [f for child in self.nested for f in child.all_findings()]

    def blocked_by_guard(self, allow_replace: Iterable[str]) -> list[ResourceChange]:
        allowed = set(allow_replace)
        return [r for r in self.all_resources()
                if r.endangers_data and r.logical_id not in allowed]


class ForecastNote(msgspec.Struct, kw_only=True):
    """One finding of `stackgen forecast` (generator/forecast) as the plan records it."""

    id: str
    severity: str
    stack: str
    resource: str
    message: str
    fix: str


class Plan(msgspec.Struct, kw_only=True):
    env: str
    created_at: str
    schema_version: int = SCHEMA_VERSION
    # Where the change sets live: `apply` refuses any other target.
    account: str = ""
    region: str = ""
    endpoint: str = ""
    overrides: list[str] = []  # the --set values the plan was rendered with
    nested: bool = False  # planned in the nested form (one root stack)
    deployment_mode: str = "standard"  # express: stacks complete before resources are ready
    # express: stacks kept in standard mode, with why (their readers need them ready)
    standard_stacks: dict[str, str] = {}
    tool_version: str = __version__
    stacks: list[StackPlan] = []
    cost: EnvCost | None = None  # monthly, before → after
    picture: str = ""  # Mermaid: the env's resources coloured by the plan's actions
    forecast: list[ForecastNote] | None = None  # None: not run (--no-forecast)
    moves: list[str] = []  # "move alb.X → network.Y": stack refactors (deploy/refactor.py)
    # "hmac-sha256:<hex>" over the file with this field empty (sign_plan), or nothing.
    signature: str = ""

    @property
    def has_changes(self) -> bool:
        return any(s.changes for s in self.stacks)

    def to_json(self) -> str:
        return json.dumps(msgspec.to_builtins(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Plan:
        return msgspec.json.decode(text, type=cls)

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The published contract of the plan file (`stackgen schema --plan`)."""
        schema: dict[str, Any] = msgspec.json.schema(cls)
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = f"stackgen plan, schema version {SCHEMA_VERSION}"
        return schema


def inputs_digest(params: Mapping[str, str]) -> str:
    """A digest of parameter values: a plan file must not carry their plaintext."""
    return hashlib.sha256(json.dumps(dict(params), sort_keys=True).encode()).hexdigest()


def deployed_digest(template: str, params: Mapping[str, str],
                    tags: Mapping[str, str] | None = None) -> str:
    payload = json.dumps([template, dict(params), dict(tags or {})], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def rendered_digest(parameters: Mapping[str, Any], tags: Mapping[str, str]) -> str:
    """The desired parameters (references unresolved) and tags of one stack."""
    payload = json.dumps([dict(parameters), dict(tags)], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def meaningful_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """Tags that are desired state: not the ones describing the run (version, commit)."""
    return {k: v for k, v in tags.items() if k not in INFORMATIONAL_TAGS}


def tag_changes(deployed: Mapping[str, str], wanted: Mapping[str, str]) -> list[ParamChange]:
    """Tags that differ; a value whose key or look says it is secret (a deployed tag
    ``api_token=…``) is masked here, so plan text, Markdown, JSON and diff never hold it."""
    old, new = meaningful_tags(deployed), meaningful_tags(wanted)
    return [ParamChange(key=k, old=masked(k, old.get(k), set()), new=masked(k, new.get(k), set()))
            for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def masked(key: str, value: str | None, no_echo: set[str]) -> str | None:
    """NoEcho values, and any whose name or value looks secret (generator/secrets.py)."""
    if value is None:
        return None
    if key in no_echo or any(secrets.scan({key: value})):
        return MASK
    return value


def template_secrets(*templates: str) -> set[str]:
    """Every secret value written in these templates, to mask wherever it shows."""
    found: set[str] = set()
    for text in templates:
        try:
            tree: Any = load_cfn(text) if text else {}
        except yaml.YAMLError:  # an unreadable template: judge it line by line
            tree = text.splitlines()
        found |= {hit.value for hit in secrets.scan(tree)}
    return found


def param_changes(old: Mapping[str, str], new: Mapping[str, str],
                  no_echo: set[str]) -> list[ParamChange]:
    return [ParamChange(key=k, old=masked(k, old.get(k), no_echo),
                        new=masked(k, new.get(k), no_echo))
            for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


def template_diff(old: str, new: str) -> str:
    """The unified diff, with every secret either side holds masked on both."""
    known = template_secrets(old, new)
    old, new = secrets.mask_text(old, known), secrets.mask_text(new, known)
    return "".join(difflib.unified_diff(old.splitlines(keepends=True),
                                        new.splitlines(keepends=True), "deployed", "rendered"))


MAX_LEAVES = 12


def leaf_changes(before: Any, after: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """The smallest differing parts of two values: `Env[0].Value: a → b`, not two walls."""
    if isinstance(before, dict) and isinstance(after, dict):
        out = []
        for key in sorted(set(before) | set(after), key=str):
            out += leaf_changes(before.get(key), after.get(key), f"{path}.{key}" if path else key)
        return out
    if isinstance(before, list) and isinstance(after, list):
        out = []
        for i in range(max(len(before), len(after))):
            out += leaf_changes(before[i] if i < len(before) else None,
                                after[i] if i < len(after) else None, f"{path}[{i}]")
        return out
    return [] if before == after else [(path, before, after)]


def _context(raw: str | None) -> Any:
    """BeforeContext/AfterContext are JSON text of the resource's properties."""
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {"(unreadable)": raw}
    return value.get("Properties", value) if isinstance(value, dict) else value


def _masked_property(name: str, before: Any, after: Any, known: set[str]) -> PropertyChange:
    leaf = name.rsplit(".", 1)[-1]

    def side(value: Any) -> Any:
        if value is None or isinstance(value, (dict, list)):
            return secrets.mask_tree(value, known)
        if secrets.secret_name(leaf):  # DbPassword: 1234 – the whole value goes
            return MASK
        return secrets.mask_tree(value, known)

    return PropertyChange(name=name, before=side(before), after=side(after))


def resource_changes(change_set: ChangeSet, templates: Templates) -> list[ResourceChange]:
    out = []
    for change in change_set.changes:
        predicted = None
        props: list[PropertyChange] = []
        if change.action == "Modify":
            if change.replacement in ("", "Conditional"):
                predicted = templates.predicted_replacement(change.logical_id)
            if change.before is not None or change.after is not None:
                # AWS's own before/after values (IncludePropertyValues): resolved, exact.
                leaves = leaf_changes(_context(change.before), _context(change.after))
            else:
                leaves = [leaf for n, b, a in templates.changed_properties(change.logical_id)
                          for leaf in leaf_changes(b, a, n)]
            # Secrets either side, found with their context (an env var's name), are
            # masked in every leaf: a leaf alone no longer says it is secret.
            sides = (_context(change.before), _context(change.after),
                     templates.properties("old", change.logical_id),
                     templates.properties("new", change.logical_id))
            known = {h.value for side in sides for h in secrets.scan(side)}
            props = [_masked_property(n, b, a, known) for n, b, a in leaves[:MAX_LEAVES]]
            if not props:  # AWS's own details when the templates show nothing (e.g. values)
                props = [_masked_property(d.get("Target", {}).get("Name", ""),
                                          d.get("Target", {}).get("BeforeValue"),
                                          d.get("Target", {}).get("AfterValue"), known)
                         for d in change.details if d.get("Target", {}).get("Name")]
        out.append(ResourceChange(action=change.action, logical_id=change.logical_id,
                                  resource_type=change.resource_type,
                                  physical_id=change.physical_id,
                                  replacement=change.replacement, predicted=predicted,
                                  properties=props))
    return out


def affected_outputs(resources: list[ResourceChange], templates: Templates) -> list[str]:
    """Outputs whose value may differ after apply: changed expressions, replaced referents."""
    replaced = {r.logical_id for r in resources if r.replaces or r.action == "Remove"}
    return sorted(templates.changed_outputs() | templates.outputs_reading(replaced))


def _reads(value: Any, params: set[str]) -> bool:
    """Whether a template value reads any of ``params`` (Ref, or ${P} inside Fn::Sub)."""
    if isinstance(value, dict):
        if value.get("Ref") in params:
            return True
        sub = value.get("Fn::Sub")
        text = sub if isinstance(sub, str) else sub[0] if isinstance(sub, list) and sub else ""
        if isinstance(text, str) and any("${" + p + "}" in text for p in params):
            return True
        return any(_reads(v, params) for v in value.values())
    if isinstance(value, list):
        return any(_reads(v, params) for v in value)
    return False


def ripple_changes(templates: Templates, params: set[str]) -> list[ResourceChange]:
    """Predicted changes of resources that read parameters whose values are not known
    yet (upstream outputs that an apply may change): a create-only property that reads
    one predicts a replacement, so the review shows it before anyone approves."""
    if not params:
        return []
    out = []
    for logical, res in sorted((templates.new.get("Resources") or {}).items()):
        if not isinstance(res, dict):
            continue
        props = res.get("Properties") or {}
        reading = sorted(k for k, v in props.items() if _reads(v, params))
        if not reading:
            continue
        rtype = str(res.get("Type", ""))
        create_only = set(create_only_properties(rtype, templates.region))
        predicted = next((p for p in reading if p in create_only), None)
        out.append(ResourceChange(
            action="Modify", logical_id=logical, resource_type=rtype, predicted=predicted,
            properties=[PropertyChange(name=p, before="(deployed)", after="(upstream output)")
                        for p in reading]))
    return out


def merge_changes(reviewed: list[ResourceChange],
                  predicted: list[ResourceChange]) -> list[ResourceChange]:
    """A change set's own changes, plus predicted ones for resources it did not list; a
    predicted replacement marks a listed resource too."""
    by_id = {r.logical_id: r for r in reviewed}
    out = list(reviewed)
    for p in predicted:
        mine = by_id.get(p.logical_id)
        if mine is None:
            out.append(p)
        elif mine.action == "Modify" and not mine.replaces and p.predicted:
            mine.predicted = p.predicted
    return out


def beyond_review(reviewed: StackPlan, actual: StackPlan) -> list[str]:
    """What a change set does that its review did not show: a replacement, a removal or
    broadened access. Anything else stays within what was approved."""
    seen = reviewed.all_resources()
    replaced = {r.logical_id for r in seen if r.replaces}
    removed = {r.logical_id for r in seen if r.action == "Remove"}
    out = []
    for r in actual.all_resources():
        if r.action == "Remove" and r.logical_id not in removed:
            out.append(f"removes {r.logical_id} ({r.resource_type})")
        elif r.action != "Remove" and r.replaces and r.logical_id not in replaced:
            out.append(f"replaces {r.logical_id} ({r.resource_type}, {r.risk})")

    def widened(plan: StackPlan) -> set[str]:
        return set(plan.widened_access).union(*(widened(c) for c in plan.nested))

    # A value the review could not know yet (an upstream output) shows there as `Ref Param`:
    # any concrete value in its place stays within what was approved.
    shown = [re.compile(re.sub(r"Ref\\ [A-Za-z0-9]+", ".+", re.escape(w)))
             for w in widened(reviewed)]
    out += [f"widens access: {w}" for w in sorted(widened(actual))
            if not any(p.fullmatch(w) for p in shown)]
    return out


def unshown(reviewed: StackPlan, actual: StackPlan) -> list[str]:
    """Every resource change ``actual`` makes that ``reviewed`` does not list (by logical
    id and action), then what beyond_review finds: a review edited to hide a change."""
    shown = {(r.logical_id, r.action) for r in reviewed.all_resources()}
    out = [f"{r.action.lower()} {r.logical_id} ({r.resource_type})"
           for r in actual.all_resources() if (r.logical_id, r.action) not in shown]
    return out + beyond_review(reviewed, actual)
