"""Params files → one validated ``Environment``.

``params/base.yaml`` is deep-merged with ``params/<env>.yaml`` and then with
``--set key.path=value`` overrides (later wins; lists are replaced whole).
Every error names the file and line that set the offending key.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

import msgspec
import yaml

from generator import secrets
from generator.config import Environment
from generator.errors import ParamsError, UsageError
from generator.yamlsrc import KeyPath, SourceMap, load_with_lines

BASE_FILE = "base.yaml"
ENV_NAME = re.compile(r"^[a-z][a-z0-9-]{0,20}$")


@dataclass(frozen=True)
class LoadedEnv:
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


def parse_set(expr: str) -> tuple[KeyPath, Any]:
    key, sep, raw = expr.partition("=")
    if not sep or not key or not re.fullmatch(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*", key):
        raise UsageError(f"--set {expr!r}: expected key.path=value, e.g. --set asg.max_size=4")
    try:
        value = yaml.safe_load(raw) if raw else ""
    except yaml.YAMLError:
        value = raw
    return tuple(key.split(".")), value


def _apply_set(data: dict[str, Any], path: KeyPath, value: Any) -> dict[str, Any]:
    nested: Any = value
    for part in reversed(path):
        nested = {part: nested}
    return deep_merge(data, nested)


def _find_secrets(data: Any) -> Iterable[secrets.SecretHit]:
    """Secrets by name or by value (generator/secrets.py), except a choice of an enum:
    ``rds.password: managed`` names a mode, not a password."""
    for hit in secrets.scan(data):
        if _value_at(data, hit.path) not in _choices(hit.path):
            yield hit


def _choices(path: KeyPath) -> list[Any]:
    return [a for t in _unwrap(_field_type(path)) if get_origin(t) is Literal for a in get_args(t)]


def _secret_fix(path: KeyPath) -> str:
    """Where the secret belongs instead, naming the key for the place it was found."""
    choices = _choices(path)
    if choices:
        return f"'{_key_name(path)}' takes one of {', '.join(repr(c) for c in choices)}"
    if path[:1] == ("tags",):
        return "tags are readable by anyone who can list the stack: remove it from tags"
    owner = (f"ecs.tasks.{path[2]}" if path[:2] == ("ecs", "tasks") and len(path) > 2
             else "ecs.container")
    if "environment" in path:
        var = path[path.index("environment") + 1]
        return (f"store it in Secrets Manager or SSM and reference it under "
                f"{owner}.secrets.{var}")
    if "command" in path:
        return (f"store it in Secrets Manager or SSM, reference it under {owner}.secrets "
                "and read that variable in the command")
    return f"store it in Secrets Manager or SSM and reference it under {owner}.secrets"


def _key_name(path: KeyPath) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def _unwrap(tp: Any) -> list[Any]:
    """The concrete types inside Annotated/Optional/list/dict wrappers."""
    if get_origin(tp) is not None and hasattr(tp, "__metadata__"):  # Annotated
        return _unwrap(get_args(tp)[0])
    args = get_args(tp)
    if not args:
        return [tp]
    return [t for arg in args for t in _unwrap(arg)] + [tp]


def _field_type(loc: Sequence[str | int]) -> Any:
    """The declared type at ``loc`` in the params model (None when unknown)."""
    tp: Any = Environment
    for part in loc:
        structs = [t for t in _unwrap(tp) if isinstance(t, type) and issubclass(t, msgspec.Struct)]
        if isinstance(part, int) or not structs:
            continue  # list index or dict key: the element type is already unwrapped
        hints = get_type_hints(structs[0], include_extras=True)
        if part not in hints:
            return None
        tp = hints[part]
    return tp


def _struct_at(loc: Sequence[str | int]) -> type[msgspec.Struct] | None:
    tp = _field_type(loc)
    found = [t for t in _unwrap(tp) if isinstance(t, type) and issubclass(t, msgspec.Struct)]
    return found[0] if found else None


def _dotted(loc: Sequence[str | int]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


# msgspec reports "<message> - at `$.a.b[0]`" (or "at `key` in `$.a`" for a dict key);
# this is the one place that reads its wording.
_AT = re.compile(r"^(?P<msg>.*?)(?: - at `(?P<key>key` in `)?\$(?P<path>[^`]*)`)?$", re.S)
_PART = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")
_QUOTED = re.compile(r"`([^`]*)`")


def _describe(error: msgspec.ValidationError, data: dict[str, Any]) -> tuple[KeyPath, str]:
    match = _AT.match(str(error))
    assert match is not None
    msg, raw_path = match["msg"], match["path"] or ""
    loc: list[str | int] = []
    truncated = False
    for name, index in _PART.findall(raw_path):
        if index == "...":
            truncated = True  # msgspec does not say which dict key: report the mapping
            break
        loc.append(int(index) if index else name)
    if match["key"]:
        return tuple(loc), f"'{_dotted(loc)}': a key {msg[0].lower()}{msg[1:]}"
    if msg.startswith("Object contains unknown field"):
        key = _QUOTED.findall(msg)[0]
        parent = _struct_at(loc)
        known = sorted(parent.__struct_fields__) if parent else []
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
        full = (*loc, key)
        return full, f"unknown key '{_dotted(full)}'; {hint}"
    if msg.startswith("Object missing required field"):
        full = (*loc, _QUOTED.findall(msg)[0])
        return full, f"missing required key '{_dotted(full)}'; add it to the params file"
    got = None if truncated else _value_at(data, loc)
    if msg.startswith("Invalid enum value"):
        choices = [str(a) for t in _unwrap(_field_type(loc)) if get_origin(t) is Literal
                   for a in get_args(t)]
        return tuple(loc), (f"'{_dotted(loc)}': {got!r} is not one of "
                            f"{', '.join(repr(c) for c in choices)}")
    if msg.startswith("Expected"):
        shown = "" if truncated or ", got `" in msg else f" (got {got!r})"
        return tuple(loc), f"'{_dotted(loc)}': {msg[0].lower()}{msg[1:]}{shown}"
    # A cross-field rule from a __post_init__: its message is ours already.
    return tuple(loc), f"'{_dotted(loc)}': {msg}" if loc else msg


def _value_at(data: Any, loc: Sequence[str | int]) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def validate(data: dict[str, Any], smap: SourceMap, files: Sequence[Path]) -> Environment:
    for hit in _find_secrets(data):
        file, line = smap.locate(hit.path) or (str(files[-1]), 0)
        if file.startswith("--set "):  # never echo the secret back
            file = file.split("=", 1)[0] + "=" + secrets.MASK
        raise ParamsError(
            f"'{_key_name(hit.path)}' holds a secret value ({hit.reason}); never write secrets "
            f"in params: {_secret_fix(hit.path)}",
            file,
            line or None,
        )
    if isinstance(data.get("account_id"), int) and not isinstance(data["account_id"], bool):
        # YAML reads an unquoted account id as a number; AWS ids keep leading zeros.
        data = {**data, "account_id": f"{data['account_id']:012d}"}
    try:
        return msgspec.convert(data, Environment)
    except msgspec.ValidationError as exc:
        loc, message = _describe(exc, data)
        file, line = smap.locate(loc) or (str(files[-1]), 0)
        raise ParamsError(message, file, line or None) from None


def load_env(params_dir: Path, env: str, overrides: Sequence[str] = ()) -> LoadedEnv:
    env_file = params_dir / f"{env}.yaml"
    if not ENV_NAME.match(env) or not env_file.is_file():
        known = list_envs(params_dir)
        close = difflib.get_close_matches(env, known, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise UsageError(
            f"unknown env '{env}': no {env_file}; {hint}known envs: {', '.join(known) or 'none'}"
        )
    files: list[Path] = []
    data: dict[str, Any] = {}
    smap = SourceMap()
    for path in (params_dir / BASE_FILE, env_file):
        if not path.is_file():
            continue
        part, part_map = load_with_lines(path)
        data = deep_merge(data, part)
        smap.update(part_map)
        files.append(path)
    for expr in overrides:
        key, value = parse_set(expr)
        data = _apply_set(data, key, value)
        for end in range(1, len(key) + 1):
            smap.lines[key[:end]] = (f"--set {expr}", 0)
    return LoadedEnv(env, validate(data, smap, files), tuple(files))
