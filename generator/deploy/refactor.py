"""Stack refactoring as a plan operation: a resource whose logical id moved to another stack
of the env (or was renamed) is moved by CloudFormation, not deleted and created again.

AWS CloudFormation user guide, "Stack refactoring" (API: CreateStackRefactor,
DescribeStackRefactor, ExecuteStackRefactor, ListStackRefactorActions): a refactor takes
each stack's template as it must be after the move and the resource mappings; it may not
create, delete or reconfigure a resource nor add a parameter, and cannot leave a stack
empty. So the refactor's templates are the *deployed* ones with the moved resources
carried over unchanged; a reference to a moved resource from what stays behind (and from
the moved resource to what stays) becomes the physical id it resolves to, which is the
same value. The env's change sets run afterwards and bring every stack to its new
template, now with the resources in place: no replacement.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import msgspec
import yaml
from botocore.exceptions import BotoCoreError, ClientError

from generator.errors import AwsError, StackgenError, UsageError
from generator.yamlsrc import load_cfn

# Attributes whose value is the resource's physical id (a Ref), by type.
ID_ATTRIBUTES: Mapping[str, frozenset[str]] = {
    "AWS::EC2::SecurityGroup": frozenset({"GroupId"}),
}


class Move(msgspec.Struct, frozen=True, order=True):
    source_stack: str  # the env's stack keys (alb, network, ...)
    source_id: str
    dest_stack: str
    dest_id: str
    # "id": the same logical id left one stack and arrived in another (run by deploy);
    # "type": the only resource of its type leaving and arriving, a guess that only a
    # mapping file (`stackgen refactor --mapping`) turns into a move.
    by: str = "id"

    def line(self) -> str:
        move = f"move {self.source_stack}.{self.source_id} → {self.dest_stack}.{self.dest_id}"
        return move if self.by == "id" else \
            f"possible {move} (same type; confirm with `stackgen refactor --mapping`)"


class RefactorFailed(StackgenError):
    exit_code = 1


def _resources(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in (doc.get("Resources") or {}).items() if isinstance(v, dict)}


def detect(deployed: Mapping[str, Mapping[str, Any]],
           rendered: Mapping[str, Mapping[str, Any]]) -> list[Move]:
    """Moves between the deployed templates (stacks of the env that exist) and the rendered
    ones: a resource that leaves one stack and one of its type that appears in another,
    paired by logical id, else as the only one of its type leaving and arriving."""
    gone = {(s, lid): r["Type"] for s, doc in deployed.items()
            for lid, r in _resources(doc).items()
            if s in rendered and lid not in _resources(rendered[s])}
    came = {(s, lid): r["Type"] for s, doc in rendered.items()
            for lid, r in _resources(doc).items()
            if lid not in _resources(deployed.get(s) or {})}
    moves = []
    for (src, lid), kind in sorted(gone.items()):
        same = [(d, did) for (d, did), k in came.items() if did == lid and k == kind and d != src]
        if len(same) == 1:
            moves.append(Move(src, lid, *same[0]))
    paired_src = {(m.source_stack, m.source_id) for m in moves}
    paired_dst = {(m.dest_stack, m.dest_id) for m in moves}
    left = {k: t for k, t in gone.items() if k not in paired_src}
    arrived = {k: t for k, t in came.items() if k not in paired_dst}
    for kind in sorted(set(left.values())):
        out = [k for k, t in left.items() if t == kind]
        into = [k for k, t in arrived.items() if t == kind and k[0] != out[0][0]]
        if len(out) == 1 and len(into) == 1:
            moves.append(Move(*out[0], *into[0], by="type"))
    return sorted(moves)


def read_mapping(path: Path, stacks: Iterable[str]) -> list[Move]:
    """A mapping file: ``source_stack.LogicalId: dest_stack.LogicalId`` per line (YAML)."""
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"{path}: not a readable YAML mapping ({exc})") from None
    known = set(stacks)
    moves = []
    for key, value in (raw or {}).items() if isinstance(raw, dict) else []:
        parts = [str(key).split("."), str(value).split(".")]
        if any(len(p) != 2 or p[0] not in known for p in parts):
            raise UsageError(f"{path}: '{key}: {value}' must be stack.LogicalId: "
                             f"stack.LogicalId with stacks of the env ({', '.join(sorted(known))})")
        moves.append(Move(parts[0][0], parts[0][1], parts[1][0], parts[1][1]))
    if not moves:
        raise UsageError(f"{path}: no mapping (write 'alb.AlbSecurityGroup: "
                         "network.AlbSecurityGroup', one per line)")
    return moves


def _substitute(value: Any, refs: Mapping[str, Any], atts: Callable[[str, str], Any]) -> Any:
    """``value`` with each Ref to a name of ``refs`` (and GetAtt through ``atts``) replaced."""
    if isinstance(value, list):
        return [_substitute(v, refs, atts) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (fn, arg), = value.items()
        if fn == "Ref" and isinstance(arg, str) and arg in refs:
            return refs[arg]
        if fn == "Fn::GetAtt":
            target, attr = (str(arg[0]), str(arg[1])) if isinstance(arg, list) else \
                (*str(arg).split(".", 1), "")[:2]
            found = atts(target, attr)
            if found is not None:
                return found
        if fn == "Fn::Sub" and isinstance(arg, str):
            text = arg
            for name, literal in refs.items():
                if isinstance(literal, str):
                    text = text.replace("${" + name + "}", literal)
            return {fn: text}
    return {k: _substitute(v, refs, atts) for k, v in value.items()}


def _names_in(value: Any) -> set[str]:
    if isinstance(value, list):
        return {n for v in value for n in _names_in(v)}
    if not isinstance(value, dict):
        return set()
    found: set[str] = set()
    for fn, arg in value.items():
        if fn == "Ref" and isinstance(arg, str):
            found.add(arg)
        elif fn == "Fn::GetAtt":
            found.add(str(arg[0]) if isinstance(arg, list) else str(arg).split(".")[0])
        found |= _names_in(arg)
    return found


def refactor_templates(deployed: Mapping[str, Mapping[str, Any]], moves: Iterable[Move],
                       physical: Mapping[str, Mapping[str, str]],
                       params: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, Any]]:
    """Each involved stack's template as the refactor takes it: the deployed one, moved
    resources carried over unchanged, references across the cut resolved to the value
    they have now. RefactorFailed where a reference cannot be resolved here."""
    moves = list(moves)
    docs = {s: copy.deepcopy(dict(deployed.get(s) or {"Resources": {}}))
            for m in moves for s in (m.source_stack, m.dest_stack)}
    for m in moves:
        source = docs[m.source_stack]
        resource = source["Resources"].pop(m.source_id)
        kind = resource.get("Type", "")
        phys = physical[m.source_stack].get(m.source_id, "")

        def moved_att(target: str, attr: str, m: Move = m, kind: str = kind,
                      phys: str = phys) -> Any:
            if target == m.source_id and attr in ID_ATTRIBUTES.get(kind, frozenset()):
                return phys
            if target == m.source_id:
                raise RefactorFailed(f"{m.source_stack} reads {target}.{attr}, which cannot be "
                                     "resolved for the refactor; move it with "
                                     "`stackgen refactor --mapping` after removing that read")
            return None

        for section in ("Resources", "Outputs"):
            for key, body in list((source.get(section) or {}).items()):
                source[section][key] = _substitute(body, {m.source_id: phys}, moved_att)
        # What the moved resource reads of its old stack: parameters' values, resources'
        # physical ids (their attributes cannot be carried).
        stays = {**dict(params.get(m.source_stack) or {}),
                 **{lid: pid for lid, pid in physical[m.source_stack].items()
                    if lid != m.source_id}}

        def left_att(target: str, attr: str, m: Move = m) -> Any:
            if target in physical[m.source_stack]:
                raise RefactorFailed(f"{m.source_id} reads {target}.{attr} of "
                                     f"{m.source_stack}, which the refactor cannot carry")
            return None

        carried = _substitute(resource, stays, left_att)
        carried.pop("DependsOn", None)  # what it depended on stays behind
        unknown = _names_in(carried.get("Properties")) - {"AWS::Region", "AWS::AccountId",
                                                          "AWS::Partition", "AWS::URLSuffix"}
        if unknown:
            raise RefactorFailed(f"{m.source_stack}.{m.source_id} reads {', '.join(sorted(unknown))}"
                                 f", which {m.dest_stack} cannot resolve in a refactor")
        docs[m.dest_stack].setdefault("Resources", {})[m.dest_id] = carried
    for doc in docs.values():  # outputs of what left: gone with it (the value moved)
        names = set(doc.get("Resources") or {}) | set(doc.get("Parameters") or {})
        outputs = doc.get("Outputs") or {}
        for key in [k for k, o in outputs.items() if _names_in(o) - names - {
                "AWS::StackName", "AWS::Region", "AWS::AccountId", "AWS::Partition"}]:
            outputs.pop(key)
    return docs


class Refactorer:
    """The refactor APIs, waited on with the deploy's pacing."""

    def __init__(self, client: Any, sleep: Callable[[float], None],
                 polls: int = 600) -> None:
        self.client = client
        self.sleep = sleep
        self.polls = polls

    def _call(self, name: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, name)(**kwargs)
        except ClientError as exc:
            raise RefactorFailed(f"{name}: {exc.response.get('Error', {}).get('Message', exc)}") \
                from None
        except BotoCoreError as exc:
            raise AwsError(f"{name}: {exc}") from None

    def _wait(self, refactor_id: str, field: str, done: str) -> dict[str, Any]:
        delay = 0.5
        for _ in range(self.polls):
            raw: dict[str, Any] = self._call("describe_stack_refactor",
                                             StackRefactorId=refactor_id)
            state = str(raw.get(field, ""))
            if state == done:
                return raw
            if state.endswith("FAILED") or state == "OBSOLETE":
                reason = raw.get("StatusReason") or raw.get("ExecutionStatusReason") or state
                raise RefactorFailed(f"stack refactor {state}: {reason}")
            self.sleep(delay)
            delay = min(5.0, delay * 1.5)
        raise RefactorFailed(f"stack refactor {refactor_id} still not {done}")

    def run(self, names: Mapping[str, str], moves: Iterable[Move],
            templates: Mapping[str, Mapping[str, Any]], create_stacks: bool,
            description: str) -> list[str]:
        """Create, review and execute the refactor; its actions, one line each."""
        moves = list(moves)
        made = self._call(
            "create_stack_refactor", Description=description[:1024],
            EnableStackCreation=create_stacks,
            StackDefinitions=[{"StackName": names[s],
                               "TemplateBody": yaml.safe_dump(dict(doc), sort_keys=False)}
                              for s, doc in templates.items()],
            ResourceMappings=[{"Source": {"StackName": names[m.source_stack],
                                          "LogicalResourceId": m.source_id},
                               "Destination": {"StackName": names[m.dest_stack],
                                               "LogicalResourceId": m.dest_id}}
                              for m in moves])
        refactor_id = str(made["StackRefactorId"])
        self._wait(refactor_id, "Status", "CREATE_COMPLETE")
        actions = self._call("list_stack_refactor_actions", StackRefactorId=refactor_id)
        lines = [f"{a.get('Action', '').lower()} {a.get('Entity', '').lower()}: "
                 f"{a.get('Description', '')} {a.get('PhysicalResourceId', '')}".rstrip()
                 for a in actions.get("StackRefactorActions", [])]
        self._call("execute_stack_refactor", StackRefactorId=refactor_id)
        self._wait(refactor_id, "ExecutionStatus", "EXECUTE_COMPLETE")
        return lines


def deployed_docs(templates: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    return {s: load_cfn(t) for s, t in templates.items()}
