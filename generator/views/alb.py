"""The alb stack: the load balancer, its listeners and target groups (two for ECS
blue/green), access logs, the DNS record and the 5xx alarm ECS deployments watch."""

from __future__ import annotations

from typing import Any

import msgspec

from generator.config import Environment
from generator.views.common import Built, Names, Output, Param, Raw, skips
from generator.views.facts import Facts

# Regions opened before August 2022 deliver ALB access logs as the regional Elastic
# Load Balancing account; newer ones as the logdelivery service principal (ELB user
# guide, "Enable access logs for your Application Load Balancer", step 2: its table
# lists Asia Pacific (Jakarta) and the AWS GovCloud (US) Regions too; the ARN takes the
# partition, aws-us-gov there).
ELB_LOG_ACCOUNTS = {
    "us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
    "us-west-2": "797873946194", "af-south-1": "098369216593", "ap-east-1": "754344448648",
    "ap-south-1": "718504428378", "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887", "ap-northeast-3": "383597477331",
    "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266",
    "ca-central-1": "985666609251", "eu-central-1": "054676820928",
    "eu-west-1": "156460612806", "eu-west-2": "652711504416", "eu-west-3": "009996457667",
    "eu-south-1": "635631232127", "eu-north-1": "897822967062", "me-south-1": "076674570225",
    "sa-east-1": "507241528517", "ap-southeast-3": "589379963580",
    "us-gov-west-1": "048591011584", "us-gov-east-1": "190560391635",
}


class TargetGroupSpec(msgspec.Struct, frozen=True):
    """A target group of the app (blue/green has two alike)."""

    target_type: str  # ip for awsvpc tasks, instance otherwise
    protocol: str
    protocol_version: str
    port: int
    health_check_protocol: str
    health_check_port: str
    health_check_path: str
    health_check_interval_seconds: int
    health_check_timeout_seconds: int
    healthy_threshold: int
    unhealthy_threshold: int
    matcher: str
    deregistration_delay_seconds: int


class AlbView(msgspec.Struct, frozen=True):
    description: str
    scheme: str
    idle_timeout_seconds: int
    deletion_protection: bool
    load_balancer_skips: tuple[dict[str, str], ...]
    # access logs, when kept
    access_logs: bool
    access_logs_prefix: str
    access_logs_expire_days: int
    access_log_policy: tuple[dict[str, Any], ...]
    log_bucket_skips: tuple[dict[str, str], ...]
    waf_web_acl_arn: str | None
    target_group: TargetGroupSpec
    blue_green: bool  # a second target group and a production rule ECS shifts
    http_redirect: bool  # port 80 redirects to HTTPS, else forwards
    ssl_policy: str
    alias_record: bool  # an A alias record, else a CNAME
    cname_ttl: int
    alarm_5xx_threshold: int
    alarm_topic: str | None


