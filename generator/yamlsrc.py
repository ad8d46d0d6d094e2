"""YAML reading with source positions, and a CloudFormation-aware loader.

Params files are loaded into plain data plus a map from key path to line, so
that a validation error can name ``file:line`` of the offending key.

A params file is untrusted input, so reading it is bounded: aliases are
followed, but the values they expand to are counted (a 1 KB "billion laughs"
file would otherwise grow to gigabytes), an alias may not contain itself, and
nesting is limited. Merge keys (``<<: *defaults``) are supported with the
YAML merge-key rules: keys written in the mapping win over merged ones, and of
several merged mappings the first wins. A plain scalar where the schema wants a
string is read as the text written (``16.10`` stays ``"16.10"``, an account id
``012345670123`` keeps its leading zero instead of becoming an octal number).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import yaml

try:  # libyaml is much faster; fall back to the pure-Python loader
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader

from generator.errors import ParamsError

KeyPath = tuple[str | int, ...]
# Whether the schema wants a string at a key path (then a plain scalar keeps its text).
StringAt = Callable[[KeyPath], bool]

# A params file holds a few hundred values; these bounds are far above any real one.
MAX_VALUES = 10_000
MAX_DEPTH = 64
MAX_BYTES = 1_000_000

_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"
_NULL_TAG = "tag:yaml.org,2002:null"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"


class SourceMap(msgspec.Struct):
    """Where each key path of a merged document was last written."""

    lines: dict[KeyPath, tuple[str, int]] = msgspec.field(default_factory=dict)

    def locate(self, path: KeyPath) -> tuple[str, int] | None:
        # Walk up until a recorded ancestor: a missing key is reported at its parent.
        for end in range(len(path), -1, -1):
            hit = self.lines.get(path[:end])
            if hit:
                return hit
        return None

    def update(self, other: SourceMap) -> None:
        self.lines.update(other.lines)


def dotted(path: KeyPath) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


_resolver = yaml.resolver.Resolver()


def _implicit_tag(text: str) -> str:
    """The tag a plain scalar gets from its text alone (so ``!!binary`` stays explicit)."""
    tag: str = _resolver.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return tag


class _Reader:
    """Composed YAML nodes → plain data, with lines, bounded against alias bombs."""

    def __init__(self, src: str, string_at: StringAt | None) -> None:
        self.src = src
        self.string_at = string_at
        self.smap = SourceMap()
        self.count = 0
        self.seen: set[int] = set()  # nodes already read: meeting one again is an alias
        self.active: set[int] = set()  # collections being read: meeting one is a cycle
        self.alias_at: tuple[KeyPath, int] | None = None  # the alias being expanded
        self.constructor = yaml.constructor.SafeConstructor()

    def fail(self, message: str, line: int) -> ParamsError:
        return ParamsError(message, self.src, line or None)

    def read(self, node: yaml.Node, path: KeyPath, line: int) -> Any:
        """``line`` is where the value is written: its key's line (an alias keeps its anchor's)."""
        ident = id(node)
        line = line or node.start_mark.line + 1
        if ident in self.active:
            raise self.fail(f"'{dotted(path)}': an alias refers to a mapping or list that contains "
                            "it, which never ends; write the values out", line)
        outermost = ident in self.seen and self.alias_at is None
        if outermost:  # errors inside an expansion point at the alias that started it
            self.alias_at = (path, line)
        self.seen.add(ident)
        try:
            return self._read(node, path, line, ident)
        finally:
            if outermost:
                self.alias_at = None

    def _read(self, node: yaml.Node, path: KeyPath, line: int, ident: int) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            if self.alias_at is not None:
                where, line = self.alias_at
                raise self.fail(f"'{dotted(where)}': aliases expand to more than {MAX_VALUES} "
                                "values (nested aliases multiply); write the values out", line)
            raise self.fail(f"'{dotted(path)}': the file holds more than {MAX_VALUES} values; "
                            "a params file holds settings, not data", line)
        if len(path) > MAX_DEPTH:
            raise self.fail(f"'{dotted(path)}': nested more than {MAX_DEPTH} levels deep; "
                            "flatten it", line)
        self.smap.lines.setdefault(path, (self.src, line))
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path, line)
        if node.tag not in (_SEQ_TAG, _MAP_TAG):  # !!set, !!omap, !!python/object/apply:...
            raise self.fail(f"'{dotted(path)}': YAML tag {node.tag} is not supported in params; "
                            "write a plain list or mapping", line)
        self.active.add(ident)
        try:
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, path)
            # An item that is an alias is reported at its list's line, not at its anchor.
            return [self.read(item, (*path, i), line if id(item) in self.seen else 0)
                    for i, item in enumerate(node.value)]
        finally:
            self.active.discard(ident)

    def scalar(self, node: yaml.ScalarNode, path: KeyPath, line: int) -> Any:
        if (self.string_at is not None and not node.style  # plain: C loader says "", Python None
                and node.tag not in (_STR_TAG, _NULL_TAG)
                and _implicit_tag(node.value) == node.tag
                and self.string_at(path)):
            return node.value  # a number, date or yes/no where a string belongs: as written
        try:
            return self.constructor.construct_object(node)
        except yaml.YAMLError:
            raise self.fail(f"'{dotted(path)}': YAML tag {node.tag} is not supported in params; "
                            "write the plain value", line) from None

    def mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        merges = [(k, v) for k, v in node.value if k.tag == _MERGE_TAG]
        if len(merges) > 1:
            raise self.fail(f"duplicate key '{dotted((*path, '<<'))}'; merge several mappings "
                            "with one list: <<: [*a, *b]", merges[1][0].start_mark.line + 1)
        for key_node, value_node in merges:  # first, so that written keys win
            line = key_node.start_mark.line + 1
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    raise self.fail(f"'{dotted(path)}': '<<' merges a mapping or a list of "
                                    "mappings, e.g. <<: *defaults", line)
                for key, value in self.read(source, path, line).items():
                    merged.setdefault(key, value)  # of several merged mappings the first wins
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(f"'{dotted(path)}': a key must be a name, not a list or mapping",
                                line)
            key = key_node.value  # the key as written: `1.10:` stays "1.10"
            if key in out:
                raise self.fail(f"duplicate key '{dotted((*path, key))}'; keep one of them", line)
            self.smap.lines[(*path, key)] = (self.src, line)
            out[key] = self.read(value_node, (*path, key), line)
        return {**merged, **out}


def _fail_yaml(exc: yaml.YAMLError, text: str, src: str) -> ParamsError:
    if isinstance(exc, yaml.reader.ReaderError):
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        line = text.count("\n", 0, exc.position) + 1
        return ParamsError(f"character #x{char:04x} is not allowed in YAML (control "
                           "characters); remove it", src, line)
    if not isinstance(exc, yaml.MarkedYAMLError):
        return ParamsError(f"malformed YAML ({exc}); fix the syntax", src)
    mark = exc.problem_mark or exc.context_mark
    last = text.count("\n") + (0 if text.endswith("\n") else 1)
    if mark is not None and mark.line + 1 > last and exc.context_mark is not None:
        # The file ended inside something (a quote, a bracket): point where it opened.
        mark = exc.context_mark
    problem = exc.problem or "invalid YAML"
    if exc.context and exc.context_mark is not None:
        problem += f" {exc.context} from line {exc.context_mark.line + 1}"
    fix = "close the quote" if "quoted scalar" in (exc.context or "") else "fix the syntax"
    if mark is not None and "\t" in text.splitlines()[mark.line:mark.line + 1][0][:mark.column + 1]:
        fix = "indent with spaces: YAML does not allow tabs there"
    return ParamsError(f"malformed YAML: {problem}; {fix}", src, mark.line + 1 if mark else None)


def _compose(text: str, src: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise _fail_yaml(exc, text, src) from None
    except RecursionError:
        raise ParamsError("nested too deeply to read; flatten it", src) from None


def decode(raw: bytes, src: str) -> str:
    """Params files are UTF-8 (a BOM is allowed); anything else is named, with its line."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ParamsError("is UTF-16; save it as UTF-8", src, 1)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ParamsError(f"not UTF-8: byte 0x{raw[exc.start]:02x} at column {column}; "
                          "save the file as UTF-8", src, line) from None


