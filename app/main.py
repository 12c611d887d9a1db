"""create_app(): the one place the HTTP shell is assembled."""

import asyncio
import base64
import hashlib
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette_compress import CompressMiddleware, add_compress_type, remove_compress_type

from app import errors, logs
from app.broker import create_broker
from app.db import create_engine, create_sessionmaker
from app.errors import PROBLEM_JSON
from app.fhir import capability as fhir_capability
from app.fhir import clinical as fhir_clinical
from app.fhir import directory as fhir_directory
from app.fhir import slots as fhir_slots
from app.governance import forget_after_close, sweep_proposals
from app.middleware import (
    RequestGuardMiddleware,
    RequestIdMiddleware,
    SecurityHeadersMiddleware,
    UnexpectedErrorMiddleware,
)
from app.outage import OutageLog
from app.outbox import Dispatcher
from app.ratelimits import EXEMPT_PREFIXES, RateLimitMiddleware, RateLimits
from app.relays import RelayHub, relay_ice_servers
from app.routers import (
    appointments,
    apps,
    attachments,
    auth,
    bylaws,
    clinics,
    consult_media,
    consults,
    dev,
    dues,
    exchange_rates,
    health,
    households,
    me,
    members,
    notifications,
    oauth,
    pages,
    payments,
    practitioners,
    prescriptions,
    proposals,
    records,
    referrals,
    roles,
    surplus,
    webhooks,
)
from app.security import TokenIssuer
from app.settings import Settings
from app.slots import sweep_slots
from app.webhooks import WebhookDispatcher
from cooperative.dues import receipts
from cooperative.governance.sealing import BallotKeys
from cooperative.notifications.providers import DevelopmentProvider

STATIC = Path(__file__).parent / "static"

DESCRIPTION = """
**Tequio** is the API of a healthcare platform cooperative for Mexico and the US–Mexico border,
owned by its patients and its doctors.

* Sign up with an email **or a phone number**; sign in at `POST /v1/auth/token` (the
  **Authorize** button here uses it). Access tokens last 15 minutes; refresh tokens rotate.
* Every error is an RFC 9457 `application/problem+json` document with a stable `type` URI.
  Send `Accept-Language: es` (or `en`) to choose the language of `title` and `detail`.
* Lists are cursor-paginated; datetimes are RFC 3339 with offsets.
"""

TAGS = [
    {"name": "auth", "description": "Sign-up, sign-in, refresh and sign-out."},
    {"name": "accounts", "description": "Your own account, who read your data, export, erasure."},
    {"name": "bylaws", "description": "The cooperative's bylaws, versioned: every number is data."},
    {"name": "members", "description": "Member-owners: applications, standing, capital accounts."},
    {"name": "households", "description": "Coverage, income attestations, sliding-scale fees."},
    {"name": "dues", "description": "Dues and share-instalment invoices."},
    {
        "name": "payments",
        "description": "Members report payments; treasurers confirm them and keep the rates.",
    },
    {"name": "practitioners", "description": "Doctors: licences, availability, time off."},
    {"name": "clinics", "description": "Clinics, their staff and registered patients."},
    {"name": "appointments", "description": "Slot search and race-free booking of consults."},
    {"name": "consults", "description": "Video consult rooms: join, waiting room, signaling."},
    {
        "name": "prescriptions",
        "description": "Prescriptions (recetas): issue, print, revoke; public verification "
        "for pharmacies.",
    },
    {
        "name": "attachments",
        "description": "Lab results, photos and documents of a consult; signed download links.",
    },
    {
        "name": "referrals",
        "description": "A clinic's referral to a specialty, the specialist's answer or consult, "
        "and the counter-referral.",
    },
    {"name": "governance", "description": "Proposals, secret ballots, elections, results."},
    {"name": "surplus", "description": "Patronage, surplus allocation, notices, capital."},
    {"name": "notifications", "description": "Delivery receipts from the messaging providers."},
    {"name": "health", "description": "Liveness and readiness probes."},
    {
        "name": "fhir",
        "description": "FHIR R4 read views (`/fhir/R4`, CapabilityStatement at "
        "`/fhir/R4/metadata`) and the public SMART Scheduling Links feed (`$bulk-publish`).",
    },
]


def password_hasher(settings: Settings) -> PasswordHash:
    return PasswordHash(
        (
            Argon2Hasher(
                time_cost=settings.argon2_time_cost,
                memory_cost=settings.argon2_memory_kib,
                parallelism=settings.argon2_parallelism,
            ),
        )
    )


