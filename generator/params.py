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
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from generator.config import Environment
from generator.errors import ParamsError, UsageError
from generator.yamlsrc import KeyPath, SourceMap, load_with_lines

BASE_FILE = "base.yaml"
SCHEMA_FILE = "schema.json"
ENV_NAME = re.compile(r"^[a-z][a-z0-9-]{0,20}$")
SECRET_KEY = re.compile(r"(?i)(passw(or)?d|secret|token|api[_-]?key|private[_-]?key)")
# Keys whose names look secret but whose values are modes or references, not secrets.
SECRET_MODE_KEYS = {("rds", "password"): {"managed", "secret"}}


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


def _find_secrets(data: Any, path: KeyPath = ()) -> Iterable[KeyPath]:
    if isinstance(data, dict):
        for key, value in data.items():
            sub = (*path, key)
            if isinstance(value, (dict, list)):
                yield from _find_secrets(value, sub)
            elif (
                SECRET_KEY.search(str(key))
                and isinstance(value, (str, int))
                and not isinstance(value, bool)
                and not str(value).startswith("arn:")
                and str(value) not in SECRET_MODE_KEYS.get(sub, set())
            ):
                yield sub
    elif isinstance(data, list):
        for i, item in enumerate(data):
            yield from _find_secrets(item, (*path, i))


def _model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The pydantic model that holds the key at ``loc`` (for did-you-mean)."""
    model: type[BaseModel] = Environment
    for part in loc:
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        ann = field.annotation
        candidates = [ann, *get_args(ann)]
        for cand in list(candidates):
            if get_origin(cand) in (dict, list):
                candidates.extend(get_args(cand))
        nxt = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
        if nxt is None:
            return None
        model = nxt
    return model


def _dotted(loc: Sequence[str | int]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _describe(err: dict[str, Any]) -> tuple[KeyPath, str]:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    kind = err["type"]
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1])
        known = sorted(parent.model_fields) if parent else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
        return loc, f"unknown key '{_dotted(loc)}'; {hint}"
    if kind == "missing":
        return loc, f"missing required key '{_dotted(loc)}'; add it to the params file"
    msg = err["msg"].removeprefix("Value error, ")
    if kind == "literal_error":
        return loc, f"'{_dotted(loc)}': {msg}"
    if kind == "value_error":
        where = f"'{_dotted(loc)}': " if loc else ""
        return loc, f"{where}{msg}"
    return loc, f"'{_dotted(loc)}': {msg} (got {err.get('input')!r})"


def validate(data: dict[str, Any], smap: SourceMap, files: Sequence[Path]) -> Environment:
    for path in _find_secrets(data):
        file, line = smap.locate(path) or (str(files[-1]), 0)
        raise ParamsError(
            f"'{_dotted(path)}' holds a secret value; never write secrets in params: "
            "store it in Secrets Manager or SSM and reference it under ecs.container.secrets",
            file,
            line or None,
        )
    try:
        return Environment.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        loc, message = _describe(dict(errors[0]))
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        file, line = smap.locate(loc) or (str(files[-1]), 0)
        raise ParamsError(message + more, file, line or None) from None


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
