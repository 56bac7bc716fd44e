"""Staff sign-in: ``GET /signin`` (the form), ``POST /signin``, ``POST /signout`` and ``GET /api/session``.

Browser form posts carry the session's CSRF token in a hidden field; a missing or wrong token gets the
403 page and changes nothing. A wrong password, an unknown user and a disabled account get the same
message after the same work (one argon2 verify), so none can be told apart from outside.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from exchange.state import StateStore
from exchange.state.users import authenticate
from exchange.web.sessions import CSRF_FIELD, csrf_token, csrf_valid, end_session, signed_in, start_session

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
MAX_FORM_BYTES = 16 * 1024  # a sign-in form is a few hundred bytes
WRONG_CREDENTIALS = "用户名或密码错误，或账号已停用。"


async def form_fields(request: Request) -> dict[str, str] | None:
    """The fields of an ``application/x-www-form-urlencoded`` body (first value each); None if not one."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return None
    return {name: values[0] for name, values in parsed.items()}


def forbidden(request: Request) -> Response:
    """The 403 page for a post without this session's CSRF token."""
    return TEMPLATES.TemplateResponse(request, "forbidden.html", {"user": None}, status_code=403)


def signin_router(store: StateStore) -> APIRouter:
    router = APIRouter()

    def page(request: Request, *, error: str | None = None, username: str = "", status: int = 200) -> Response:
        return TEMPLATES.TemplateResponse(
            request, "signin.html",
            {"user": signed_in(request, store), "csrf_token": csrf_token(request), "csrf_field": CSRF_FIELD,
             "error": error, "username": username},
            status_code=status, headers={"Cache-Control": "no-store"})

    @router.get("/signin", include_in_schema=False)
    def signin_form(request: Request) -> Response:
        return page(request)

    @router.post("/signin", include_in_schema=False)
    async def signin(request: Request) -> Response:
        fields = await form_fields(request)
        if fields is None or not csrf_valid(request, fields.get(CSRF_FIELD)):
            return forbidden(request)
        username, password = fields.get("username", "").strip(), fields.get("password", "")

        def check() -> Any:
            with store.transaction() as conn:  # a rehash on sign-in writes
                return authenticate(conn, username, password)

        user = await run_in_threadpool(check) if username and password else None
        if user is None:
            return page(request, error=WRONG_CREDENTIALS, username=username, status=401)
        start_session(request, user)
        return RedirectResponse("/", status_code=303)

    @router.post("/signout", include_in_schema=False)
    async def signout(request: Request) -> Response:
        fields = await form_fields(request)
        if fields is None or not csrf_valid(request, fields.get(CSRF_FIELD)):
            return forbidden(request)
        end_session(request)
        return RedirectResponse("/signin", status_code=303)

    @router.get("/api/session", tags=["session"])
    def session(request: Request) -> JSONResponse:
        """Who is signed in, and the CSRF token their JSON actions send as ``X-CSRF-Token`` (401 if nobody)."""
        user = signed_in(request, store)
        if user is None:
            return JSONResponse({"type": "about:blank", "title": "not signed in", "status": 401,
                                 "instance": request.url.path}, status_code=401,
                                media_type="application/problem+json")
        return JSONResponse(user.to_dict() | {"csrf_token": csrf_token(request)},
                            headers={"Cache-Control": "no-store"})

    return router


__all__ = ["TEMPLATES", "forbidden", "form_fields", "signin_router"]