def _access_log_policy(cfg: Environment) -> tuple[dict[str, Any], ...]:
    prefix = cfg.alb.access_logs.prefix
    account = ELB_LOG_ACCOUNTS.get(cfg.region)
    principal: dict[str, Any] = (
        {"AWS": Raw(f'!Sub "arn:${{AWS::Partition}}:iam::{account}:root"')} if account
        else {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    )
    return (
        {"Sid": "LoadBalancerLogDelivery", "Effect": "Allow", "Principal": principal,
         "Action": "s3:PutObject",
         "Resource": Raw(f'!Sub "${{AccessLogsBucket.Arn}}/{prefix}/AWSLogs/${{AWS::AccountId}}/*"')},
        {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [Raw("!GetAtt AccessLogsBucket.Arn"),
                      Raw('!Sub "${AccessLogsBucket.Arn}/*"')],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    )


def _target_group(cfg: Environment, facts: Facts) -> TargetGroupSpec:
    tg, check = cfg.alb.target_group, cfg.alb.target_group.health_check
    return TargetGroupSpec(
        target_type="ip" if facts.network_mode == "awsvpc" else "instance",
        protocol=tg.protocol,
        protocol_version=tg.protocol_version,
        port=tg.port,
        health_check_protocol=check.protocol,
        health_check_port=check.port,
        health_check_path=check.path,
        health_check_interval_seconds=check.interval_seconds,
        health_check_timeout_seconds=check.timeout_seconds,
        healthy_threshold=check.healthy_threshold,
        unhealthy_threshold=check.unhealthy_threshold,
        matcher=check.matcher,
        deregistration_delay_seconds=tg.deregistration_delay_seconds,
    )


def _outputs(facts: Facts) -> tuple[Output, ...]:
    outputs = []
    if facts.access_logs:
        outputs.append(Output("AccessLogsBucketName", "!Ref AccessLogsBucket",
                              "bucket of the load balancer's access logs"))
    outputs += [
        Output("LoadBalancerArn", "!Ref LoadBalancer", "load balancer ARN"),
        Output("LoadBalancerDnsName", "!GetAtt LoadBalancer.DNSName", "load balancer DNS name"),
        Output("TargetGroupArn", "!Ref TargetGroup", "target group of the app"),
        Output("ListenerArn", "!Ref HttpsListener", "HTTPS listener"),
        Output(
            "RequestCountLabel",
            '!Sub "${LoadBalancer.LoadBalancerFullName}/${TargetGroup.TargetGroupFullName}"',
            "resource label for ALBRequestCountPerTarget scaling",
        ),
    ]
    if facts.blue_green:
        outputs += [
            Output("AlternateTargetGroupArn", "!Ref AlternateTargetGroup",
                   "target group of the new revision during a blue/green deployment"),
            Output("ProductionListenerRuleArn", "!Ref ProductionRule",
                   "HTTPS rule whose traffic a blue/green deployment shifts"),
            Output("LoadBalancerFullName", "!GetAtt LoadBalancer.LoadBalancerFullName",
                   "metric dimension of the load balancer"),
            Output("TargetGroupFullName", "!GetAtt TargetGroup.TargetGroupFullName",
                   "metric dimension of the target group"),
            Output("AlternateTargetGroupFullName",
                   "!GetAtt AlternateTargetGroup.TargetGroupFullName",
                   "metric dimension of the alternate target group"),
        ]
    outputs.append(Output("Target5xxAlarmName", "!Ref Target5xxAlarm",
                          "alarm that fails (and rolls back) an ECS deployment"))
    return tuple(outputs)


def build(cfg: Environment, names: Names, facts: Facts) -> Built[AlbView]:
    alb = cfg.alb
    http = "redirected" if alb.http_redirect else "forwarded"
    view = AlbView(
        description=f"Load balancer: HTTPS for {cfg.dns.domain}, HTTP {http}, one target group",
        scheme=alb.scheme,
        idle_timeout_seconds=alb.idle_timeout_seconds,
        deletion_protection=alb.deletion_protection,
        load_balancer_skips=tuple(() if facts.access_logs else skips("CKV_AWS_91")),
        access_logs=facts.access_logs,
        access_logs_prefix=alb.access_logs.prefix,
        access_logs_expire_days=alb.access_logs.expire_days,
        access_log_policy=_access_log_policy(cfg) if facts.access_logs else (),
        log_bucket_skips=tuple(skips("CKV_AWS_18")),
        waf_web_acl_arn=cfg.waf.web_acl_arn,
        target_group=_target_group(cfg, facts),
        blue_green=facts.blue_green,
        http_redirect=alb.http_redirect,
        ssl_policy=alb.ssl_policy,
        alias_record=cfg.dns.record_type == "alias",
        cname_ttl=cfg.dns.cname_ttl,
        alarm_5xx_threshold=alb.alarm_5xx_threshold,
        alarm_topic=cfg.alarms.topic_arn,
    )
    params = (Param("DomainName", description="the app's domain", value=cfg.dns.domain),)
    return Built(view, params, _outputs(facts))
