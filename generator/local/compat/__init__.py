"""Fixes to moto for this stack set, loaded only into the endpoint's server process.

The package's rooms: ``providers`` (resource types moto's CloudFormation skips),
``cloudformation`` (moto's CloudFormation API where it differs from AWS's), ``services``
(moto's service models where they miss what AWS holds), ``speed`` and ``acm_keys``
(moto's own costs: work done once, or ahead, not per request); this module holds the version of
moto they were written against and the order they are applied in, with the AWS behaviours
of ``generator.local.emulation`` and the drift detection of ``generator.local.drift``.

Each fix is a few lines on top of moto's own service backends and has a test
(tests/local/test_compat.py) that fails on bare moto, so a fix can be dropped
the day moto ships it. Where moto merely drops a property, nothing is patched:
the templates stay right for AWS and the tests read what moto keeps.
"""

from __future__ import annotations

import moto
from moto.cloudformation import parsing

from generator.local import drift, emulation
from generator.local.compat import acm_keys, cloudformation, providers, services
from generator.local.compat.speed import (
    one_model_loader,
    one_module_listing,
    templates_read_by_libyaml,
)

MOTO_VERSION = "5.2.5"

__all__ = ["MOTO_VERSION", "CompatError", "apply", "one_model_loader", "one_module_listing",
           "providers", "templates_read_by_libyaml"]


class CompatError(RuntimeError):
    """The installed moto is not the one these fixes were written against."""


def apply() -> None:
    if moto.__version__ != MOTO_VERSION:
        raise CompatError(f"the local endpoint's fixes are for moto {MOTO_VERSION}, "
                          f"found {moto.__version__}; reinstall with `make install`")
    one_model_loader()
    one_module_listing()
    templates_read_by_libyaml()
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
