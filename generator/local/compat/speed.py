"""moto's own costs, not its answers: work its server repeats on every request or every
template that this process can do once, or in C. Each keeps moto's results as they were
(tests/unit/local/test_compat.py compares them with bare moto's)."""

from __future__ import annotations

import functools
import json
from typing import Any

import yaml
from moto import backends as moto_backends
from moto.cloudformation import models as cfn_models
from moto.cloudformation.utils import yaml_tag_constructor
from moto.core import loaders as moto_loaders
from moto.core import utils as moto_utils


def one_model_loader() -> None:
    """moto makes a new botocore Loader for every service model it loads, and a new
    Loader lists every service's data directory before it loads one: ~1.4 s of an
    endpoint's first deploy went to those listings. One Loader for the process lists
    them once and keeps what it loaded (botocore's own clients share one the same way)."""
    names = vars(moto_utils)  # create_loader is imported there, not exported
    if not hasattr(names["create_loader"], "cache_info"):
        names["create_loader"] = functools.cache(moto_loaders.create_loader)


def one_module_listing() -> None:
    """moto's server finds the backend of every request by asking whether the Host names
    one of its modules, and ``list_of_moto_modules`` lists moto's directory (a stat per
    entry, ~180) to answer, under the dispatcher's lock: a fifth of the endpoint's busy
    time in a create of the local env. The modules do not change while it runs."""
    listing = moto_backends.list_of_moto_modules
    if hasattr(listing, "cache_info"):
        return

    @functools.cache
    def once() -> tuple[str, ...]:
        return tuple(listing())

    moto_backends.list_of_moto_modules = once


class MotoTemplateLoader(yaml.CSafeLoader):
    """moto's template reading (its short-form tag constructor) on libyaml's parser, and
    safe: moto's ``yaml.Loader`` would build Python objects from ``!!python/`` tags, which
    no CloudFormation template holds."""


MotoTemplateLoader.add_multi_constructor("", yaml_tag_constructor)


def parse_template(template: str) -> Any:
    """What moto's ``Stack.parse_template`` returns for ``template``. A JSON body is read
    as JSON first: libyaml takes tabs that PyYAML's scanner refuses, so a tab-indented
    JSON template that moto read as JSON (its fallback) would otherwise be read as YAML,
    where ``1e3`` is a string, not the number JSON makes of it: a template is JSON or
    YAML (CloudFormation User Guide, "CloudFormation template format"), and JSON's own
    rules read a JSON one."""
    if template.lstrip().startswith("{"):
        try:
            return json.loads(template)
        except ValueError:
            pass  # YAML's flow mapping, not JSON
    try:
        return yaml.load(template, Loader=MotoTemplateLoader)
    except (yaml.parser.ParserError, yaml.scanner.ScannerError):
        return json.loads(template)


def templates_read_by_libyaml() -> None:
    """moto parses a stack's template with PyYAML's pure-Python loader when a change set is
    made, when it is executed and when the stack is read again (three times a stack):
    a fifth of the endpoint's busy time in a create of the local env."""

    def change_set_template(self: Any) -> None:
        self.template_dict = parse_template(self.template)

    cfn_models.Stack.parse_template = staticmethod(parse_template)  # type: ignore[method-assign]
    cfn_models.ChangeSet._parse_template = change_set_template  # type: ignore[method-assign]
