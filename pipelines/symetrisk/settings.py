"""Every Symetrisk API path and every default of the source, in one place: a different real
path or a new default is a one-line change here, never a hunt through the code."""

from __future__ import annotations

from pipelines.accounts import BALANCE_LINES, INCOME_LINES  # noqa: F401 (part of the settings)

# --- API paths, relative to the base URL (`.../api/v1`) -------------------------------------
PING = "/ping"
SELF = "/self"
PARTNER = "/partner"
RELATIONSHIPS = "/relationships"
BORROWER = "/borrower/{organization_number}"
ACCOUNTING_DATA = "/accounting-data/{organization_number}"
NOTIFICATIONS = "/notifications"
REQUEST_ACCESS = "/request-access"
REQUEST_DEBTOR_ACCESS = "/request-access/{creditor}"
LIST_DEBTORS = "/list-debtors/{creditor}"
CREDIT_SCORE = "/get-credit-score/{creditor}/{debtor}"
CREATE_CREDIT_SCORER = "/partner/credit-scorer"


def api_path(template: str, **segments: str) -> str:
    """A path with its segments filled in, each URL-encoded whole (an organisation number from
    the API is checked, and this makes `../x` or `1?a#b` stay one segment anyway)."""
    from urllib.parse import quote

    return template.format(**{k: quote(str(v), safe="") for k, v in segments.items()})


# the real API's addresses, shown as examples in messages about a wrong URL
EXAMPLE_BASE_URL = "https://api.symetrisk.com/api/v1"
EXAMPLE_TOKEN_URL = "https://symetrisk.auth.eu-central-1.amazoncognito.com/oauth2/token"

# --- access -----------------------------------------------------------------------------------
READ_SCOPE = "https://api.symetrisk.com/read"
WRITE_SCOPE = "https://api.symetrisk.com/write"
DEFAULT_SCOPE = READ_SCOPE
# a token is renewed this long before it expires (capped at a tenth of its lifetime)
TOKEN_RENEW_MARGIN_S = 60
# the token endpoint is asked this many times before the run gives up (a wrong URL fails fast)
TOKEN_MAX_ATTEMPTS = 3

# the settings a person checks when something is wrong (named in error messages)
SETTING_BASE_URL = "SOURCES__SYMETRISK__BASE_URL"
SETTING_TOKEN_URL = "SOURCES__SYMETRISK__TOKEN_URL"
SETTING_CLIENT_ID = "SOURCES__SYMETRISK__CLIENT_ID"
SETTING_CLIENT_SECRET = "SOURCES__SYMETRISK__CLIENT_SECRET"
SETTING_SCOPE = "SOURCES__SYMETRISK__SCOPE"

# --- paging -----------------------------------------------------------------------------------
MAX_PAGE_SIZE = 100  # largest `limit` the API takes (undocumented; we assume 100 and clamp)

# --- HTTP -------------------------------------------------------------------------------------
DEFAULT_CONCURRENCY = 16  # requests in flight at once, all tables together
DEFAULT_RATE_LIMIT_RPS = (
    0.0  # requests per second for the whole run; 0 = no cap (429s still obeyed)
)
DEFAULT_CONNECT_TIMEOUT_S = 10.0
DEFAULT_READ_TIMEOUT_S = 30.0
DEFAULT_MAX_ATTEMPTS = 8  # per request, first try included
DEFAULT_BACKOFF_FACTOR = 0.5  # exponential backoff 0.5, 1, 2, 4 ... seconds
DEFAULT_MAX_RETRY_DELAY_S = 30.0

