"""The sandbox's HTTP surface: the Symetrisk API under /api/v1, the Cognito-style token
endpoint, and the sandbox-only admin endpoints under /sandbox that act as the companies and
as time. Every path lives in PATHS so that a different real path is a one-line change.

Handlers return pre-serialised JSON (orjson) rather than pydantic models; the models in
schemas.py only document the answers in /openapi.json."""

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import parse_qs

import orjson
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response

from pipelines import orgnr
from pipelines.sandbox import schemas
from pipelines.sandbox.faults import FaultLayer, Faults, RequestLog
from pipelines.sandbox.portfolio import credit_score, iso
from pipelines.sandbox.tenants import CLIENTS, READ, WRITE, Client, Institution, Sandbox, TokenError
from pipelines.sandbox.wire import WireCount

MAX_LIMIT = 100
PATHS = {
    "ping": "/ping",
    "self": "/self",
    "partner": "/partner",
    "partner_credit_scorer": "/partner/credit-scorer",
    "request_access": "/request-access",
    "relationships": "/relationships",
    "borrower": "/borrower/{organization_number}",
    "accounting_data": "/accounting-data/{organization_number}",
    "notifications": "/notifications",
    "request_debtors": "/request-access/{creditor_organization_number}",
    "list_debtors": "/list-debtors/{creditor_organization_number}",
    "credit_score": "/get-credit-score/{creditor_organization_number}/{debtor_organization_number}",
}
API_PREFIX = "/api/v1"
# one or more of the API's scopes, separated by spaces (the token endpoint's `scope`)
SCOPES_PATTERN = (
    r"^https://api\.symetrisk\.com/(read|write)( https://api\.symetrisk\.com/(read|write))*$"
)
TOKEN_PATH = "/oauth2/token"

ERROR_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    429: "too_many_requests",
    500: "internal_error",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def json(obj: object, status: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(obj), status, headers, media_type="application/json")


def error(status: int, message: str, headers: dict | None = None) -> Response:
    code = ERROR_CODES.get(status, "error")
    return json({"error": code, "message": message}, status, headers)


def documented(*statuses: int, ok: type | None = None) -> dict:
    """OpenAPI `responses` for a route: its 200 model and its error statuses."""
    out: dict = {}
    if ok is not None:
        out[200] = {"model": ok}
    for status in statuses:
        out[status] = {"model": schemas.Error, "description": ERROR_CODES.get(status, "error")}
    return out


@dataclass(frozen=True)
class Caller:
    client: Client
    scopes: tuple[str, ...]
    institution: Institution


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method the app's OpenAPI document serves on `path` (HEAD with GET)."""
    from starlette.routing import compile_path

    methods: set[str] = set()
    for template, operations in app.openapi().get("paths", {}).items():
        if compile_path(template)[0].match(path):
            methods.update(m.upper() for m in operations)
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def check_org(value: str) -> str:
    try:
        return orgnr.validate(value)
    except orgnr.InvalidOrgNumber as exc:
        raise ApiError(400, str(exc)) from None


Limit = Annotated[
    int, Query(ge=0, description=f"Max items to return; values above {MAX_LIMIT} are clamped.")
]
MAX_SKIP = 2**31 - 1
Skip = Annotated[int, Query(ge=0, le=MAX_SKIP, description="Number of items to skip.")]
OrgPath = Annotated[
    str,
    Path(
        pattern=schemas.ORG_PATTERN,
        description="9-digit organisation number (brreg mod-11 check digit; a wrong one "
        "answers 400)",
    ),
]


def page_bounds(limit: int, skip: int, total: int) -> tuple[int, int, int]:
    limit = min(limit, MAX_LIMIT)
    return limit, min(skip, total), min(skip + limit, total)


def envelope(limit: int, skip: int, total: int, items: list) -> dict:
    return {
        "metadata": {
            "limit": limit,
            "skip": skip,
            "returnedItems": len(items),
            "totalItems": total,
        },
        "items": items,
    }


# What the public docs leave undefined, and a docs-only sandbox therefore does not serve.
DOCS_ONLY_WITHOUT = ("notifications", "borrower")
UNDOCUMENTED_SNAPSHOT_KEYS = (b"organization_number", b"updated_at")


def docs_only_snapshot(item: bytes) -> bytes:
    """A snapshot as the docs show it: id, snapshot_date and data (nothing of our choosing)."""
    doc = orjson.loads(item)
    for key in UNDOCUMENTED_SNAPSHOT_KEYS:
        doc.pop(key.decode(), None)
    return orjson.dumps(doc)


