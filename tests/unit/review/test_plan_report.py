"""The review as text and Markdown (generator/review/plan_report.py)."""

from __future__ import annotations

import pytest

from generator.review.plan import ParamChange, Plan, StackPlan
from generator.review.plan_report import markdown, show_review
from generator.ui import Console
from tests.helpers.hardening import DIGEST


def test_the_review_shows_the_whole_digest_change(capsys: pytest.CaptureFixture[str]) -> None:
    old = f"docker.io/pedroheeger/curso116_kube-news@sha256:{'11' * 32}"
    new = f"docker.io/pedroheeger/curso116_kube-news@{DIGEST}"
    stack = StackPlan(stack="ecs", stack_name="kubenews-prod-ecs", state="update",
                      template_sha256="x", parameters=[ParamChange(key="Image", old=old, new=new)])
    show_review(Console(color=False), stack)
    assert f"Image: {old} → {new}" in capsys.readouterr().out
    text = markdown(Plan(env="prod", created_at="2026-11-28T12:00:00Z", stacks=[stack]))
    assert f"| `Image` | {old} | {new} |" in text

