"""The `symetrisk` dlt source: which tables one API client loads, chosen by its role. The
tables, their state and what is skipped and why are in docs/data-contract.md; the resources
themselves in resources.py.

Calling `symetrisk()` reads `/self`. With `read_ahead` (as `symetrisk run` calls it), for a bank
it also starts reading the relationship list in a thread, so the list is there when dlt's
extract begins; the run imports pandas and opens the warehouse meanwhile.

Only what the public docs define is required: the role comes from `/self` when it names one,
else from which list answers (`Resources.infer_role`). Configuration follows dlt:
`SOURCES__SYMETRISK__BASE_URL`, `__TOKEN_URL`, `__CLIENT_ID`, `__CLIENT_SECRET` (environment,
or `.dlt/config.toml` / `.dlt/secrets.toml`)."""

from __future__ import annotations

import dlt
from dlt.extract.resource import DltResource

from pipelines.orgnr import validate_all

from . import contract, settings
from .client import Api
from .company import call_self, company_of
from .errors import SymetriskConfigError
from .resources import Resources
from .stats import RunStats

__all__ = ["RunStats", "call_self", "symetrisk"]


@dlt.source(name="symetrisk")
def symetrisk(
    base_url: str = dlt.config.value,
    token_url: str = dlt.config.value,
    client_id: str = dlt.config.value,
    client_secret: str = dlt.secrets.value,
    borrowers: list[str] | None = None,
    lookback_months: int = settings.DEFAULT_LOOKBACK_MONTHS,
    concurrency: int = settings.DEFAULT_CONCURRENCY,
    rate_limit_rps: float = settings.DEFAULT_RATE_LIMIT_RPS,
    read_timeout_s: float = settings.DEFAULT_READ_TIMEOUT_S,
    max_attempts: int = settings.DEFAULT_MAX_ATTEMPTS,
    backoff_factor: float = settings.DEFAULT_BACKOFF_FACTOR,
    full_refresh: bool = False,
    scope: str = settings.DEFAULT_SCOPE,
    batch_rows: int = settings.SNAPSHOT_BATCH_ROWS,
    max_response_bytes: int = settings.DEFAULT_MAX_RESPONSE_BYTES,
    request_deadline_s: float = settings.DEFAULT_REQUEST_DEADLINE_S,
    max_pages: int = settings.DEFAULT_MAX_PAGES,
    max_new_columns: int = settings.DEFAULT_MAX_NEW_COLUMNS,
    max_depth: int = settings.DEFAULT_MAX_DEPTH,
    stats: RunStats | None = None,
    read_ahead: bool = False,
) -> list[DltResource]:
    """Symetrisk for one API client. `borrowers` limits the per-borrower tables to those
    organisation numbers (validated before any request); `full_refresh` re-reads every
    borrower's whole history and detail, keeping what is already loaded (revoked borrowers keep
    their history). `read_ahead` reads the relationship list in a thread at once, for a caller
    that runs the source right after (`symetrisk run` does; a scheduler that builds the source
    at every parse of its DAG file should not). `max_response_bytes`, `request_deadline_s`,
    `max_pages`, `max_new_columns` and `max_depth` are the limits against a hostile API
    (docs/faults.md)."""
    only = set(validate_all(list(borrowers))) if borrowers else None
    check_urls(base_url, token_url)
    stats = stats if stats is not None else RunStats()
    api = Api(
        base_url,
        token_url,
        client_id,
        client_secret,
        scope=scope,
        stats=stats,
        concurrency=concurrency,
        rate_limit_rps=rate_limit_rps,
        read_timeout_s=read_timeout_s,
        max_attempts=max_attempts,
        backoff_factor=backoff_factor,
        max_response_bytes=max_response_bytes,
        request_deadline_s=request_deadline_s,
        max_pages=max_pages,
    )
    loader = Resources(api, stats, only, lookback_months, concurrency, full_refresh, batch_rows)
    loader.max_new_columns, loader.max_depth = max_new_columns, max_depth
    first_calls = loader.start(base_url, relationships=read_ahead)
    # pyarrow imports pandas on its first pa.array(). The resources extract in parallel threads,
    # and dlt tests sys.modules["pandas"] for frames from other threads meanwhile: a half-imported
    # pandas fails there. So it is imported whole here, before dlt's extract starts (and not at
    # module import, which every command pays), while the first calls wait on the network.
    import pandas  # noqa: F401

    me = first_calls.result()
    company_info = company_of(me)
    creditor = company_info.get("brreg_organization_number")
    role = company_info.get("role") or loader.infer_role(creditor)

    snapshots = loader.accounting_snapshots_resource()
    candidates: dict[str, DltResource] = {
        "company": loader.company_resource(me),
        "relationships": loader.relationships_resource(),
        "borrowers": loader.borrowers_resource(),
        "accounting_snapshots": snapshots,
        "accounting_snapshot_versions": snapshots | loader.versions_transformer(),
        "notifications": loader.notifications_resource(),
        "debtors": loader.debtors_resource(creditor),
        "credit_scores": loader.credit_scores_resource(creditor),
    }
    if not me:
        candidates.pop("company")
    allowed = settings.ROLE_RESOURCES.get(role, settings.ALL_RESOURCES) if role else None
    if allowed is None:
        return list(candidates.values())
    skipped = [name for name in candidates if name not in allowed]
    if skipped:
        stats.note(f"skipped {', '.join(skipped)}: not readable by a {role} client", info=True)
    # a table the models read is still created (empty) when this client may not read it
    return [
        resource if name in allowed else contract.empty_resource(resource)
        for name, resource in candidates.items()
        if name in allowed or name in contract.COLUMNS
    ]


def check_urls(base_url: str | None, token_url: str | None) -> None:
    """A URL without http:// or https:// is refused before any request, naming its setting."""
    for setting, value, example in (
        (settings.SETTING_BASE_URL, base_url, settings.EXAMPLE_BASE_URL),
        (settings.SETTING_TOKEN_URL, token_url, settings.EXAMPLE_TOKEN_URL),
    ):
        if value and not str(value).lower().startswith(("http://", "https://")):
            raise SymetriskConfigError(
                f"{setting}={value} is not a URL starting with https:// or http://; "
                f"for example {setting}={example}"
            )
