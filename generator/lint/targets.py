"""Which rendered files to lint, and with which parameter values."""

from __future__ import annotations

from pathlib import Path

from generator.lint.engine import Target
from generator.lint.values import lint_values
from generator.render import NESTED_DIR, ROOT_TEMPLATE, Rendered


def targets_for(rendered: Rendered, out_dir: Path) -> list[Target]:
    env = rendered.env
    region = env.config.region
    targets = [
        Target(
            env=env.name,
            stack=name,
            file=out_dir / f"{name}.yaml",
            text=s.template,
            values=lint_values(s.template, s.parameters, region),
            region=region,
            source=rendered.templates_dir / f"{name}.yaml.j2",
            prod_like=env.config.termination_protection,
        )
        for name, s in rendered.stacks.items()
    ]
    root = rendered.root
    targets.append(
        Target(
            env=env.name,
            stack="nested-root",
            file=out_dir / NESTED_DIR / "root.yaml",
            text=root.template,
            values=lint_values(root.template, root.parameters, region),
            region=region,
            source=rendered.templates_dir / ROOT_TEMPLATE,
            prod_like=env.config.termination_protection,
        )
    )
    return targets
