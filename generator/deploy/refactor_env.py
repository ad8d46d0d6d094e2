"""An env's stack refactor, run on an opened unit: the moves found between its deployed
and rendered templates (or given by a mapping), shown, approved, and executed through
CloudFormation's stack refactor before any change set (deploy runs it by itself;
`stackgen refactor` alone). What a move is and how the refactor's templates are built
is generator/deploy/refactor.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from generator.aws.cfn_types import StackInfo
from generator.deploy.connect import Connection, locked
from generator.deploy.refactor import Move, Refactorer, detect, refactor_templates
from generator.errors import StackgenError, UsageError
from generator.ui import Confirm
from generator.yamlsrc import load_cfn


def detected(conn: Connection, listed: Mapping[str, StackInfo] | None = None
             ) -> tuple[dict[str, Any], Mapping[str, StackInfo], list[Move]]:
    """The deployed templates, the stacks' live state and the moves found between the
    deployed and rendered templates (deploy/refactor.py), in one read of each stack.
    ``listed``: the unit's stacks as just listed (preflight.listed, which covers the
    separate stacks), not listed again."""
    cfn, form = conn.aws.cfn, conn.form
    names = {s: form.stacks[s].stack_name for s in form.stacks}
    live = listed if listed is not None else cfn.describe_many(list(names.values()))
    deployed = {s: load_cfn(cfn.template_body(n)) for s, n in names.items()
                if n in live and not live[n].status.empty_shell()}
    return deployed, live, detect(deployed, {s: load_cfn(r.template)
                                             for s, r in form.stacks.items()})


def moves_of(conn: Connection, mapping: Sequence[Move] = ()) -> tuple[list[Move],
                                                                         dict[str, Any]]:
    """The unit's stack refactor: the moves found by logical id with ``mapping``'s (a guess
    by type, or a rename, needs a mapping file; a mapping line wins over a found move of
    the same resource), and the refactor's templates."""
    deployed, live, found = detected(conn)
    mapped = {(m.source_stack, m.source_id) for m in mapping} | {
        (m.dest_stack, m.dest_id) for m in mapping}
    moves = [*mapping, *(m for m in found if m.by == "id" and not {
        (m.source_stack, m.source_id), (m.dest_stack, m.dest_id)} & mapped)]
    if not moves:
        return [], {}
    names = {s: conn.form.stacks[s].stack_name for s in conn.form.stacks}
    physical = {m.source_stack: conn.aws.cfn.physical_ids(names[m.source_stack])
                for m in moves}
    params = {m.source_stack: live[names[m.source_stack]].parameters for m in moves}
    return moves, refactor_templates(deployed, moves, physical, params)


def refactor(conn: Connection, confirm: Confirm, mapping: Sequence[Move] = ()) -> list[Move]:
    """Execute the unit's stack refactor (after a yes); the moves done, none when none."""
    if conn.nested:
        raise UsageError("stack refactors move resources between the env's stacks; the "
                         "nested form is one root stack: refactor with --no-nested")
    with locked(conn, "refactor"):
        moves, templates = moves_of(conn, mapping)
        if not moves:
            conn.console.line("refactor: no resource moves between the env's stacks")
            return []
        for m in moves:
            conn.console.line(m.line())
        if not confirm(f"execute the stack refactor of env '{conn.rendered.env.name}' "
                       f"({len(moves)} resources move, none is replaced)?"):
            raise StackgenError("stack refactor not approved; nothing was moved")
        names = {s: conn.form.stacks[s].stack_name for s in conn.form.stacks}
        live = conn.aws.cfn.describe_many(list(names.values()))
        for s in templates:  # an earlier plan's review shell of a stack the refactor creates
            if names[s] in live and live[names[s]].status.empty_shell():
                conn.aws.cfn.delete_stack(names[s])  # no resources: only unexecuted change sets
                conn.aws.cfn.wait_stack(names[s], deleting=True)
                live.pop(names[s])
        lines = Refactorer(conn.aws.cfn.client, conn.aws.cfn.waits.sleep).run(
            names, moves, templates, create_stacks=any(names[s] not in live for s in templates),
            description=f"stackgen: env {conn.rendered.env.name}")
        for line in lines:
            conn.console.line(f"refactor: {line}")
    return moves