# components -> the keys a docs-only sandbox leaves out of them
DOCS_ONLY_DROPPED = {
    "Company": ("role",),
    "Snapshot": ("organization_number", "updated_at"),
    "Relationship": (
        "id",
        "company_name",
        "requested_at",
        "approved_at",
        "revoked_at",
        "denied_at",
        "updated_at",
    ),
}


def docs_only_document(doc: dict) -> None:
    """The OpenAPI document of a docs-only sandbox: what it leaves out is neither required nor
    described."""
    components = doc.get("components", {}).get("schemas", {})
    for name, dropped in DOCS_ONLY_DROPPED.items():
        schema = components.get(name)
        if not schema:
            continue
        for key in dropped:
            schema.get("properties", {}).pop(key, None)
        schema["required"] = [r for r in schema.get("required", []) if r not in dropped]


def create_app(
    sandbox: Sandbox,
    faults: Faults,
    log: RequestLog,
    docs_only: bool = False,
    without: tuple[str, ...] = (),
    compress: bool = True,
) -> FastAPI:
    """The sandbox app. `docs_only`: serve exactly what the public docs define: no
    `company.role` in /self, no `updated_at` or `organization_number` on snapshots, relationships
    with only `organization_number` and `relationship_state`, and no /notifications or
    /borrower/{organization_number} (404). `without`: PATHS keys that answer 404. `compress`:
    gzip the answers of a client that asks (Accept-Encoding), as an API gateway does."""
    hidden = {PATHS[name] for name in (*without, *(DOCS_ONLY_WITHOUT if docs_only else ()))}
    app = FastAPI(
        title="Symetrisk sandbox",
        version="1.0.0",
        description=(
            "A local stand-in for the Symetrisk API with a synthetic portfolio. Fetch a token "
            f"at {TOKEN_PATH} (Basic client credentials, form body), then call /api/v1 with "
            "`Authorization: Bearer <token>`. Endpoints under /sandbox act as the companies "
            "and as time; they exist only here."
        ),
        openapi_url="/openapi.json",
        redoc_url=None,
    )
    app.state.sandbox = sandbox
    app.state.faults = faults
    app.state.log = log
    bearer = HTTPBearer(auto_error=False, description="An access token from /oauth2/token")

    # --- errors -------------------------------------------------------------------------------

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> Response:
        return error(exc.status, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e.get("loc", ()))
            problems.append(f"{where}: {e.get('msg')} (got {e.get('input')!r})")
        return error(400, "invalid request: " + "; ".join(problems))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "error"
        headers = getattr(exc, "headers", None)
        if exc.status_code == 404:
            message = f"no such endpoint: {request.method} {request.url.path}"
        elif exc.status_code == 405:
            # starlette names only the methods of the first route matching the path; a path
            # served by several routes (GET and POST /sandbox/faults) allows all of theirs
            allowed = allowed_methods(app, request.url.path)
            message = f"method {request.method} not allowed on {request.url.path}"
            headers = {**(headers or {}), "Allow": ", ".join(allowed)}
        return error(exc.status_code, message, headers)

    @app.exception_handler(Exception)
    async def crash(_request: Request, exc: Exception) -> Response:
        return error(500, f"sandbox error: {type(exc).__name__}: {exc}")

    # --- auth ---------------------------------------------------------------------------------

    def caller_with(role: str | None, scope: str | None):
        async def dependency(
            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        ) -> Caller:
            challenge = {"WWW-Authenticate": "Bearer"}
            if credentials is None:
                raise ApiError(401, "missing 'Authorization: Bearer <token>' header", challenge)
            try:
                token = sandbox.tokens.check(credentials.credentials)
            except TokenError as exc:
                raise ApiError(401, str(exc), challenge) from None
            inst = sandbox.institutions[token.client.institution]
            if role and inst.role != role:
                raise ApiError(
                    403,
                    f"this endpoint is for {role} clients; "
                    f"{token.client.client_id} is a {inst.role}",
                )
            if scope and scope not in token.scopes:
                raise ApiError(403, f"the token lacks the scope {scope}")
            return Caller(token.client, token.scopes, inst)

        return dependency

    any_read = Depends(caller_with(None, None))
    bank_read = Depends(caller_with("bank", READ))
    bank_write = Depends(caller_with("bank", WRITE))
    scorer_read = Depends(caller_with("credit_scorer", READ))
    scorer_write = Depends(caller_with("credit_scorer", WRITE))
    partner_read = Depends(caller_with("partner", READ))
    partner_write = Depends(caller_with("partner", WRITE))

    # --- token endpoint -----------------------------------------------------------------------

    def token_error(status: int, code: str) -> Response:
        return json({"error": code}, status, {"Cache-Control": "no-store"})

    @app.post(
        TOKEN_PATH,
        tags=["oauth2"],
        summary="Client-credentials token (AWS Cognito style)",
        response_model=None,
        responses={
            200: {"model": schemas.TokenAnswer},
            400: {"model": schemas.TokenError},
            401: {"model": schemas.TokenError},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "grant_type": {"type": "string", "enum": ["client_credentials"]},
                                "scope": {"type": "string", "pattern": SCOPES_PATTERN},
                                "client_id": {"type": "string"},
                                "client_secret": {"type": "string"},
                            },
                            "required": ["grant_type"],
                        }
                    }
                },
            }
        },
    )
    async def token(request: Request) -> Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            return token_error(400, "invalid_request")
        try:
            form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        except UnicodeDecodeError:
            return token_error(400, "invalid_request")
        client_id, secret = form.get("client_id"), form.get("client_secret")
        header = request.headers.get("authorization", "")
        if header[:6].lower() == "basic ":
            try:
                client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return token_error(401, "invalid_client")
        client = CLIENTS.get(client_id or "")
        if client is None or secret != client.secret:
            return token_error(401, "invalid_client")
        grant = form.get("grant_type")
        if grant is None:
            return token_error(400, "invalid_request")
        if grant != "client_credentials":
            return token_error(400, "unsupported_grant_type")
        wanted = tuple(form.get("scope", "").split()) or client.scopes
        if any(s not in client.scopes for s in wanted):
            return token_error(400, "invalid_scope")
        access_token, expires_in = sandbox.tokens.issue(client, wanted)
        body = {"access_token": access_token, "expires_in": expires_in, "token_type": "Bearer"}
        return json(body, headers={"Cache-Control": "no-store"})

    # --- the API ------------------------------------------------------------------------------

    api = APIRouter(prefix=API_PREFIX, tags=["api"])
    common = (401, 403)

    @api.get(PATHS["ping"], responses=documented(*common, ok=schemas.Ping))
    async def ping(caller: Caller = any_read) -> Response:
        return json({"message": "pong"})

    @api.get(PATHS["self"], responses=documented(*common, ok=schemas.SelfAnswer))
    async def self_info(caller: Caller = any_read) -> Response:
        inst = caller.institution
        return json(
            {
                "company": {
                    "id": inst.id,
                    "name": inst.name,
                    "brreg_organization_number": inst.organization_number,
                    "created_at": inst.created_at,
                    **({} if docs_only else {"role": inst.role}),
                },
                "client": {"client_id": caller.client.client_id, "scopes": list(caller.scopes)},
            }
        )

    @api.get(PATHS["partner"], responses=documented(*common, ok=schemas.PartnerAnswer))
    async def partner(caller: Caller = partner_read) -> Response:
        inst = caller.institution
        return json(
            {
                "partner": {
                    "id": inst.id,
                    "name": inst.name,
                    "brreg_organization_number": inst.organization_number,
                },
                "client": {"client_id": caller.client.client_id, "scopes": list(caller.scopes)},
                "credit_scorers": sandbox.credit_scorers,
            }
        )

    @api.post(
        PATHS["partner_credit_scorer"],
        responses=documented(400, *common, ok=schemas.CreditScorersAnswer),
    )
    async def create_credit_scorer(
        body: schemas.BorrowersBody, caller: Caller = partner_write
    ) -> Response:
        orgs = [check_org(b.organization_number) for b in body.borrowers]
        known = {s["organization_number"]: s for s in sandbox.credit_scorers}
        items = []
        for org in orgs:
            if org not in known:
                known[org] = {
                    "organization_number": org,
                    "name": sandbox.company_name(org),
                    "created_at": iso(sandbox.portfolio.now()),
                }
                sandbox.credit_scorers.append(known[org])
            items.append(known[org])
        return json({"items": items})

    @api.post(PATHS["request_access"], responses=documented(400, *common, ok=schemas.AccessAnswer))
    async def request_access(body: schemas.BorrowersBody, caller: Caller = bank_write) -> Response:
        orgs = [check_org(b.organization_number) for b in body.borrowers]
        return json({"items": sandbox.request_access(caller.institution.key, orgs)})

    @api.get(
        PATHS["relationships"], responses=documented(400, *common, ok=schemas.RelationshipPage)
    )
    async def relationships(
        caller: Caller = bank_read, limit: Limit = MAX_LIMIT, skip: Skip = 0
    ) -> Response:
        book = sandbox.books[caller.institution.key]
        limit, start, end = page_bounds(limit, skip, len(book.items))
        items = [
            r.as_json(sandbox.company_name(r.organization_number)) for r in book.items[start:end]
        ]
        if docs_only:
            items = [
                {k: r[k] for k in ("organization_number", "relationship_state")} for r in items
            ]
        return json(envelope(limit, skip, len(book.items), items))

    @api.get(PATHS["borrower"], responses=documented(400, *common, 404, ok=schemas.Borrower))
    async def borrower(organization_number: OrgPath, caller: Caller = bank_read) -> Response:
        org = check_org(organization_number)
        found = sandbox.borrower(caller.institution.key, org)
        if found is None:
            raise ApiError(
                404, f"organisation {org} is not a borrower of {caller.institution.name}"
            )
        return json(found)

    @api.get(
        PATHS["accounting_data"], responses=documented(400, *common, 404, ok=schemas.SnapshotPage)
    )
    async def accounting_data(
        organization_number: OrgPath,
        caller: Caller = bank_read,
        limit: Limit = MAX_LIMIT,
        skip: Skip = 0,
    ) -> Response:
        org = check_org(organization_number)
        rel = sandbox.books[caller.institution.key].by_org.get(org)
        if rel is None:
            raise ApiError(
                404, f"organisation {org} is not a borrower of {caller.institution.name}"
            )
        if rel.relationship_state != "access_approved":
            raise ApiError(
                403,
                f"organisation {org} has not consented to share its accounting "
                f"data (relationship_state: {rel.relationship_state})",
            )
        rendered = sandbox.portfolio.rendered(org, faults.schema_drift)
        total = len(rendered.items)
        limit, start, end = page_bounds(limit, skip, total)
        meta = orjson.dumps(
            {"limit": limit, "skip": skip, "returnedItems": end - start, "totalItems": total}
        )
        page = rendered.items[start:end]
        if docs_only:
            page = [docs_only_snapshot(item) for item in page]
        body = b'{"metadata":' + meta + b',"items":[' + b",".join(page) + b"]}"
        return Response(body, media_type="application/json")

    @api.get(
        PATHS["notifications"], responses=documented(400, *common, ok=schemas.NotificationPage)
    )
    async def notifications(
        caller: Caller = bank_read, limit: Limit = MAX_LIMIT, skip: Skip = 0
    ) -> Response:
        items = sandbox.notifications[caller.institution.key]
        total = len(items)
        limit, start, end = page_bounds(limit, skip, total)
        newest_first = items[total - end : total - start][::-1]
        return json(envelope(limit, skip, total, newest_first))

    def own_creditor(caller: Caller, creditor: str) -> None:
        creditor = check_org(creditor)
        if creditor != caller.institution.organization_number:
            raise ApiError(
                403,
                f"creditor {creditor} is not your company "
                f"({caller.institution.organization_number})",
            )

    @api.post(PATHS["request_debtors"], responses=documented(400, *common, ok=schemas.AccessAnswer))
    async def request_debtors(
        creditor_organization_number: OrgPath,
        body: schemas.DebtorsBody,
        caller: Caller = scorer_write,
    ) -> Response:
        own_creditor(caller, creditor_organization_number)
        orgs = [check_org(d.organization_number) for d in body.debtors]
        return json({"items": sandbox.request_access(caller.institution.key, orgs)})

    @api.get(PATHS["list_debtors"], responses=documented(400, *common, ok=schemas.DebtorPage))
    async def list_debtors(
        creditor_organization_number: OrgPath,
        caller: Caller = scorer_read,
        limit: Limit = MAX_LIMIT,
        skip: Skip = 0,
    ) -> Response:
        own_creditor(caller, creditor_organization_number)
        book = sandbox.books[caller.institution.key]
        limit, start, end = page_bounds(limit, skip, len(book.items))
        items = [
            {
                "organization_number": r.organization_number,
                "name": sandbox.company_name(r.organization_number),
                "relationship_state": r.relationship_state,
                "requested_at": r.requested_at,
                "approved_at": r.approved_at,
            }
            for r in book.items[start:end]
        ]
        return json(envelope(limit, skip, len(book.items), items))

    @api.get(PATHS["credit_score"], responses=documented(400, *common, 404, ok=schemas.CreditScore))
    async def get_credit_score(
        creditor_organization_number: OrgPath,
        debtor_organization_number: OrgPath,
        caller: Caller = scorer_read,
    ) -> Response:
        own_creditor(caller, creditor_organization_number)
        debtor = check_org(debtor_organization_number)
        rel = sandbox.books[caller.institution.key].by_org.get(debtor)
        if rel is None:
            raise ApiError(
                404, f"organisation {debtor} is not a debtor of {caller.institution.name}"
            )
        if rel.relationship_state != "access_approved":
            raise ApiError(
                403,
                f"debtor {debtor} has not consented to share data "
                f"(relationship_state: {rel.relationship_state})",
            )
        latest = sandbox.portfolio.rendered(debtor).latest
        return json(
            {
                "organization_number": debtor,
                **credit_score(latest),
                "calculated_at": iso(sandbox.portfolio.now()),
                "based_on_snapshot_date": latest["snapshot_date"] if latest else None,
            }
        )

    api.routes[:] = [r for r in api.routes if r.path[len(API_PREFIX) :] not in hidden]
    app.include_router(api)

    # --- sandbox admin ------------------------------------------------------------------------

    admin = APIRouter(prefix="/sandbox", tags=["sandbox admin"])

    def relationship_action(action: str):
        async def handler(
            organization_number: OrgPath,
            client_id: Annotated[
                Literal[tuple(CLIENTS)] | None,  # type: ignore[valid-type]
                Query(description="Only this institution's relationship"),
            ] = None,
        ) -> Response:
            org = check_org(organization_number)
            only = None
            if client_id is not None:
                if client_id not in CLIENTS:
                    raise ApiError(400, f"unknown client_id {client_id!r}")
                only = CLIENTS[client_id].institution
            try:
                return json({"items": sandbox.set_state(org, action, only)})
            except LookupError:
                raise ApiError(
                    404,
                    f"organisation {org} has no relationship to {client_id or 'any institution'}",
                ) from None

        handler.__name__ = f"{action}_relationship"
        return handler

    for action in ("approve", "revoke", "deny"):
        admin.post(
            f"/relationships/{{organization_number}}/{action}",
            summary=f"Act as the company: {action} its relationship(s)",
            responses=documented(400, 404),
        )(relationship_action(action))

    @admin.post("/advance-month", summary="Close one more month", responses=documented(409))
    async def advance_month() -> Response:
        try:
            as_of = sandbox.advance_month()
        except ValueError as exc:
            raise ApiError(409, str(exc)) from None
        return json({"as_of": as_of.isoformat()})

    @admin.get("/requests", summary="Requests by endpoint and status")
    async def requests_seen() -> Response:
        return json(log.as_json())

    @admin.post("/requests/reset", summary="Forget the request counts")
    async def requests_reset() -> Response:
        log.reset()
        return json(log.as_json())

    @admin.post("/tokens/expire", summary="Expire every issued token")
    async def tokens_expire() -> Response:
        return json({"expired": sandbox.tokens.expire_all()})

    @admin.get("/faults", summary="The fault switches")
    async def faults_get() -> Response:
        return json(faults.as_json())

    @admin.post(
        "/faults",
        summary="Change fault switches",
        responses=documented(400),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": schemas.FaultSwitches.model_json_schema()}
                },
            }
        },
    )
    async def faults_set(request: Request) -> Response:
        try:
            changes = orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, f"body is not JSON: {exc}") from None
        if not isinstance(changes, dict):
            raise ApiError(400, "body must be a JSON object of fault switches")
        try:
            schemas.FaultSwitches.model_validate(changes)
        except ValueError as exc:
            problems = [
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                for e in getattr(exc, "errors", list)()
            ]
            raise ApiError(400, "; ".join(problems) or str(exc)) from None
        try:
            faults.update(changes)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        return json(faults.as_json())

    faults_set.__doc__ = "Body: any of " + ", ".join(schemas.FaultSwitches.model_fields)

    @admin.get("/portfolio", summary="Portfolio summary")
    async def portfolio_summary() -> Response:
        return json(sandbox.summary())

    @admin.get("/truth", summary="Which companies fail and when (evaluation only, not the API)")
    async def truth() -> Response:
        return json(sandbox.truth())

    app.include_router(admin)

    def openapi() -> dict:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            # Validation errors answer 400 (with our error body), never FastAPI's 422.
            for path in doc.get("paths", {}).values():
                for operation in path.values():
                    operation.get("responses", {}).pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                doc.get("components", {}).get("schemas", {}).pop(name, None)
            if docs_only:
                docs_only_document(doc)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    templates = [path for path in openapi()["paths"] if not path.startswith("/sandbox")]
    app.add_middleware(FaultLayer, faults=faults, log=log, seed=sandbox.seed, templates=templates)
    if compress:
        # outside the faults, so a cut-short body is cut before it is compressed (the client
        # sees broken JSON, not a broken gzip stream); level 6, a gateway's usual
        app.add_middleware(GZipMiddleware, minimum_size=500, compresslevel=6)
    app.add_middleware(WireCount, log=log)  # outermost: the bytes as they leave
    return app
