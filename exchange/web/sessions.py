"""Staff sessions of the web app: the signing key, the signed-in account, CSRF tokens, the actor seam.

The session lives in a signed cookie (Starlette's SessionMiddleware over itsdangerous): it holds the
username and the session's CSRF token, nothing else. The account is read from the state store on every
request, so disabling it ends its sessions at once.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from fastapi import Request

from exchange.settings import Settings
from exchange.state import StateStore
from exchange.state.users import StaffUser, get_user

SESSION_COOKIE = "exchange_session"
SESSION_MAX_AGE = 12 * 3600  # one working day; staff sign in again the next morning
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SECRET_FILE = "secret_key"


def secret_key(settings: Settings) -> str:
    """EXCHANGE_SECRET_KEY, or the key kept in the data folder (generated there, owner-only, on first use)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = Path(settings.data_dir) / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # O_EXCL: of two servers starting at once, one writes and both read the same key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_urlsafe(48) + "\n")
    return path.read_text(encoding="ascii").strip()


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use (it goes into every form as a hidden field)."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_valid(request: Request, sent: str | None) -> bool:
    """Whether ``sent`` is this session's CSRF token (constant-time comparison)."""
    expected = request.session.get("csrf")
    if not isinstance(expected, str) or not expected or not sent:
        return False
    return hmac.compare_digest(expected.encode(), sent.encode())


def start_session(request: Request, user: StaffUser) -> None:
    """A fresh session for ``user``: the old one (and its CSRF token) is dropped, against session fixation."""
    request.session.clear()
    request.session["user"] = user.username
    csrf_token(request)


def end_session(request: Request) -> None:
    request.session.clear()


def signed_in(request: Request, store: StateStore) -> StaffUser | None:
    """The enabled account of this request's session, or None (no session, unknown or disabled account)."""
    username = request.session.get("user") if "session" in request.scope else None
    if not isinstance(username, str):
        return None
    with store.engine.connect() as conn:
        user = get_user(conn, username)
    return None if user is None or user.disabled else user


class SessionActor:
    """The form actions' actor resolver (``exchange.web.forms_api.ActorResolver``).

    With a session the signed-in account acts, whatever the body says, and the request must carry the
    session's CSRF token in the ``X-CSRF-Token`` header. Without one (API clients) the body's ``actor``.
    """

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def __call__(self, request: Request, claimed: str | None) -> str:
        user = signed_in(request, self.store)
        if user is None:
            if request.session.get("user") if "session" in request.scope else None:
                raise PermissionError("the session's account is disabled or gone; sign in again")
            if claimed is None:
                raise ValueError("actor: name the acting staff account, or sign in")
            return claimed
        if not csrf_valid(request, request.headers.get(CSRF_HEADER)):
            raise PermissionError(f"a signed-in action needs the session's {CSRF_HEADER} header")
        return user.username


__all__ = ["CSRF_FIELD", "CSRF_HEADER", "SESSION_COOKIE", "SESSION_MAX_AGE", "SessionActor", "csrf_token",
           "csrf_valid", "end_session", "secret_key", "signed_in", "start_session"]