def create_app(
    settings: Settings | None = None,
    *,
    engine: AsyncEngine | None = None,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
) -> FastAPI:
    """Build the application. Tests pass their own engine or sessionmaker; the server does not."""
    settings = settings or Settings()
    settings.start_clock()
    logs.silence_data_loggers()
    outage = OutageLog()
    if engine is None:
        engine = create_engine(settings)
        outage.watch(engine)  # a lent engine is the lender's to watch
    sessions = sessionmaker or create_sessionmaker(engine)
    broker = create_broker(settings.redis_url)
    relays = RelayHub(settings, broker, sessions, relay_ice_servers(settings))
    background: set[asyncio.Task[None]] = set()
    app = FastAPI(
        title="Tequio API",
        version=version("tequio"),
        summary="Membership, governance, booking and video consults for a healthcare cooperative.",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=_lifespan(settings, engine, sessions, owns_engine=sessionmaker is None),
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = sessions
    app.state.tokens = TokenIssuer(settings)
    # per member, app or address; shared by every worker through Redis when it is configured
    app.state.rate_limits = (
        RateLimits(settings, app.state.tokens) if settings.rate_limit_enabled else None
    )
    app.state.password_hasher = password_hasher(settings)
    app.state.broker = broker
    app.state.relays = relays  # the consult relays this worker hosts
    app.state.background = background  # tasks outliving their request (pre-call checks)
    app.state.ballot_keys = BallotKeys(settings.ballot_key)  # from the settings, never the db
    app.state.after_commit = [forget_after_close(engine, settings, background)]
    app.state.outage = outage  # what this worker logs about losing its database
    app.state.attachment_store = settings.attachment_store()  # a directory or an S3 bucket
    errors.install(app)
    for module in ROUTERS:
        app.include_router(module.router)
    _install_docs(app)
    _install_middleware(app, settings)
    return app


# FastAPI finds a request's route by trying each route in turn, about 5 µs apiece: the routes
# asked for most come first (the load balancer's health checks, sign-in, the caller's own
# account, slots and bookings, the consult), so they do not pay for the hundred behind them.
# No two routers serve one path and method, so the order changes nothing else
# (`tests/app/test_openapi.py::test_the_router_order_changes_no_route`).
ROUTERS = (
    health, auth, me, appointments, consults, consult_media, records, prescriptions,
    attachments, practitioners, clinics, referrals, households, members, dues, payments,
    proposals, roles, bylaws, exchange_rates, surplus, notifications, apps, webhooks, oauth, pages,
    dev,
    fhir_capability, fhir_directory, fhir_slots, fhir_clinical,
)  # fmt: skip


def _lifespan(
    settings: Settings,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    *,
    owns_engine: bool,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The worker's life: the governance and slot sweeps and the outbox's dispatcher run while
    it serves; at the end its background tasks stop, its relays and broker close, and its
    engine (unless a test lent it) is let go."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        background: set[asyncio.Task[None]] = app.state.background
        if settings.governance_sweep_seconds > 0:
            sweeper = asyncio.create_task(
                sweep_proposals(settings, sessions, engine, app.state.outage)
            )
            background.add(sweeper)
            sweeper.add_done_callback(background.discard)
        if settings.slot_sweep_seconds > 0:
            layer = asyncio.create_task(sweep_slots(settings, sessions))
            background.add(layer)
            layer.add_done_callback(background.discard)
        if settings.outbox_dispatch_seconds > 0:
            dispatcher = Dispatcher.from_settings(settings, sessions)
            app.state.development_inbox = next(  # for /dev/inbox, in development only
                (p for p in dispatcher.by_channel.values() if isinstance(p, DevelopmentProvider)),
                None,
            )
            outbox = asyncio.create_task(dispatcher.run(settings.outbox_dispatch_seconds))
            background.add(outbox)
            outbox.add_done_callback(background.discard)
            hooks = WebhookDispatcher.from_settings(settings, sessions)
            hooking = asyncio.create_task(hooks.run(settings.outbox_dispatch_seconds))
            background.add(hooking)
            hooking.add_done_callback(background.discard)
        yield
        for task in list(background):
            task.cancel()
        await app.state.relays.close()
        await app.state.broker.close()
        if app.state.rate_limits is not None:
            await app.state.rate_limits.close()
        if owns_engine:
            await engine.dispose()

    return lifespan


def _install_middleware(app: FastAPI, settings: Settings) -> None:
    """Outermost last: request ids wrap everything, then the request guard, then CORS, then
    the rate limits (a 429 carries the request id, the security headers and CORS's, and a
    browser's preflight is not counted), then the answer to exceptions no handler took (so
    its 503s and 500s carry the request id, the security headers and CORS's)."""
    app.add_middleware(UnexpectedErrorMiddleware, render=errors.render_unexpected)
    if app.state.rate_limits is not None:
        app.add_middleware(
            RateLimitMiddleware, limits=app.state.rate_limits, render=errors.render_problem
        )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type", "Accept-Language", "Idempotency-Key"],
            expose_headers=[
                "X-Request-ID",
                "Retry-After",
                "Content-Language",
                "RateLimit",
                "RateLimit-Policy",
            ],
        )
    app.add_middleware(
        RequestGuardMiddleware,
        max_bytes=settings.max_body_bytes,
        render=errors.render_problem,
        larger=[
            ("PUT", payments.RECEIPT_PATH, receipts.MAX_BYTES),
            (
                "POST",
                attachments.UPLOAD_PATH,
                settings.attachment_max_bytes + attachments.MULTIPART_OVERHEAD,
            ),
        ],
    )
    app.add_middleware(SecurityHeadersMiddleware)
    _install_compression(app)
    app.add_middleware(RequestIdMiddleware)


def _install_compression(app: FastAPI) -> None:
    """Answers of 500 bytes or more go compressed when the client accepts it (Brotli before
    gzip; zstd for the clients that ask): a phone on a slow link gets `/docs` in a fifth of
    its bytes. Problems, CSV exports and calendars are compressed like JSON; photos and
    recordings (already compressed) are not, WebSockets never pass here, and a streamed
    answer (`text/event-stream`) goes out as written, one message at a time."""
    for kind in ("application/problem+json", "text/csv"):
        add_compress_type(kind)
    remove_compress_type("text/event-stream")
    app.add_middleware(CompressMiddleware, minimum_size=500)


def _install_docs(app: FastAPI) -> None:
    """Swagger UI served from our own files: the docs page loads nothing from other hosts."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    docs_page = _with_page_policy(
        get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Tequio API — docs",
            oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_js_url="/static/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/swagger-ui/favicon-32x32.png",
            swagger_ui_parameters={"persistAuthorization": False, "tryItOutEnabled": True},
        )
    )
    redirect_page = _with_page_policy(get_swagger_ui_oauth2_redirect_html())

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return docs_page

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def oauth2_redirect() -> HTMLResponse:
        return redirect_page

    @app.get("/", include_in_schema=False)
    async def root() -> dict[str, str]:
        return {"name": "Tequio API", "docs": "/docs", "openapi": "/openapi.json"}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        _problems_only_as_problem_json(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _with_page_policy(page: HTMLResponse) -> HTMLResponse:
    """A docs page that runs only its own scripts (the bundle from /static and, by hash, the
    inline start-up script Swagger UI's HTML carries) and may not be framed by another site."""
    html = bytes(page.body).decode()
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(code.encode()).digest()).decode() + "'"
        for code in _INLINE_SCRIPT.findall(html)
    )
    policy = "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' {hashes}".strip(),
            "style-src 'self' 'unsafe-inline'",  # Swagger UI sets styles on its elements
            "img-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )
    return HTMLResponse(
        html, headers={"Content-Security-Policy": policy, "X-Frame-Options": "DENY"}
    )