def read_source(path: Path) -> str:
    """A params file's text, or one line saying why it cannot be read."""
    try:
        if path.exists() and not path.is_file() and not path.is_dir():
            # /dev/zero would never end, a FIFO would block: only regular files are read.
            raise ParamsError("is not a regular file (a device, FIFO or socket); use a YAML file",
                              path)
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ParamsError("file not found; create it", path) from None
    except IsADirectoryError:
        raise ParamsError("is a directory, not a YAML file; move it away", path) from None
    except OSError as exc:
        raise ParamsError(f"cannot read it ({exc.strerror}); check its permissions", path) from None
    if len(raw) > MAX_BYTES:
        raise ParamsError(f"is more than a params file's {MAX_BYTES} bytes; "
                          "it should hold settings only", path)
    return decode(raw, str(path))


def load_text(text: str, src: str,
              string_at: StringAt | None = None) -> tuple[dict[str, Any], SourceMap]:
    """Load one YAML mapping, recording the line of every key path."""
    for number, text_line in enumerate(text.splitlines(), 1):
        indent = text_line[:len(text_line) - len(text_line.lstrip())]
        if "\u00a0" in indent:  # YAML reads it as content, and the error makes no sense
            raise ParamsError("a non-breaking space (U+00A0) in the indentation; use plain spaces",
                              src, number)
    node = _compose(text, src)
    if node is None:
        return {}, SourceMap()
    if not isinstance(node, yaml.MappingNode):
        raise ParamsError("top level must be a mapping of keys to values, e.g. `asg: {...}`",
                          src, node.start_mark.line + 1)
    reader = _Reader(src, string_at)
    data = reader.read(node, (), 0)
    assert isinstance(data, dict)
    return data, reader.smap


