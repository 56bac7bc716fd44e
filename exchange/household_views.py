"""Household views with their members: each member's resident view, joined through the register.

A household's own view holds one ``household_member`` fact per member (from the public-security
household register). A household process reads each member as their resident view with that
membership fact added, so a member condition or a member-table column can use
``household_member.relationship_to_head`` as well as ``disability_certificate.status``. Resident views
of a whole chunk of households are loaded with one batched query, never one per member.
"""

from __future__ import annotations

from sqlalchemy import Connection

from exchange.entities import EntityView
from exchange.processes.scope import Member
from exchange.state.facts import load_views
from exchange.state.memberships import MEMBERSHIP


def load_members(conn: Connection, households: dict[str, EntityView]) -> dict[str, list[Member]]:
    """Household number → its members (current and former, by resident ID) with their resident views."""
    memberships = {key: view.of_type(MEMBERSHIP) for key, view in households.items()}
    resident_ids = {fact.fact_key for facts in memberships.values() for fact in facts}
    residents = load_views(conn, "resident", resident_ids)
    members: dict[str, list[Member]] = {}
    for key, facts in memberships.items():
        members[key] = [
            Member(fact.fact_key, fact, EntityView("resident", fact.fact_key, [*residents[fact.fact_key].facts, fact]))
            for fact in sorted(facts, key=lambda f: f.fact_key)
        ]
    return members