DATABASE_AWAY = (
    "The database cannot be reached for a moment (`database-unavailable`): send the request "
    "again after `Retry-After` seconds, with the same `Idempotency-Key` if it had one."
)


RATE_LIMITED = (
    "Too many requests from this caller (`too-many-requests`, per member, app or address; "
    "or a sign-in, sign-up or code throttle): wait `Retry-After` seconds."
)
RATE_LIMIT_HEADERS = {
    "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}},
    "RateLimit-Policy": {
        "description": 'The caller\'s quota, e.g. `"member";q=600;w=60` (also on every '
        "counted answer).",
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "description": 'What is left of it, e.g. `"member";r=0;t=42` (also on every counted '
        "answer).",
        "schema": {"type": "string"},
    },
}


def _problems_only_as_problem_json(schema: dict[str, Any]) -> None:
    """Every 4xx/5xx is documented as the `application/problem+json` it is sent as, including
    the 422 FastAPI adds by itself for any route with parameters."""
    problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for name, path in schema.get("paths", {}).items():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            # any request may be malformed (NUL in its address, a body that is not JSON) or
            # carry a body too large (a GET too): the guards before the routes answer these
            responses.setdefault("400", {"description": "Malformed request or body."})
            responses.setdefault("413", {"description": "Request body too large."})
            # and any request may find the database away for a moment
            responses.setdefault("503", {"description": DATABASE_AWAY})
            if not name.startswith(EXEMPT_PREFIXES):  # and be over its caller's rate limit
                responses.setdefault("429", {"description": RATE_LIMITED})
                responses["429"]["headers"] = RATE_LIMIT_HEADERS
            if operation.get("security"):  # a token may be missing, or lack the scope
                responses.setdefault("401", {"description": "Missing or invalid credentials."})
                responses.setdefault("403", {"description": "The token lacks a scope."})
            for code, response in responses.items():
                if code[0] in "45":
                    named = response.get("content", {}).get(PROBLEM_JSON, {}).get("examples", {})
                    examples = {**named, **errors.examples_for(int(code))}
                    response["content"] = {PROBLEM_JSON: {**problem[PROBLEM_JSON]}}
                    if examples:  # each status shows its own problem types
                        response["content"][PROBLEM_JSON]["examples"] = examples
                    if code == "422":  # keeping the problem types a route lists
                        listed = response.get("description", "").partition(" Problem types:")[2]
                        response["description"] = (
                            "Validation failed; `errors` lists the fields."
                            + (f" Problem types:{listed}" if listed else "")
                        )
    components = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
