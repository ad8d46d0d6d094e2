from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.cfndoc import as_list, props, resources


class ContainerLogging(CloudFormationLintRule):
    """A container whose logs go nowhere cannot be debugged."""

    id = "E9107"
    shortdesc = "Every container sends its logs somewhere"
    description = "Each ECS container definition needs a LogConfiguration"
    source_url = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html"
    tags = ["stackgen", "operations"]

    def match(self, cfn):  # type: ignore[no-untyped-def]
        matches = []
        for name, res in resources(cfn.template, "AWS::ECS::TaskDefinition"):
            containers = as_list(props(res).get("ContainerDefinitions") or [])
            for i, container in enumerate(containers):
                if isinstance(container, dict) and not container.get("LogConfiguration"):
                    label = container.get("Name", i)
                    matches.append(RuleMatch(
                        ["Resources", name, "Properties", "ContainerDefinitions", i],
                        f"container {label} of {name} has no LogConfiguration",
                    ))
        return matches
