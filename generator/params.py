"""Params files → one validated ``Environment``.

``params/base.yaml`` is deep-merged with ``params/<env>.yaml`` and then with
``--set key.path=value`` overrides (later wins; lists are replaced whole).
Every error names the file and line that set the offending key.
"""

from __future__ import annotations

import functools
import re
import types
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

import msgspec

from generator import secrets
from generator.config import KEY_RULES, PATTERN_RULES, Environment, Invalid
from generator.errors import ParamsError, UsageError
from generator.limits import aws_problems
from generator.yamlsrc import KeyPath, SourceMap, dotted, load_value, load_with_lines

BASE_FILE = "base.yaml"
ENV_NAME = re.compile(r"^[a-z][a-z0-9-]{0,20}$")


class EnvSource(msgspec.Struct, frozen=True):
    """An env as read from its params files: its name, the validated model
    (``config.Environment``) and the files it came from. Opened for AWS, it becomes a
    ``deploy.workflow.Connection``."""

    name: str
    config: Environment
    files: tuple[Path, ...]


def list_envs(params_dir: Path) -> list[str]:
    return sorted(
        p.stem for p in params_dir.glob("*.yaml") if p.name != BASE_FILE and ENV_NAME.match(p.stem)
    )


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


# --- the schema's type at a key path ---------------------------------------------


def _alternatives(tp: Any) -> list[Any]:
    """The types a value may take: Annotated and unions peeled."""
    origin = get_origin(tp)
    if origin is Annotated:
        return _alternatives(get_args(tp)[0])
    if origin is Union or origin is types.UnionType:
        return [t for arg in get_args(tp) for t in _alternatives(arg)]
    return [tp]


@functools.cache
def _hints(struct: type[msgspec.Struct]) -> dict[str, Any]:
    return get_type_hints(struct, include_extras=True)


def _is_struct(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, msgspec.Struct)


@functools.cache
def _field_type(loc: KeyPath) -> Any:
    """The declared type at ``loc`` in the params model (None when unknown)."""
    tp: Any = Environment
    for part in loc:
        found = None
        for alt in _alternatives(tp):
            origin = get_origin(alt)
            if _is_struct(alt) and isinstance(part, str) and part in _hints(alt):
                found = _hints(alt)[part]
            elif origin is dict and isinstance(part, str):
                found = get_args(alt)[1]
            elif origin is list and isinstance(part, int):
                found = get_args(alt)[0]
            if found is not None:
                break
        if found is None:
            return None
        tp = found
    return tp


@functools.cache
def wants_string(loc: KeyPath) -> bool:
    """The schema wants a string here: a plain scalar is then read as the text written."""
    alts = _alternatives(_field_type(loc))
    if any(t in (int, float, bool) for t in alts):
        return False
    return any(t is str or (get_origin(t) is Literal and all(isinstance(a, str) for a in get_args(t)))
               for t in alts)


def _struct_at(loc: KeyPath) -> type[msgspec.Struct] | None:
    found = [t for t in _alternatives(_field_type(loc)) if _is_struct(t)]
    return found[0] if found else None


# --- --set ---------------------------------------------------------------------------


