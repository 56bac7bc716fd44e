"""A plain server-rendered overview page (the full staff app is a later issue)."""

from __future__ import annotations

from html import escape
from typing import Any

from exchange.identity import mask_resident_id


def _field(form: dict[str, Any], name: str) -> str:
    for f in form["fields"]:
        if f["name"] == name:
            return "" if f["value"] is None else str(f["value"])
    return ""


def _entity(form: dict[str, Any]) -> str:
    """A resident's masked ID number; a household's number as it is (it names no person)."""
    entity = form["entity"]
    return mask_resident_id(entity["key"]) if entity["type"] == "resident" else str(entity["key"])


def index_page(total: int, forms: list[dict[str, Any]]) -> str:
    rows = "\n".join(
        f"<tr><td><a href='/api/forms/{escape(f['id'])}'>{escape(_field(f, 'name'))}</a></td>"
        f"<td>{escape(_entity(f))}</td><td>{escape(_field(f, 'age'))}</td>"
        f"<td>{escape(f['grid_code'] or '')}</td><td>{escape(f['title'])}</td>"
        f"<td>{f['prefilled_count']} / {f['manual_count']}</td></tr>"
        for f in forms
    )
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>基层数据共享交换 · 待核对表单</title>
<style>body{{font-family:sans-serif;margin:1rem;max-width:60rem}}table{{border-collapse:collapse;width:100%}}
td,th{{border-bottom:1px solid #ccc;padding:.3rem;text-align:left}}</style></head>
<body><h1>待核对表单（{total}）</h1>
<p>由部门数据预填，网格员只需核对并补充。<a href="/api/forms">JSON</a> · <a href="/metrics">metrics</a></p>
<table><thead><tr><th>姓名</th><th>身份证号</th><th>年龄</th><th>网格</th><th>事项</th><th>预填 / 待填</th></tr></thead>
<tbody>{rows}</tbody></table></body></html>"""
