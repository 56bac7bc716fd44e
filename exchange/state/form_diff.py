"""What changed between two contents of a form: values with their provenance, conflicts, routing.

A diff entry is ``{"field", "kind", "old", "new"}``: ``kind`` is ``value`` (``old``/``new`` are
``{"value", "provenance"}``, None when the field is absent), ``conflict`` (the field's conflict lists)
or ``routing`` (the grid the form is routed to). A field changes when its value changes or when it now
comes from another department or record type. A newer record with the same value, the day an age was
computed on, when an adapter happened to read a record, are not changes: staff reviewed the values, and
otherwise every daily refresh or re-sent record would reopen every reviewed form. The entries show the
full provenance on both sides.
"""

from __future__ import annotations

from typing import Any

# What in a provenance says where a value comes from (not which copy of the record, or when it was read).
_ORIGIN = ("department", "record_type", "computed")


def _stable(provenance: Any) -> Any:
    if isinstance(provenance, dict):
        return tuple(provenance.get(k) for k in _ORIGIN)
    if isinstance(provenance, list):
        return sorted({_stable(p) for p in provenance}, key=repr)
    return provenance


def _side(field: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if field is None else {"value": field.get("value"), "provenance": field.get("provenance")}


def _by_field(conflicts: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for conflict in conflicts:
        grouped.setdefault(conflict["field"], []).append(conflict)
    return grouped


def _stable_conflicts(conflicts: list[dict[str, Any]]) -> list[Any]:
    return sorted(
        ((c.get("value"), _stable(c.get("provenance")), c.get("chosen")) for c in conflicts), key=repr
    )


def form_diff(
    old_fields: list[dict[str, Any]],
    new_fields: list[dict[str, Any]],
    *,
    old_conflicts: list[dict[str, Any]] | None = None,
    new_conflicts: list[dict[str, Any]] | None = None,
    old_grid: str | None = None,
    new_grid: str | None = None,
) -> list[dict[str, Any]]:
    """The changes from the old content to the new, in the new form's field order; [] when none matter."""
    changes: list[dict[str, Any]] = []
    old_by_name = {f["name"]: f for f in old_fields}
    names = [f["name"] for f in new_fields] + [n for n in old_by_name if n not in {f["name"] for f in new_fields}]
    new_by_name = {f["name"]: f for f in new_fields}
    for name in names:
        before, after = old_by_name.get(name), new_by_name.get(name)
        same = (
            before is not None and after is not None
            and before.get("value") == after.get("value")
            and _stable(before.get("provenance")) == _stable(after.get("provenance"))
        )
        if not same:
            changes.append({"field": name, "kind": "value", "old": _side(before), "new": _side(after)})
    old_clashes, new_clashes = _by_field(old_conflicts or []), _by_field(new_conflicts or [])
    for name in sorted(set(old_clashes) | set(new_clashes)):
        before_list, after_list = old_clashes.get(name, []), new_clashes.get(name, [])
        if _stable_conflicts(before_list) != _stable_conflicts(after_list):
            changes.append({"field": name, "kind": "conflict", "old": before_list, "new": after_list})
    if old_grid != new_grid:
        changes.append({"field": "routing.grid", "kind": "routing", "old": {"value": old_grid},
                        "new": {"value": new_grid}})
    return changes