def parse_set(expr: str) -> tuple[KeyPath, Any]:
    key, sep, raw = expr.partition("=")
    if not sep or not key or not re.fullmatch(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*", key):
        # Not repeated: a mistyped --set may hold the very secret (--set DB_PASS:hunter2).
        raise UsageError("--set takes key.path=value, e.g. --set asg.max_size=4; one of the "
                         "--set arguments is not of that form (not shown: it may hold a secret)")
    path: KeyPath = tuple(key.split("."))
    if not raw:
        return path, ""
    # The same bounded reader as a file: where the schema wants a string, 16.10 stays "16.10".
    # A value that does not parse is not repeated: it may be a secret with a typo.
    return path, load_value(raw, f"--set {key}={secrets.MASK}", path, wants_string)


def printable(text: str) -> str:
    """``text`` on one line: control characters as escapes."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def set_label(expr: str, path: KeyPath, value: Any) -> str:
    """How an error names a ``--set``: as written, unless its key or its value looks
    secret (then ``--set key=****``)."""
    if secrets.secret_name(str(path[-1])) or any(secrets.scan({str(path[-1]): value})):
        return f"--set {dotted(path)}={secrets.MASK}"
    return f"--set {printable(expr)}"


def mark_set(smap: SourceMap, key: KeyPath, value: Any, label: str) -> None:
    """``key`` and what ``value`` wrote under it now come from the ``--set``: a mapping is
    merged key by key (a file's other keys keep their lines), anything else replaces the
    file's value whole, so no line of the file may be named for what lies under it."""
    smap.lines[key] = (label, 0)
    if isinstance(value, dict):
        for k, v in value.items():
            mark_set(smap, (*key, k), v, label)
        return
    for loc in [loc for loc in smap.lines if len(loc) > len(key) and loc[:len(key)] == key]:
        del smap.lines[loc]


def _apply_set(data: dict[str, Any], path: KeyPath, value: Any) -> dict[str, Any]:
    nested: Any = value
    for part in reversed(path):
        nested = {part: nested}
    return deep_merge(data, nested)


# --- secrets -----------------------------------------------------------------------


def _find_secrets(data: Any) -> Iterable[secrets.SecretHit]:
    """Secrets by name or by value (generator/secrets.py), except a choice of an enum:
    ``rds.password: managed`` names a mode, not a password."""
    for hit in secrets.scan(data):
        if _value_at(data, hit.path) not in _choices(hit.path):
            yield hit


def _choices(path: KeyPath) -> list[Any]:
    """The fixed choices (Literal values) a key takes, if its type is an enum."""
    return [a for t in _alternatives(_field_type(path)) if get_origin(t) is Literal
            for a in get_args(t)]


def _secret_fix(path: KeyPath) -> str:
    """Where this secret should live instead, named for the place it was found."""
    choices = _choices(path)
    if choices:
        return f"'{secrets.where(path)}' takes one of {', '.join(repr(c) for c in choices)}"
    name = path[-1]
    # The workload that holds it: the app's container, or ecs.<tasks|services|jobs>.<name>.
    workload = (f"ecs.{path[1]}.{path[2]}"
                if len(path) > 3 and path[0] == "ecs" and path[1] in ("tasks", "services", "jobs")
                else "ecs.container")
    if "command" in path:
        return (f"store it in Secrets Manager or SSM, reference it under {workload}.secrets "
                "and read that variable in the command")
    if path[0] == "tags":
        return "tags are readable by anyone who can describe the stack: remove it from tags"
    if "environment" in path:
        return (f"move it to {workload}.secrets.{name} with secretsmanager_arn or "
                "ssm_parameter_arn")
    if any(p in ("path", "probe_path", "health_check_path") for p in path if isinstance(p, str)):
        return ("a health check or probe path is sent in clear and written to access logs: "
                "remove the secret from it")
    if path[0] == "rds":
        return "remove it: RDS keeps the master password in Secrets Manager (rds.password: managed)"
    return ("store it in Secrets Manager or SSM and reference it under ecs.container.secrets "
            "(or ecs.<tasks|services|jobs>.<name>.secrets)")


# --- map keys are names, and names are data ------------------------------------------


def shown_key(key: object, limit: int = 40) -> str:
    """A key as an error may print it: on one line, control characters escaped, short."""
    text = str(key).encode("unicode_escape").decode("ascii")
    return "'" + (text if len(text) <= limit else text[:limit] + "…") + "'"


def _key_pattern(tp: Any) -> str | None:
    """The pattern the keys of a mapping type declare (``dict[EnvName, str]``), if any."""
    for alt in _alternatives(tp):
        if get_origin(alt) is not dict:
            continue
        key_type = get_args(alt)[0]
        if get_origin(key_type) is Annotated:
            for meta in get_args(key_type)[1:]:
                if isinstance(meta, msgspec.Meta) and meta.pattern:
                    return meta.pattern
    return None


def bad_keys(data: Any, loc: KeyPath = ()) -> Iterable[tuple[KeyPath, str]]:
    """Every map key that breaks its declared pattern, checked whole (``re.fullmatch``:
    a msgspec pattern ending in ``$`` lets a trailing newline through), with the message.
    Run before anything reads the keys: a key becomes a name in a template."""
    if isinstance(data, dict):
        pattern = _key_pattern(_field_type(loc)) if loc else None
        for key, value in data.items():
            if pattern and not (isinstance(key, str) and re.fullmatch(pattern, key)):
                rule = KEY_RULES.get(pattern, f"a key here matches {pattern}")
                yield (*loc, key), (f"'{dotted(loc)}.{shown_key(key)[1:]}: the key is not a "
                                    f"name: {rule}; rename it")
                continue
            if isinstance(key, str):
                yield from bad_keys(value, (*loc, key))
    elif isinstance(data, list):
        for i, item in enumerate(data):
            yield from bad_keys(item, (*loc, i))


# --- msgspec errors → key path and message ---------------------------------------------

# msgspec reports "<message> - at `$.a.b[0]`" (or "at `key` in `$.a`" for a dict key);
# this is the one place that reads its wording.
_AT = re.compile(r"^(?P<msg>.*?)(?: - at `(?P<key>key` in `)?\$(?P<path>[^`]*)`)?$", re.S)
_PART = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")
_QUOTED = re.compile(r"`([^`]*)`")
_REGEX = re.compile(r"^Expected `str` matching regex '(?P<regex>.*)'$")


def _value_at(data: Any, loc: Sequence[str | int]) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _in_mapping(data: Any, loc: KeyPath, key_error: bool) -> tuple[KeyPath, str] | None:
    """msgspec names no dict key (``[...]``): convert each entry alone to find the bad one."""
    mapping = _value_at(data, loc)
    alts = [t for t in _alternatives(_field_type(loc)) if get_origin(t) is dict]
    if not isinstance(mapping, dict) or not alts:
        return None
    key_type, value_type = get_args(alts[0])
    for key, value in mapping.items():
        try:
            msgspec.convert(key, key_type)
        except msgspec.ValidationError:
            return (*loc, key), f"'{dotted((*loc, key))}': '{key}' is not a valid name here"
        if key_error:
            continue
        try:
            msgspec.convert(value, value_type)
        except msgspec.ValidationError as exc:
            return _describe(exc, data, (*loc, key))
    return None


def _describe(error: msgspec.ValidationError, data: dict[str, Any],
              prefix: KeyPath = ()) -> tuple[KeyPath, str]:
    match = _AT.match(str(error))
    assert match is not None
    msg, raw_path = match["msg"], match["path"] or ""
    loc: list[str | int] = list(prefix)
    truncated = False
    for name, index in _PART.findall(raw_path):
        if index == "...":
            truncated = True
            break
        loc.append(int(index) if index else name)
    if truncated or match["key"]:
        found = _in_mapping(data, tuple(loc), bool(match["key"]) and not truncated)
        if found:
            return found
    if match["key"]:
        return tuple(loc), f"'{dotted(tuple(loc))}': a key {msg[0].lower()}{msg[1:]}"
    if msg.startswith("Object contains unknown field"):
        key = _QUOTED.findall(msg)[0]
        parent = _struct_at(tuple(loc))
        known = sorted(parent.__struct_fields__) if parent else []
        from difflib import get_close_matches  # only for a hint: off the start-up path
        close = get_close_matches(key, known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
        full = (*loc, key)
        return full, f"unknown key '{dotted(full)}'; {hint}"
    if msg.startswith("Object missing required field"):
        full = (*loc, _QUOTED.findall(msg)[0])
        return full, f"missing required key '{dotted(full)}'; add it to the params file"
    got = None if truncated else _shown_value(tuple(loc), _value_at(data, loc))
    if msg.startswith("Invalid enum value"):
        choices = [str(a) for t in _alternatives(_field_type(tuple(loc)))
                   if get_origin(t) is Literal for a in get_args(t)]
        return tuple(loc), (f"'{dotted(tuple(loc))}': {got!r} is not one of "
                            f"{', '.join(repr(c) for c in choices)}")
    pattern = _REGEX.match(msg)
    if pattern and pattern["regex"] in PATTERN_RULES:
        return tuple(loc), (f"'{dotted(tuple(loc))}': {got!r} breaks the rule: "
                            f"{PATTERN_RULES[pattern['regex']]}")
    if msg.startswith("Expected"):
        shown = "" if truncated or ", got `" in msg else f" (got {got!r})"
        return tuple(loc), f"'{dotted(tuple(loc))}': {msg[0].lower()}{msg[1:]}{shown}"
    # A cross-field rule (generator/config/rules.py): its message is ours already, and it may
    # name the key (relative to its struct) that the line should point at.
    cause = error.__cause__
    if isinstance(cause, Invalid) and cause.key:
        loc += cause.key.split(".")
    return tuple(loc), f"'{dotted(tuple(loc))}': {msg}" if loc else msg


def _shown_value(loc: KeyPath, value: Any) -> Any:
    """A value an error may repeat: masked when its key or its look says it is secret."""
    names = [p for p in loc if isinstance(p, str)]
    if (names and secrets.secret_name(names[-1])) or any(secrets.scan({"value": value})):
        return secrets.MASK
    return value


def _where(smap: SourceMap, loc: KeyPath, files: Sequence[Path]) -> tuple[str, int | None]:
    """The file and line that wrote ``loc`` or its nearest written parent; never the
    document's first line for a key that no file wrote (then the files, without a line)."""
    for end in range(len(loc), 0, -1):
        hit = smap.lines.get(loc[:end])
        if hit:
            return hit[0], hit[1] or None
    return " or ".join(str(f) for f in files), None


def validate(data: dict[str, Any], smap: SourceMap, files: Sequence[Path]) -> Environment:
    for loc, message in bad_keys(data):
        file, line = _where(smap, loc, files)
        raise ParamsError(message, file, line)
    for hit in _find_secrets(data):
        file, line = _where(smap, hit.path, files)
        if file.startswith("--set "):  # never echo the secret back
            file = file.split("=", 1)[0] + "=" + secrets.MASK
        raise ParamsError(
            f"'{secrets.where(hit.path)}' holds a secret value ({hit.reason}); never write secrets "
            f"in params: {_secret_fix(hit.path)}",
            file,
            line,
        )
    try:
        config = msgspec.convert(data, Environment)
    except msgspec.ValidationError as exc:
        loc, message = _describe(exc, data)
        file, line = _where(smap, loc, files)
        raise ParamsError(message, file, line) from None
    for loc, message in aws_problems(config):
        file, line = _where(smap, loc, files)
        raise ParamsError(f"'{dotted(loc)}': {message}", file, line)
    return config


def load_env(params_dir: Path, env: str, overrides: Sequence[str] = ()) -> EnvSource:
    env_file = params_dir / f"{env}.yaml"
    if not ENV_NAME.match(env) or not env_file.exists():
        known = list_envs(params_dir)
        from difflib import get_close_matches  # only for a hint: off the start-up path
        close = get_close_matches(env, known, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise UsageError(
            f"unknown env '{env}': no {env_file}; {hint}known envs: {', '.join(known) or 'none'}"
        )
    files: list[Path] = []
    data: dict[str, Any] = {}
    smap = SourceMap()
    # base.yaml is required: every env is merged over it, and a missing one would
    # silently drop the shared settings (project, tags, domain) from every env.
    for path in (params_dir / BASE_FILE, env_file):
        part, part_map = load_with_lines(path, wants_string)
        data = deep_merge(data, part)
        smap.update(part_map)
        files.append(path)
    for expr in overrides:
        key, value = parse_set(expr)
        data = _apply_set(data, key, value)
        label = set_label(expr, key, value)
        for end in range(1, len(key)):
            smap.lines[key[:end]] = (label, 0)
        mark_set(smap, key, value, label)
    return EnvSource(env, validate(data, smap, files), tuple(files))
