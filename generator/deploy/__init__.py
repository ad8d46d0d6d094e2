"""Deploying the stack graph as change sets, and deleting it again."""