# --- limits against a hostile or broken API (docs/faults.md) -------------------------------------
# Each is a source argument, so dlt config sets it: SOURCES__SYMETRISK__<NAME>. Past one, one
# line names the limit and its setting; that borrower is skipped (a partial run) where the rest
# can load, else the run fails; nothing is published either way.
# the largest response body read (a page of 100 snapshots is about 172 KB plain; parsed JSON
# takes up to 36 times its size, so 16 requests in flight at the cap hold about 1.2 GB)
DEFAULT_MAX_RESPONSE_BYTES = 2 * 1024 * 1024
# the longest one request may take as a whole, however the bytes trickle in
DEFAULT_REQUEST_DEADLINE_S = 120.0
# the most pages read from one list (at 100 items a page: 200,000 relationships; a list that
# never ends costs at most this many requests, read one after another)
DEFAULT_MAX_PAGES = 2_000
# the most new columns one run may add to the snapshots table
DEFAULT_MAX_NEW_COLUMNS = 200
# the deepest nesting of a snapshot or list item (the documented snapshot is 4 deep)
DEFAULT_MAX_DEPTH = 16
# a token is used for at least this long, whatever its expires_in says, and renewed at most
# once in this many seconds; a token refused right after renewal this many times in a row ends
# the run
TOKEN_MIN_LIFETIME_S = 60
TOKEN_MIN_RENEWAL_INTERVAL_S = 2.0
TOKEN_MAX_DEAD_TOKENS = 5
# the largest answer read from the token endpoint (a real one is under 2 KB)
TOKEN_MAX_RESPONSE_BYTES = 64 * 1024
SETTING_MAX_RESPONSE_BYTES = "SOURCES__SYMETRISK__MAX_RESPONSE_BYTES"
SETTING_REQUEST_DEADLINE_S = "SOURCES__SYMETRISK__REQUEST_DEADLINE_S"
SETTING_MAX_PAGES = "SOURCES__SYMETRISK__MAX_PAGES"
SETTING_MAX_NEW_COLUMNS = "SOURCES__SYMETRISK__MAX_NEW_COLUMNS"
SETTING_MAX_DEPTH = "SOURCES__SYMETRISK__MAX_DEPTH"

# --- state and volume ---------------------------------------------------------------------------
DEFAULT_LOOKBACK_MONTHS = 3  # newest stored months re-read every run (they get revised)
SNAPSHOT_BATCH_ROWS = 20_000  # rows per Arrow table handed to dlt

# --- relationship states ------------------------------------------------------------------------
APPROVED = "access_approved"
REQUESTED = "access_requested"
REVOKED = "access_revoked"
DENIED = "access_denied"

# --- roles (from /self `company.role`) and the resources each may read --------------------------
BANK_RESOURCES = (
    "company",
    "relationships",
    "borrowers",
    "accounting_snapshots",
    "accounting_snapshot_versions",
    "notifications",
)
SCORER_RESOURCES = ("company", "debtors", "credit_scores")
ROLE_RESOURCES = {
    "bank": BANK_RESOURCES,
    "credit_scorer": SCORER_RESOURCES,
    "partner": ("company",),
}
ALL_RESOURCES = BANK_RESOURCES + SCORER_RESOURCES[1:]

# --- accounting snapshot lines: INCOME_LINES, BALANCE_LINES from pipelines/accounts.py ----------
# accounting_snapshot_versions columns taken from the snapshot (version column: snapshot column)
VERSION_MEASURES = {
    "operating_revenue": "income_statement__month__operating_revenue",
    "operating_result": "income_statement__month__operating_result",
    "net_result": "income_statement__month__net_result",
    "total_equity": "balance_sheet__total_equity",
    "total_assets": "balance_sheet__total_assets",
    "cash_and_bank": "balance_sheet__cash_and_bank",
}

# --- where things go by default (relative to the working directory) -----------------------------
PIPELINE_NAME = "symetrisk"
DATASET_NAME = "symetrisk_raw"
DEFAULT_WAREHOUSE = "data/symetrisk.duckdb"
DEFAULT_PIPELINES_DIR = "data/dlt"
# DuckDB's merge of a large load would otherwise take up to 80 % of RAM (measured: 2.6 GB peak for
# 10,000 borrowers x 100 months); with a limit it spills to disk instead
DUCKDB_CONFIG = {"memory_limit": "768MB", "preserve_insertion_order": False}

# The built-in sandbox's demo bank, used when no client id is configured (public demo values).
SANDBOX_CLIENT_ID = "demo-bank"
SANDBOX_CLIENT_SECRET = "demo-bank-secret"

# the settings name of each path, by its first segment (named in the note when a path is missing)
PATH_NAMES = {
    "self": "SELF",
    "relationships": "RELATIONSHIPS",
    "borrower": "BORROWER",
    "accounting-data": "ACCOUNTING_DATA",
    "notifications": "NOTIFICATIONS",
    "list-debtors": "LIST_DEBTORS",
    "get-credit-score": "CREDIT_SCORE",
}

# --- one borrower's failure spoils nothing ------------------------------------------------------
# A borrower whose calls keep failing after every retry, or whose data cannot be loaded, is
# skipped and the run ends `partial`. When this share of the borrowers tried so far has failed
# (after at least PARTIAL_MIN_FAILURES of them), the API is taken to be down and the run fails.
PARTIAL_MAX_FAILED_SHARE = 0.5
PARTIAL_MIN_FAILURES = 5
