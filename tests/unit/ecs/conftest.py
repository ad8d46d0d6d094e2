"""The fixtures the ECS operations' unit tests share (tests/helpers/ecs_responses.py)."""

from tests.helpers.ecs_responses import dev  # noqa: F401
