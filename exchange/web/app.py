"""The FastAPI application: ``/api/forms``, ``/api/push``, ``/metrics``, ``/healthz``, ``/readyz``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from exchange import __version__
from exchange.bus import transport_for
from exchange.errors import RegistryError
from exchange.registry.sql_store import sql_registry
from exchange.settings import Settings
from exchange.state import StateStore
from exchange.state.forms import STATUSES, get_form, list_forms
from exchange.web.collectors import BusCollector, StateCollector
from exchange.web.index import index_page
from exchange.web.push_api import PushBus, push_router
from exchange.web.registry_api import registry_error, registry_router


def create_app(settings: Settings, store: StateStore | None = None) -> FastAPI:
    """The HTTP application over the state store (and bus, for readiness) named by ``settings``."""
    store = store or StateStore(settings.state_url)
    store.create_schema()
    registry = sql_registry(store)
    push_bus = PushBus(settings, registry)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        push_bus.close()  # opened by the first push, if any

    app = FastAPI(title="Grassroots data exchange", version=__version__, lifespan=lifespan)
    app.include_router(push_router(store, push_bus), prefix="/api")
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

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> str:
        with store.engine.connect() as conn:
            total, forms = list_forms(conn, status="pending_review", limit=200)
        return index_page(total, forms)

    @app.get("/api/forms")
    def forms(
        process: str | None = None,
        status: Annotated[str | None, Query(description=f"one of {', '.join(STATUSES)}")] = None,
        grid: Annotated[list[str] | None, Query(description="grid codes")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        """Forms, oldest first, with their pre-filled values and provenance."""
        if status is not None and status not in STATUSES:
            raise HTTPException(422, f"unknown status {status!r}")
        with store.engine.connect() as conn:
            total, items = list_forms(conn, process=process, status=status, grids=grid, limit=limit, offset=offset)
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
