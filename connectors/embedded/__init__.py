"""The embedded single-machine message log on SQLite: zero setup, safe to share between processes.

``store`` owns the file and its schema, ``producer`` and ``consumer`` the two client roles, ``group``
the consumer-group membership and partition leases, ``transport`` the :class:`Transport` tying them.
"""

from __future__ import annotations

from connectors.embedded.transport import EmbeddedTransport

__all__ = ["EmbeddedTransport"]
