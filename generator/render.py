"""Validated config → rendered CloudFormation templates, parameters files and manifest.

Rendering is pure: the same params and templates give byte-identical files.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import traceback
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

import jinja2
import msgspec
import yaml

from generator import __version__
from generator.cfndoc import STATEFUL_TYPES
from generator.context import (
    Names,
    Raw,
    StackContext,
    logical_id,
    stack_context,
    yaml_scalar,
)
from generator.errors import OutputError, TemplateError, UsageError
from generator.graph import Graph, Stack, build_graph, check_outputs, load_spec
from generator.params import EnvSource
from generator.references import Lookup, ParamValue, parse_parameters
from generator.views.facts import Facts
from generator.yamlsrc import CfnOutline, cfn_outline

ROOT_TEMPLATE = "root.yaml.j2"
NESTED_DIR = "nested"
MANIFEST = "manifest.json"


def cfn_string(value: Any) -> str:
    """A CloudFormation string value (booleans as true/false), quoted."""
    if isinstance(value, bool):
        return json.dumps("true" if value else "false")
    return json.dumps(str(value))


class CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates kept in memory for the process: compiling costs about four
    fifths of a render, and `--all-envs`, the multi-env deploy and the test suite render
    the same templates again and again. Jinja keys an entry by template name and file
    path and checks the source's checksum on every load, so an edited template (or
    another directory's) is compiled afresh."""

    def __init__(self) -> None:
        self.entries: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self.entries.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.entries[bucket.key] = bucket.bytecode_to_string()


COMPILED = CompiledTemplates()


def make_jinja(templates_dir: Path, cache_dir: Path | None = None) -> jinja2.Environment:
    # Compiling templates costs more than rendering them; the bytecode cache is
    # keyed by source checksum, so an edited template is always recompiled.
    bytecode_cache: jinja2.BytecodeCache = COMPILED
    if cache_dir is not None:
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            bytecode_cache = jinja2.FileSystemBytecodeCache(str(cache_dir))
        except OSError:
            pass  # the cache is only an optimisation: render without it
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        bytecode_cache=bytecode_cache,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["y"] = yaml_scalar
    env.filters["s"] = cfn_string
    return env


class RenderedStack(msgspec.Struct, frozen=True, dict=True):
    name: str
    stack_name: str
    template: str
    parameters: dict[str, Any]
    tags: dict[str, str]
    upstream: tuple[str, ...]
    outputs: tuple[str, ...]

    @functools.cached_property
    def param_values(self) -> dict[str, ParamValue]:
        """The parameters typed, parsed once: static values, outputs read, lookups."""
        return parse_parameters(self.parameters)

    @property
    def params_json(self) -> str:
        doc = {"StackName": self.stack_name, "Parameters": self.parameters, "Tags": self.tags}
        return json.dumps(doc, indent=2, sort_keys=True) + "\n"

    @property
    def sha256(self) -> str:
        return hashlib.sha256((self.template + self.params_json).encode()).hexdigest()

    @property
    def template_sha256(self) -> str:
        return hashlib.sha256(self.template.encode()).hexdigest()


class Rendered(msgspec.Struct, frozen=True):
    env: EnvSource
    graph: Graph
    names: Names
    stacks: dict[str, RenderedStack]
    root: RenderedStack
    templates_dir: Path

    def select(self, stacks: Collection[str]) -> list[str]:
        """``--stack`` (none: every stack) in graph order; an unknown name is refused with
        the closest known one, before anything is written or deployed."""
        unknown = sorted(set(stacks) - set(self.stacks))
        if unknown:
            from difflib import get_close_matches  # only for a hint: off the start-up path
            close = get_close_matches(unknown[0], list(self.stacks), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise UsageError(f"--stack {unknown[0]}: not a stack of env '{self.env.name}'; "
                             f"{hint}stacks: {', '.join(self.graph.order)}")
        return [s for s in self.graph.order if not stacks or s in stacks]

    def manifest(self) -> dict[str, Any]:
        return {
            "env": self.env.name,
            "project": self.names.project,
            "tool_version": __version__,
            "order": self.graph.order,
            "stacks": {
                name: {
                    "stack_name": s.stack_name,
                    "template": f"{name}.yaml",
                    "parameters": f"{name}.params.json",
                    "upstream": list(s.upstream),
                    "inputs": {i.param: i.ref for i in self.graph.stacks[name].inputs},
                    "outputs": list(s.outputs),
                    "sha256": s.sha256,
                }
                for name, s in self.stacks.items()
            },
            "nested": {
                "template": f"{NESTED_DIR}/root.yaml",
                "parameters": f"{NESTED_DIR}/root.params.json",
                "sha256": self.root.sha256,
            },
        }


def _template_location(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(".j2")]
    if not frames:
        return ""
    last = frames[-1]
    return f"{last.filename}:{last.lineno}: "


_BLANK_RUNS = re.compile(r"\n{3,}")


def tidy(text: str) -> str:
    """One blank line at most between blocks, none trailing: partials need not care."""
    text = "\n".join(line.rstrip() for line in text.splitlines())
    return _BLANK_RUNS.sub("\n\n", text).strip("\n") + "\n"


def _render_one(jinja: jinja2.Environment, name: str, variables: dict[str, Any]) -> str:
    try:
        return tidy(jinja.get_template(name).render(**variables))
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template {exc.name} not found in {jinja.loader.searchpath}; "  # type: ignore[union-attr]
                            "add it or remove the stack from stacks.yaml") from None
    except OSError as exc:  # a template (or a partial) that cannot be read: permissions
        what = exc.filename or name
        raise TemplateError(f"{what}: cannot be read ({exc.strerror or exc}); give the user "
                            "running stackgen read access (chmod u+r)") from None
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start]
        raise TemplateError(f"{name} (or a partial it includes): not UTF-8, byte 0x{byte:02x} "
                            f"at offset {exc.start}; save it as UTF-8") from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{exc.filename}:{exc.lineno}: template syntax: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        where = _template_location(exc)
        raise TemplateError(
            f"{where}{exc.message}; add it to the stack's view (generator/views/) or fix the name"
        ) from None


