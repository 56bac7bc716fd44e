"""The FastAPI application: ``/api/forms`` and form actions, ``/api/push``, ``/metrics``, ``/healthz``, ``/readyz``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from starlette.middleware.sessions import SessionMiddleware

from exchange import __version__
from exchange.bus import transport_for
from exchange.errors import RegistryError
from exchange.feedback import FeedbackRelay
from exchange.registry.sql_store import sql_registry
from exchange.settings import Settings
from exchange.state import StateStore
from exchange.state.forms import STATUSES, get_form, list_forms
from exchange.web.collectors import BusCollector, StateCollector
from exchange.web.forms_api import forms_router
from exchange.web.index import index_page
from exchange.web.operator_api import operator_router
from exchange.web.push_api import PushBus, push_router
from exchange.web.registry_api import registry_error, registry_router
from exchange.web.sessions import SESSION_COOKIE, SESSION_MAX_AGE, SessionActor, secret_key, signed_in
from exchange.web.signin import signin_router

log = logging.getLogger(__name__)
FEEDBACK_RELAY_SECONDS = 30.0  # how often queued feedback (after a bus failure or a crash) is retried


async def _relay_feedback(relay: FeedbackRelay, every: float) -> None:
    """Publish the feedback outbox now and every ``every`` seconds (what a crash or a bus outage left)."""
    while True:
        try:
            await asyncio.to_thread(relay.relay)
        except Exception as exc:  # the bus may be down; the outbox keeps the records until it is back
            log.warning("feedback relay failed: %s: %s", type(exc).__name__, exc)
        await asyncio.sleep(every)


def create_app(settings: Settings, store: StateStore | None = None, *,
               feedback_every: float = FEEDBACK_RELAY_SECONDS) -> FastAPI:
    """The HTTP application over the state store (and bus, for readiness) named by ``settings``."""
    store = store or StateStore(settings.state_url)
    store.create_schema()
    registry = sql_registry(store)
    push_bus = PushBus(settings, registry)
    relay = FeedbackRelay(settings, store, registry)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        relaying = asyncio.create_task(_relay_feedback(relay, feedback_every))
        yield
        relaying.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relaying
        push_bus.close()  # opened by the first push, if any
        relay.close()

    app = FastAPI(title="Grassroots data exchange", version=__version__, lifespan=lifespan)
    app.include_router(push_router(store, push_bus), prefix="/api")
    app.include_router(forms_router(store, relay, actor=SessionActor(store)), prefix="/api")
    app.include_router(signin_router(store))
    # Signed (not encrypted) cookie: it holds only the username and the CSRF token. HttpOnly and SameSite=Lax
    # always; add Secure behind an HTTPS proxy (issue 7 deployment notes).
    app.add_middleware(SessionMiddleware, secret_key=secret_key(settings), session_cookie=SESSION_COOKIE,
                       max_age=SESSION_MAX_AGE, same_site="lax")
    app.include_router(operator_router(store, settings), prefix="/api")
    app.include_router(registry_router(registry), prefix="/registry")
    app.add_exception_handler(RegistryError, lambda _request, exc: registry_error(exc))  # type: ignore[arg-type]
    # State metrics live in a registry of this app's own, so several apps in one process never clash.
    state_registry = CollectorRegistry(auto_describe=True)
    state_registry.register(StateCollector(store))
    state_registry.register(BusCollector(settings))

    @app.exception_handler(HTTPException)
    async def _problem(request: Request, exc: HTTPException) -> JSONResponse:
        # RFC 9457 problem details.
        return JSONResponse(
            {"type": "about:blank", "title": exc.detail, "status": exc.status_code, "instance": str(request.url.path)},
            status_code=exc.status_code,
            media_type="application/problem+json",
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
        if not request.url.path.startswith("/api/"):
            return await request_validation_exception_handler(request, exc)
        errors = [{"field": ".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]), "in": str(e["loc"][0]),
                   "message": e["msg"]} for e in exc.errors()]
        return JSONResponse(
            {"type": "urn:exchange:problem:invalid-request", "title": "Unprocessable Content", "status": 422,
             "detail": "; ".join(f"{e['field']}: {e['message']}" for e in errors), "instance": request.url.path,
             "errors": errors},
            status_code=422, media_type="application/problem+json")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> str:
        with store.engine.connect() as conn:
            total, forms = list_forms(conn, status="pending_review", limit=200)
        return index_page(total, forms)

    @app.get("/api/forms")
    def forms(
        request: Request,
        process: str | None = None,
        status: Annotated[str | None, Query(description=f"one of {', '.join(STATUSES)}")] = None,
        grid: Annotated[list[str] | None, Query(description="grid codes")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        """Forms, oldest first, with their pre-filled values and provenance (a signed-in grid worker or village
        reviewer: only the forms of their grids)."""
        if status is not None and status not in STATUSES:
            raise HTTPException(422, f"unknown status {status!r}")
        user = signed_in(request, store)
        scope = user.grid_scope() if user is not None else None
        with store.engine.connect() as conn:
            total, items = list_forms(conn, process=process, status=status, grids=grid, grid_prefixes=scope,
                                      limit=limit, offset=offset)
        return {"total": total, "limit": limit, "offset": offset, "items": items}

    @app.get("/api/forms/{form_id}")
    def form(form_id: str) -> dict[str, Any]:
        """One form with every field's value, provenance and the fields left to staff."""
        with store.engine.connect() as conn:
            found = get_form(conn, form_id)
        if found is None:
            raise HTTPException(404, f"no form {form_id}")
        return found

    @app.get("/metrics", include_in_schema=False)
    def metrics_endpoint() -> Response:
        return Response(generate_latest(REGISTRY) + generate_latest(state_registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        """The state store and the bus are reachable."""
        problems = []
        try:
            store.ping()
        except Exception as exc:  # any failure means not ready; the reason goes to the caller
            problems.append(f"state store: {type(exc).__name__}: {exc}")
        try:
            with transport_for(settings) as transport:
                transport.topics()
        except Exception as exc:
            problems.append(f"bus: {type(exc).__name__}: {exc}")
        if problems:
            return JSONResponse({"status": "not ready", "reasons": problems}, status_code=503)
        return JSONResponse({"status": "ready"})

    return app