def load_with_lines(path: Path,
                    string_at: StringAt | None = None) -> tuple[dict[str, Any], SourceMap]:
    return load_text(read_source(path), str(path), string_at)


def load_value(text: str, src: str, path: KeyPath, string_at: StringAt | None = None) -> Any:
    """One value (a ``--set`` right-hand side) read by the same bounded rules as a file."""
    node = _compose(text, src)
    if node is None:
        return None
    return _Reader(src, string_at).read(node, path, 0)


# --- CloudFormation templates -------------------------------------------------


class CfnLoader(_Loader):  # type: ignore[misc,valid-type]
    """Safe loader that understands CloudFormation short-form tags."""


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_plain(text: str) -> Any:
    """``yaml.safe_load`` through libyaml when PyYAML has it (a trusted file, e.g. stacks.yaml)."""
    return yaml.load(text, Loader=_Loader)


class CfnOutline(msgspec.Struct, frozen=True):
    """What rendering reads back from a template it wrote: its Outputs' names and the
    string Type of each resource, in the order written."""

    outputs: tuple[Any, ...]
    resource_types: tuple[str, ...]


class _Unusual(Exception):
    """A shape the outline does not read itself (a merge key, a key that is not plain
    text, a tag where a mapping is read): ``load_cfn`` decides."""


def cfn_outline(text: str) -> CfnOutline:
    """A rendered template checked as YAML and outlined, without building the rest.

    libyaml composes the node tree and only the keys read become values. The same text
    gives what ``load_cfn`` would (anything unusual is handed to it) and fails as it
    would, with a ``yaml.MarkedYAMLError`` naming the line: the syntax's from the
    composer, a tag no constructor takes (a mistyped ``!!int``) from the walk below.
    Building every value cost a render of eight stacks ~12 ms, most of its parsing."""
    root = yaml.compose(text, Loader=CfnLoader)
    try:
        _check_tags(root)
        top = _entries(root)
        outputs = tuple(_entries(top["Outputs"])) if "Outputs" in top else ()
        types = []
        for resource in (_entries(top["Resources"]).values() if "Resources" in top else ()):
            if isinstance(resource, yaml.MappingNode) and resource.tag == _MAP_TAG:
                kind = _entries(resource).get("Type")
                if isinstance(kind, yaml.ScalarNode) and kind.tag == _STR_TAG:
                    types.append(kind.value)
        return CfnOutline(outputs, tuple(types))
    except _Unusual:
        doc = load_cfn(text)
        resources = doc.get("Resources") or {}
        return CfnOutline(
            tuple(doc.get("Outputs") or {}),
            tuple(r["Type"] for r in (resources.values() if isinstance(resources, dict) else ())
                  if isinstance(r, dict) and isinstance(r.get("Type"), str)))


def _entries(node: yaml.Node | None) -> dict[str, yaml.Node]:
    """A plain mapping node's values by key text, as a dict built from it would hold
    them (first position, last value of a repeated key); nothing for a scalar or null."""
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG):
        return {}
    if not isinstance(node, yaml.MappingNode) or node.tag != _MAP_TAG:
        raise _Unusual
    out: dict[str, yaml.Node] = {}
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag != _STR_TAG:
            raise _Unusual
        out[key.value] = value
    return out


def _check_tags(root: yaml.Node | None) -> None:
    """Fail where SafeLoader's constructor would fail for want of one: a tag neither it
    nor the CloudFormation short forms (``!Ref`` ...) construct."""
    known = CfnLoader.yaml_constructors
    todo = [root] if root is not None else []
    seen: set[int] = set()
    while todo:
        node = todo.pop()
        if id(node) in seen:  # an alias: the same node again
            continue
        seen.add(id(node))
        if node.tag not in known and not node.tag.startswith("!"):
            raise yaml.constructor.ConstructorError(
                None, None, f"could not determine a constructor for the tag {node.tag!r}",
                node.start_mark)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.tag == _MERGE_TAG:  # the constructor's merge rules: load_cfn's
                    raise _Unusual
                todo.append(key)
                todo.append(value)
        elif isinstance(node, yaml.SequenceNode):
            todo.extend(node.value)


def load_cfn(text: str) -> dict[str, Any]:
    """Parse a rendered template (short-form tags become long form). A run reads each
    template in several places (render, lint, forecast, the deploy's moves): it is
    parsed once, and each caller gets its own copy to change as it likes."""
    return copy.deepcopy(_parsed_cfn(text))


@functools.lru_cache(maxsize=64)
def _parsed_cfn(text: str) -> dict[str, Any]:
    data = yaml.load(text, Loader=CfnLoader)
    return data if isinstance(data, dict) else {}