def _parse(text: str, label: str) -> CfnOutline:
    try:
        return cfn_outline(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise TemplateError(
            f"{label}:{line}: rendered YAML is invalid ({exc.problem}); check the template's "
            "indentation"
        ) from None


def _tags(names: Names, stack: str, extra: dict[str, str]) -> dict[str, str]:
    return {**extra, "stackgen:project": names.project, "stackgen:env": names.env,
            "stackgen:stack": stack}


def render(env: EnvSource, templates_dir: Path, cache_dir: Path | None = None) -> Rendered:
    cfg = env.config
    names = Names(cfg.project, env.name)
    spec_file = templates_dir / "stacks.yaml"
    facts = Facts.of(cfg)  # once per env: the graph and every view read the same
    graph = build_graph(load_spec(templates_dir), facts.conditions, spec_file)
    jinja = make_jinja(templates_dir, cache_dir)
    stacks: dict[str, RenderedStack] = {}
    contexts: dict[str, StackContext] = {}
    docs: dict[str, CfnOutline] = {}  # each rendered template parsed once
    for name in graph.order:
        ctx = stack_context(graph.stacks[name], cfg, names, facts)
        text = _render_one(jinja, f"{name}.yaml.j2", ctx.as_template_vars())
        doc = _parse(text, f"{name}.yaml (from {name}.yaml.j2)")
        contexts[name] = ctx
        docs[name] = doc
        stacks[name] = RenderedStack(
            name=name,
            stack_name=names.stack(name),
            template=text,
            parameters={p.name: p.file_value for p in ctx.params},
            tags=_tags(names, name, cfg.tags),
            upstream=graph.stacks[name].upstream,
            outputs=doc.outputs,
        )
    check_outputs(graph, {n: set(s.outputs) for n, s in stacks.items()}, spec_file)
    root = _render_root(jinja, env, graph, names, stacks, contexts, docs)
    return Rendered(env, graph, names, stacks, root, templates_dir)


def artifact_prefix(names: Names) -> str:
    return f"stackgen/{names.prefix}/"


def artifact_key(names: Names, stack: RenderedStack) -> str:
    """Content-addressed S3 key of a child template: unchanged text, unchanged key."""
    return f"{artifact_prefix(names)}{stack.name}/{stack.template_sha256}.yaml"


def nested_view(rendered: Rendered) -> Rendered:
    """The env as one stack: the root, whose children are the rendered stacks."""
    root = rendered.root
    return Rendered(rendered.env, Graph({"root": Stack("root")}), rendered.names,
                    {"root": root}, root, rendered.templates_dir)


def _render_root(
    jinja: jinja2.Environment,
    env: EnvSource,
    graph: Graph,
    names: Names,
    stacks: dict[str, RenderedStack],
    contexts: dict[str, StackContext],
    docs: dict[str, CfnOutline],
) -> RenderedStack:
    root_params: dict[str, Any] = {"ArtifactBucket": Lookup("ArtifactBucket").as_json()}
    children = []
    for name in graph.order:
        inputs = {i.param: i for i in graph.stacks[name].inputs}
        values: dict[str, str] = {}
        for p in contexts[name].params:
            if p.name in inputs:
                i = inputs[p.name]
                # Long form: the attribute name has a dot, which moto's short form splits.
                values[p.name] = Raw(yaml_scalar(
                    {"Fn::GetAtt": [logical_id(i.stack), f"Outputs.{i.output}"]}))
            elif p.source is not None:  # a deploy-time lookup becomes a root parameter
                root_name = f"{logical_id(name)}{p.name}"
                root_params[root_name] = p.source
                values[p.name] = Raw(f"!Ref {root_name}")
            else:
                values[p.name] = Raw(cfn_string(p.value))
        children.append(
            {
                "id": logical_id(name),
                "stack": name,
                "key": artifact_key(names, stacks[name]),
                "parameters": values,
                # `after:` reads no output, so nothing implies the order: say it.
                "depends_on": [logical_id(u) for u in graph.stacks[name].after],
                "outputs": [(f"{logical_id(name)}{o}", o) for o in stacks[name].outputs],
                # Prod-like envs keep a child holding data (a log group keeps itself).
                "retain": env.config.termination_protection and any(
                    t in STATEFUL_TYPES and t != "AWS::Logs::LogGroup"
                    for t in docs[name].resource_types),
            }
        )
    text = _render_one(
        jinja,
        ROOT_TEMPLATE,
        {"names": names, "children": children, "root_params": sorted(root_params),
         "domain": env.config.dns.domain},
    )
    doc = _parse(text, f"{NESTED_DIR}/root.yaml")
    return RenderedStack(
        name="root",
        stack_name=names.stack("root"),
        template=text,
        parameters=root_params,
        tags=_tags(names, "root", env.config.tags),
        upstream=(),
        outputs=doc.outputs,
    )


def _write(path: Path, text: str) -> bool:
    """Write only when the content differs, so file times mean something."""
    try:
        if path.is_file() and path.read_bytes() == text.encode():
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}; "
                          f"{_OUTPUT_FIX}") from None
    return True


