"""Collaborative processes: declarative form definitions and their evaluation over entity views."""

from exchange.processes.definition import ProcessDefinition, load_processes

__all__ = ["ProcessDefinition", "load_processes"]
