"""Fixes to moto for this stack set, loaded only into the endpoint's server process.

The package's rooms: ``providers`` (resource types moto's CloudFormation skips),
``cloudformation`` (moto's CloudFormation API where it differs from AWS's), ``services``
(moto's service models where they miss what AWS holds), ``acm_keys`` (certificates'
keys made ahead, off a deploy's critical path); this module holds the version of
moto they were written against and the order they are applied in, with the AWS behaviours
of ``generator.local.emulation`` and the drift detection of ``generator.local.drift``.

Each fix is a few lines on top of moto's own service backends and has a test
(tests/local/test_compat.py) that fails on bare moto, so a fix can be dropped
the day moto ships it. Where moto merely drops a property, nothing is patched:
the templates stay right for AWS and the tests read what moto keeps.
"""

from __future__ import annotations

import functools
from typing import Any

import moto
from moto.cloudformation import parsing
from moto.core import loaders as moto_loaders
from moto.core import utils as moto_utils

from generator.local import drift, emulation
from generator.local.compat import acm_keys, cloudformation, providers, services

MOTO_VERSION = "5.2.5"

__all__ = ["MOTO_VERSION", "CompatError", "apply", "backends_found_once", "one_model_loader",
           "providers"]


class CompatError(RuntimeError):
    """The installed moto is not the one these fixes were written against."""


def apply() -> None:
    if moto.__version__ != MOTO_VERSION:
        raise CompatError(f"the local endpoint's fixes are for moto {MOTO_VERSION}, "
                          f"found {moto.__version__}; reinstall with `make install`")
    one_model_loader()
    backends_found_once()
    cloudformation.publish_outputs_after_change_set()
    cloudformation.echo_parameters_as_sent()
    services.rds_managed_master_password()
    services.elbv2_full_names()
    services.elbv2_load_balancer_updates()
    services.route_tables_deleted_with_stack()
    cloudformation.update_termination_protection()
    cloudformation.nested_stack_outputs()
    cloudformation.change_sets_read_back()
    cloudformation.lists_read_whole()
    services.task_level_memory_sizes_tasks()
    services.stopped_tasks_free_their_instance()
    emulation.apply()
    drift.apply()
    services.s3_policies_see_secure_transport()
    acm_keys.apply()
    # moto builds its type map from CloudFormationModel's subclasses once (the classes of
    # ``providers`` among them, defined on import); rebuild it so they are found.
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()


def backends_found_once() -> None:
    """moto's server finds the backend of every request under one lock, by listing its
    package's directories (a stat for each of ~160) and matching its URL patterns: 1-3 ms
    a request, with every other request waiting on that lock (a create's stacks in flight
    call side by side; issue 28). A host's backend never changes in a process: found
    once per host, then read."""
    from moto.moto_server import werkzeug_app

    app = werkzeug_app.DomainDispatcherApplication
    if hasattr(app.get_backend_for_host, "found"):
        return
    original = app.get_backend_for_host
    found: dict[str | None, Any] = {}

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        if host not in found:  # called under the dispatcher's lock
            found[host] = original(self, host)
        return found[host]

    get_backend_for_host.found = found  # type: ignore[attr-defined]
    app.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]


def one_model_loader() -> None:
    """moto makes a new botocore Loader for every service model it loads, and a new
    Loader lists every service's data directory before it loads one: ~1.4 s of an
    endpoint's first deploy went to those listings. One Loader for the process lists
    them once and keeps what it loaded (botocore's own clients share one the same way)."""
    names = vars(moto_utils)  # create_loader is imported there, not exported
    if not hasattr(names["create_loader"], "cache_info"):
        names["create_loader"] = functools.cache(moto_loaders.create_loader)