_OUTPUT_FIX = "make it writable, or choose another directory (--build-dir, --out)"


def check_writable(out_dir: Path, files: Sequence[Path] = (), name: Path | None = None) -> None:
    """Refuse, before anything is written or deployed, an output directory that
    cannot take the files: a file in its place or in its path, a directory where a
    file goes, no write permission."""
    target = name or out_dir
    probe = out_dir
    while not probe.exists():
        if probe.is_symlink():  # a dangling link: mkdir would fail on it
            raise OutputError(f"cannot write {target}: {probe} is a broken symbolic link; "
                              f"{_OUTPUT_FIX}")
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise OutputError(f"cannot write {target}: {probe} is a file, not a directory; "
                          f"move it away or {_OUTPUT_FIX.split(', or ')[1]}")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {target}: {probe} is not writable; {_OUTPUT_FIX}")
    fine: set[Path] = set()  # directories on the way already seen to be no file
    for path in files:
        for part in reversed(path.parents):
            if part in fine:
                continue
            if part.exists() and not part.is_dir():
                raise OutputError(f"cannot write {path}: {part} is a file, not a directory; "
                                  f"move it away or {_OUTPUT_FIX.split(', or ')[1]}")
            fine.add(part)
        if path.is_dir():
            raise OutputError(f"cannot write {path}: a directory is in its place; "
                              f"move it away or {_OUTPUT_FIX.split(', or ')[1]}")
        if path.exists() and not os.access(path, os.W_OK):
            raise OutputError(f"cannot write {path}: it is read-only; {_OUTPUT_FIX}")


def write_file(path: Path, text: str) -> None:
    """One output file (a report, a plan), checked like the rendered ones."""
    check_writable(path.parent, [path], path)
    _write(path, text)


def _files(rendered: Rendered, out_dir: Path, only: set[str] | None) -> dict[Path, str]:
    files: dict[Path, str] = {}
    for name, s in rendered.stacks.items():
        if only and name not in only:
            continue
        files[out_dir / f"{name}.yaml"] = s.template
        files[out_dir / f"{name}.params.json"] = s.params_json
    if not only:
        nested = out_dir / NESTED_DIR
        files[nested / "root.yaml"] = rendered.root.template
        files[nested / "root.params.json"] = rendered.root.params_json
    files[out_dir / MANIFEST] = json.dumps(rendered.manifest(), indent=2, sort_keys=True) + "\n"
    return files


def preflight(rendered: Rendered, out_dir: Path, only: set[str] | None = None) -> None:
    """Everything ``write`` checks before writing, for callers that write later."""
    check_writable(out_dir, list(_files(rendered, out_dir, only)))


def write_all(envs: Sequence[Rendered], out_dir: Callable[[Rendered], Path],
              only: set[str] | None = None) -> list[list[Path]]:
    """Several envs, rendered (and so validated) already: every output checked before
    any is written, so bad input or a blocked path leaves nothing behind."""
    planned = [(out_dir(rendered), _files(rendered, out_dir(rendered), only)) for rendered in envs]
    for directory, files in planned:
        check_writable(directory, list(files))
    return [_write_files(files) for _, files in planned]


def write(rendered: Rendered, out_dir: Path, only: set[str] | None = None) -> list[Path]:
    """Write templates, parameters files, the nested form and the manifest.

    Every target is checked first, so a blocked path fails before any file changes."""
    files = _files(rendered, out_dir, only)
    check_writable(out_dir, list(files))
    return _write_files(files)


def _write_files(files: dict[Path, str]) -> list[Path]:
    for path, text in files.items():
        _write(path, text)
    return list(files)
