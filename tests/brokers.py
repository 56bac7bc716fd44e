"""The tansu broker launcher, for tests."""

from connectors.tansu import TansuBroker, free_port

__all__ = ["TansuBroker", "free_port"]
