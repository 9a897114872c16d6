"""The sandbox's objects as pydantic models, for its OpenAPI document only: the handlers
return pre-serialised JSON, and these models tell readers and schemathesis what it holds
(docs/data-contract.md is the source of truth)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Amount = float | None
# brreg organisation numbers: 9 digits (the mod-11 check digit is checked too; a pattern cannot
# say it, so a 9-digit number with a wrong check digit answers 400 as documented)
ORG_PATTERN = r"^[0-9]{9}$"
OrgNumber = Annotated[str, Field(pattern=ORG_PATTERN)]
State = Literal["access_requested", "access_approved", "access_revoked", "access_denied"]


class Open(BaseModel):
    """Objects may grow keys; clients must keep what they do not know."""

    model_config = ConfigDict(extra="allow")


class Error(BaseModel):
    error: str
    message: str


class TokenAnswer(BaseModel):
    access_token: str
    expires_in: int
    token_type: Literal["Bearer"]


class TokenError(BaseModel):
    error: Literal[
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    ]


class Metadata(BaseModel):
    limit: int
    skip: int
    returnedItems: int  # noqa: N815 - the API's spelling
    totalItems: int  # noqa: N815


class Ping(BaseModel):
    message: str


class Company(Open):
    id: int
    name: str
    brreg_organization_number: str
    created_at: str
    role: Literal["bank", "credit_scorer", "partner"]


class ClientInfo(Open):
    client_id: str
    scopes: list[str]


class SelfAnswer(Open):
    company: Company
    client: ClientInfo


class PartnerCompany(Open):
    id: int
    name: str
    brreg_organization_number: str


class CreditScorerCompany(Open):
    organization_number: str
    name: str
    created_at: str


class PartnerAnswer(Open):
    partner: PartnerCompany
    client: ClientInfo
    credit_scorers: list[CreditScorerCompany]


class OrgRef(BaseModel):
    organization_number: OrgNumber


class BorrowersBody(BaseModel):
    borrowers: list[OrgRef]


class DebtorsBody(BaseModel):
    debtors: list[OrgRef]


class AccessItem(Open):
    organization_number: str
    relationship_state: State
    signup_link: str


class AccessAnswer(BaseModel):
    items: list[AccessItem]


class CreditScorersAnswer(BaseModel):
    items: list[CreditScorerCompany]


class Relationship(Open):
    id: int
    organization_number: str
    company_name: str
    relationship_state: State
    requested_at: str
    approved_at: str | None
    revoked_at: str | None
    denied_at: str | None
    updated_at: str


class RelationshipPage(BaseModel):
    metadata: Metadata
    items: list[Relationship]


class Borrower(Open):
    organization_number: str
    name: str
    nace_code: str
    nace_section: str
    founded_date: str
    municipality: str
    accounting_system: str
    connection_status: Literal["connected", "not_connected"]
    consented_to_share_data: bool
    relationship_state: State
    first_snapshot_date: str | None
    last_snapshot_date: str | None


class IncomeLines(Open):
    sales_revenue: Amount
    other_operating_income: Amount
    operating_revenue: Amount
    cost_of_goods_sold: Amount
    payroll_expenses: Amount
    depreciation: Amount
    other_operating_expenses: Amount
    operating_expenses: Amount
    operating_result: Amount
    financial_income: Amount
    financial_expenses: Amount
    result_before_tax: Amount
    tax_expense: Amount
    net_result: Amount


class IncomeStatement(Open):
    month: IncomeLines
    year_to_date: IncomeLines


class BalanceSheet(Open):
    intangible_assets: Amount
    tangible_fixed_assets: Amount
    financial_fixed_assets: Amount
    total_fixed_assets: Amount
    inventory: Amount
    accounts_receivable: Amount
    other_receivables: Amount
    cash_and_bank: Amount
    total_current_assets: Amount
    total_assets: Amount
    share_capital: Amount
    retained_earnings: Amount
    total_equity: Amount
    provisions: Amount
    long_term_liabilities: Amount
    accounts_payable: Amount
    tax_payable: Amount
    public_duties_payable: Amount
    other_short_term_liabilities: Amount
    total_short_term_liabilities: Amount
    total_liabilities: Amount
    total_equity_and_liabilities: Amount


class SnapshotData(Open):
    symetrisk_real_time_accounts_format_version: str
    year: int | str
    month: int
    currency: str
    income_statement: IncomeStatement
    balance_sheet: BalanceSheet


class Snapshot(Open):
    id: int
    organization_number: str
    snapshot_date: str
    updated_at: str
    data: SnapshotData


class SnapshotPage(BaseModel):
    metadata: Metadata
    items: list[Snapshot]


class Notification(Open):
    id: int
    type: Literal["consent_approved", "consent_revoked", "new_accounting_data"]
    organization_number: str
    created_at: str
    message: str


class NotificationPage(BaseModel):
    metadata: Metadata
    items: list[Notification]


class Debtor(Open):
    organization_number: str
    name: str
    relationship_state: State
    requested_at: str
    approved_at: str | None


class DebtorPage(BaseModel):
    metadata: Metadata
    items: list[Debtor]


class CreditScore(Open):
    organization_number: str
    score: int
    risk_class: Literal["A", "B", "C", "D", "E"]
    probability_of_default: float
    calculated_at: str
    based_on_snapshot_date: str | None


Share = Annotated[float, Field(ge=0, le=1)]
Millis = Annotated[int, Field(ge=0, le=600_000)]  # at most ten minutes


class FaultSwitches(BaseModel):
    """Any subset of the fault switches; omitted ones keep their value (faults.py checks them
    the same way: a value outside these bounds, or an unknown switch, answers 400)."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: Millis | None = None
    throttle_rps: Annotated[float, Field(ge=0, le=1_000_000)] | None = None
    error_rate: Share | None = None
    broken_json_rate: Share | None = None
    drop_rate: Share | None = None
    stall_rate: Share | None = None
    stall_ms: Millis | None = None
    schema_drift: bool | None = None
    failing_borrowers: list[OrgNumber] | None = None
