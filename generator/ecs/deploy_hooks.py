"""What deploy does around the ecs stack: tasks before and after it, a diagnosis when
a stack fails, and verification at the end.

Before-tasks (``ecs.service.run_before``, migrations) run between the change set's
review and its execution, with the task's NEW revision registered from the rendered
template (``register``): the service still runs the old revision, nothing has moved,
and a failure discards the change set. Where that revision cannot be made (the ecs
stack's first create, or a task whose role is new in this deploy), the task runs
right after the stack instead, and deploy says so. After-tasks run after the stack.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from generator.aws.session import Aws
from generator.ecs import diagnose as diag
from generator.ecs.ops import deployed, describe_service, launch_settings
from generator.ecs.register import (
    Resolver,
    Unresolvable,
    deregister,
    register,
    rendered_task_definition,
)
from generator.ecs.run_task import POLL_SECONDS, Runner, TaskFailed
from generator.ecs.verify import Checked, verify, wait_steady
from generator.errors import StackgenError
from generator.render import Rendered
from generator.ui import Console
from generator.yamlsrc import load_cfn

ECS_STACK = "ecs"
TASK_TIMEOUT = 1800.0  # a migration may take a while; past 30 min it is stopped


class EcsHooks:
    def __init__(self, rendered: Rendered, aws: Aws, console: Console) -> None:
        self.rendered, self.aws, self.console = rendered, aws, console
        self.service = rendered.env.config.ecs.service
        self.deferred: list[str] = []
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        # Stacks deploy on several threads; creating clients from one session is not
        # thread-safe (boto3 guide, "Multithreading or multiprocessing with clients").
        with self._lock:
            return self.aws.client(service)

    def _runner(self, cluster: str) -> Runner:
        # On an endpoint whose clock runs faster than AWS's (the latency model's
        # --time-scale), a task's polls and deadline keep their proportions, as a
        # stack's do (Waits.time_scale): 3 s between looks is 3 s of AWS time.
        scale = self.aws.cfn.waits.time_scale
        return Runner(self.client("ecs"), self.client("logs"), cluster,
                      lambda text: self.console.line(f"  [{ECS_STACK}] {text}"),
                      timeout=TASK_TIMEOUT / scale, poll=POLL_SECONDS / scale)

    def run_hook(self, name: str, task_definition: str, when: str) -> None:
        where = deployed(self.rendered, self.aws.cfn)
        service = describe_service(self.client("ecs"), where.cluster, where.service)
        try:
            run = self._runner(where.cluster).run(name, task_definition,
                                                  launch_settings(service))
        except TaskFailed as exc:
            raise TaskFailed(f"{when} task {name}: {exc}", exc.run) from None
        except StackgenError as exc:  # the API refused: say which task it was for
            raise TaskFailed(f"{when} task {name} did not run: {exc}") from None
        if not run.ok:
            raise TaskFailed(f"{when} task {name} failed: {run.summary()}", run)
        self.console.line(f"  [{ECS_STACK}] {when} task {name}: exit code 0")

    def before_execute(self, stack: str, name: str, kind: str,
                       params: Mapping[str, str]) -> None:
        if stack != ECS_STACK or not self.service.run_before:
            return
        if kind == "CREATE":
            self.deferred = list(self.service.run_before)
            self.console.line(f"  [{ECS_STACK}] first create: {', '.join(self.deferred)} "
                              "run after the stack (there is no older revision to keep)")
            return
        physical = self.aws.cfn.physical_ids(name)
        region = self.rendered.env.config.region
        resolver = Resolver(params, physical, {
            "AWS::Region": region, "AWS::AccountId": self.aws.account, "AWS::StackName": name,
            "AWS::Partition": "aws-cn" if region.startswith("cn-") else
            "aws-us-gov" if region.startswith("us-gov-") else "aws",
            "AWS::URLSuffix": "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com",
        }, self.client("iam"))
        ecs = self.client("ecs")
        template = self.rendered.stacks[stack].template
        self.deferred = []
        for task in self.service.run_before:
            try:
                args = rendered_task_definition(template, task, resolver)
            except Unresolvable as exc:
                self.deferred.append(task)
                self.console.line(f"  [{ECS_STACK}] before-task {task} runs after the stack: "
                                  f"its new revision cannot be registered yet ({exc})")
                continue
            arn = register(ecs, args)
            try:
                self.run_hook(task, arn, "before")
            finally:
                # CloudFormation registers its own revision on execute; this one served
                # the run and is retired so nothing else starts from it.
                deregister(ecs, arn)

    def after_execute(self, stack: str, name: str, kind: str) -> None:
        if stack != ECS_STACK:
            return
        tasks = [*self.deferred, *self.service.run_after]
        self.deferred = []
        if not tasks:
            return
        where = deployed(self.rendered, self.aws.cfn)
        for task in tasks:
            self.run_hook(task, where.workload(task).task_definition,
                      "before" if task in self.service.run_before else "after")

    def diagnose(self, stack: str, name: str) -> list[str]:
        """Why the stack failed, from its services, DB instances and groups."""
        rendered = self.rendered.stacks.get(stack)
        if rendered is None:
            return []
        kinds = {k: str(r.get("Type")) for k, r in
                 (load_cfn(rendered.template).get("Resources") or {}).items()}
        diagnosable = {k for k, kind in kinds.items() if kind in DIAGNOSABLE}
        if not diagnosable:
            return []
        try:
            physical = {k: v for k, v in self.aws.cfn.physical_ids(name).items() if v}
            if diagnosable - set(physical):
                # A resource rolled back may be listed without its physical id (or not at
                # all): its failed event names it (a service whose events say why).
                physical = {**self.aws.cfn.failed_physical_ids(name), **physical}
            info = self.aws.cfn.describe(name)
        except StackgenError as exc:
            return [f"diagnosis: could not read {name}'s resources ({exc})"]
        cluster = info.parameters.get("ClusterName") if info else None
        resources = {k: (kinds[k], p) for k, p in physical.items() if k in kinds}
        return diag.diagnose(self.client, resources, cluster)

    def verify(self) -> Checked:
        conf = self.service.verify
        if not conf.wait_steady and conf.probe_path is None:
            return Checked(notes=["nothing to verify (ecs.service.verify: wait_steady false, "
                                  "no probe_path)"])
        where = deployed(self.rendered, self.aws.cfn)
        checked = verify(self.client("ecs"), self.client("elbv2"), where.cluster,
                         where.service, self.rendered.env.config.dns.domain, self.service.verify,
                         self.aws.route.endpoint_url, self.console.line)
        if conf.wait_steady:  # every other service (ecs.services) steady too
            for name, service in sorted(where.services.items()):
                checked.checks += [f"service {name}: {c}" for c in wait_steady(
                    self.client("ecs"), self.client("elbv2"), where.cluster, service,
                    conf.steady_timeout_seconds, self.console.line)]
        return checked


DIAGNOSABLE = ("AWS::ECS::Service", "AWS::RDS::DBInstance", "AWS::AutoScaling::AutoScalingGroup")


def hooks_for(rendered: Rendered, aws: Aws, console: Console) -> EcsHooks | None:
    return EcsHooks(rendered, aws, console) if ECS_STACK in rendered.stacks else None

