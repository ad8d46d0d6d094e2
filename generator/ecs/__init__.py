"""ECS operations on a deployed env: one-off tasks, logs, failure diagnosis, verification."""
