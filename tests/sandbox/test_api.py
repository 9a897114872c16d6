"""The sandbox API over real HTTP: every endpoint, paging, consent, tenant isolation, the
token endpoint and every error status a client must survive."""

from __future__ import annotations

import base64

import pytest
import requests

from pipelines import orgnr
from pipelines.sandbox.tenants import READ, WRITE
from tests.conftest import fetch_all, session_for

UNKNOWN_ORG = "923609016"  # valid (Equinor), in no sandbox portfolio


def post_token(server, client_id, secret, **form):
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return requests.post(
        server.token_url,
        data={"grant_type": "client_credentials", **form},
        headers={"Authorization": f"Basic {basic}"},
        timeout=10,
    )


def assert_error(answer: requests.Response, status: int, *words: str) -> dict:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error", "message"}
    for word in words:
        assert word in body["message"]
    return body


# --- token endpoint -------------------------------------------------------------------------


def test_token_answer_is_cognito_shaped(sandbox_server):
    answer = post_token(sandbox_server, "demo-bank", "demo-bank-secret")
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"access_token", "expires_in", "token_type"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600


def test_token_scope_subset_and_invalid_scope(sandbox_server):
    token = post_token(sandbox_server, "demo-bank", "demo-bank-secret", scope=READ).json()
    me = requests.get(
        sandbox_server.api_url + "/self",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=10,
    ).json()
    assert me["client"]["scopes"] == [READ]
    refused = post_token(
        sandbox_server, "demo-bank-readonly", "demo-bank-readonly-secret", scope=f"{READ} {WRITE}"
    )
    assert refused.status_code == 400 and refused.json() == {"error": "invalid_scope"}


@pytest.mark.parametrize(
    ("client_id", "secret", "form", "status", "code"),
    [
        ("demo-bank", "wrong", {}, 401, "invalid_client"),
        ("nobody", "x", {}, 401, "invalid_client"),
        (
            "demo-bank",
            "demo-bank-secret",
            {"grant_type": "password"},
            400,
            "unsupported_grant_type",
        ),
    ],
)
def test_token_errors(sandbox_server, client_id, secret, form, status, code):
    answer = post_token(sandbox_server, client_id, secret, **form)
    assert answer.status_code == status
    assert answer.json() == {"error": code}


def test_token_without_credentials_or_form(sandbox_server):
    bare = requests.post(sandbox_server.token_url, data={"grant_type": "client_credentials"})
    assert bare.status_code == 401 and bare.json() == {"error": "invalid_client"}
    as_json = requests.post(sandbox_server.token_url, json={"grant_type": "client_credentials"})
    assert as_json.status_code == 400 and as_json.json() == {"error": "invalid_request"}


# --- simple endpoints -----------------------------------------------------------------------


def test_ping_and_self(sandbox_server, bank):
    assert bank.get(sandbox_server.api_url + "/ping").json() == {"message": "pong"}
    me = bank.get(sandbox_server.api_url + "/self").json()
    assert me["company"]["role"] == "bank"
    assert orgnr.is_valid(me["company"]["brreg_organization_number"])
    assert set(me["company"]) == {"id", "name", "brreg_organization_number", "created_at", "role"}
    assert me["client"] == {"client_id": "demo-bank", "scopes": [READ, WRITE]}


def test_relationships_and_borrower(sandbox_server, bank, relationships):
    assert len(relationships) == 40
    assert [r["id"] for r in relationships] == list(range(1, 41))
    states = {r["relationship_state"] for r in relationships}
    assert "access_approved" in states and states <= {
        "access_requested",
        "access_approved",
        "access_revoked",
        "access_denied",
    }
    approved = sum(r["relationship_state"] == "access_approved" for r in relationships)
    assert approved > len(relationships) / 2
    for rel in relationships:
        assert orgnr.is_valid(rel["organization_number"])
        assert rel["company_name"].endswith(" AS")
    rel = relationships[0]
    b = bank.get(f"{sandbox_server.api_url}/borrower/{rel['organization_number']}").json()
    assert b["relationship_state"] == rel["relationship_state"]
    assert b["consented_to_share_data"] == (rel["relationship_state"] == "access_approved")
    assert b["nace_section"].isalpha() and len(b["nace_code"]) == 6
    assert b["accounting_system"] in {"Fiken", "Tripletex", "PowerOffice", "Visma eAccounting"}


def test_borrower_snapshot_dates_match_accounting_data(sandbox_server, bank, approved):
    org = approved[0]
    b = bank.get(f"{sandbox_server.api_url}/borrower/{org}").json()
    items = fetch_all(bank, f"{sandbox_server.api_url}/accounting-data/{org}")
    assert b["last_snapshot_date"] == items[0]["snapshot_date"]
    assert b["first_snapshot_date"] == items[-1]["snapshot_date"]


def test_notifications_newest_first(sandbox_server, bank):
    items = fetch_all(bank, sandbox_server.api_url + "/notifications", limit=7)
    assert items
    ids = [n["id"] for n in items]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    assert {n["type"] for n in items} <= {"consent_approved", "consent_revoked"}


# --- paging ---------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 7, 100])
def test_paging_covers_every_item_once(sandbox_server, bank, approved, limit):
    org = approved[1]
    url = f"{sandbox_server.api_url}/accounting-data/{org}"
    whole = bank.get(url, params={"limit": 100}).json()
    total = whole["metadata"]["totalItems"]
    seen, skip = [], 0
    while skip < total:
        page = bank.get(url, params={"limit": limit, "skip": skip}).json()
        meta = page["metadata"]
        assert meta == {
            "limit": limit,
            "skip": skip,
            "returnedItems": len(page["items"]),
            "totalItems": total,
        }
        assert 0 < len(page["items"]) <= limit
        seen += page["items"]
        skip += limit
    assert [s["id"] for s in seen] == [s["id"] for s in whole["items"]]
    assert len({s["id"] for s in seen}) == total
    dates = [s["snapshot_date"] for s in seen]
    assert dates == sorted(dates, reverse=True)


@pytest.mark.parametrize("path", ["/relationships", "/notifications"])
@pytest.mark.parametrize("limit", [1, 7, 100])
def test_paging_lists(sandbox_server, bank, path, limit):
    every = fetch_all(bank, sandbox_server.api_url + path, limit=100)
    paged = fetch_all(bank, sandbox_server.api_url + path, limit=limit)
    assert paged == every


def test_limit_clamped_and_skip_past_end(sandbox_server, bank):
    url = sandbox_server.api_url + "/relationships"
    page = bank.get(url, params={"limit": 1000}).json()
    assert page["metadata"]["limit"] == 100
    past = bank.get(url, params={"skip": 10_000}).json()
    assert past["items"] == []
    assert past["metadata"] == {"limit": 100, "skip": 10_000, "returnedItems": 0, "totalItems": 40}


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["12345", "923609017", "92360901a", "9236090160"])
def test_malformed_org_number_is_400_naming_it(sandbox_server, bank, bad):
    for path in ("/borrower/", "/accounting-data/"):
        assert_error(bank.get(sandbox_server.api_url + path + bad), 400, bad)


def test_bad_paging_values_are_400(sandbox_server, bank):
    assert_error(bank.get(sandbox_server.api_url + "/relationships?limit=-1"), 400, "limit")
    assert_error(bank.get(sandbox_server.api_url + "/relationships?skip=x"), 400, "skip")


def test_401_missing_wrong_and_expired_token(start_sandbox):
    with start_sandbox(borrowers=3) as sb:
        url = sb.api_url + "/ping"
        missing = assert_error(requests.get(url), 401, "Authorization")
        assert missing["error"] == "unauthorized"
        assert_error(requests.get(url, headers={"Authorization": "Bearer nope"}), 401)
        headers = sb.headers()
        assert requests.get(url, headers=headers).status_code == 200
        assert requests.post(sb.base_url + "/sandbox/tokens/expire").json()["expired"] >= 1
        assert_error(requests.get(url, headers=headers), 401, "expired")
        assert requests.get(url, headers=sb.headers()).status_code == 200


def test_token_ttl_expires_in_real_time(start_sandbox):
    import time

    with start_sandbox(borrowers=3, token_ttl=1) as sb:
        headers = sb.headers()
        assert requests.get(sb.api_url + "/ping", headers=headers).status_code == 200
        time.sleep(1.1)
        assert_error(requests.get(sb.api_url + "/ping", headers=headers), 401, "expired")


def test_403_missing_scope_and_wrong_role(sandbox_server):
    body = {"borrowers": [{"organization_number": UNKNOWN_ORG}]}
    with session_for(sandbox_server, "demo-bank-readonly") as readonly:
        assert_error(
            readonly.post(sandbox_server.api_url + "/request-access", json=body), 403, WRITE
        )
        assert readonly.get(sandbox_server.api_url + "/relationships").status_code == 200
    with session_for(sandbox_server, "demo-bank", scope=READ) as read_only_token:
        assert_error(
            read_only_token.post(sandbox_server.api_url + "/request-access", json=body), 403
        )
    with session_for(sandbox_server, "demo-scorer") as scorer:
        assert_error(scorer.get(sandbox_server.api_url + "/relationships"), 403, "bank")


def test_403_company_without_consent_and_404_unknown(sandbox_server, bank, relationships):
    refused = [r for r in relationships if r["relationship_state"] != "access_approved"]
    assert refused
    for rel in refused:
        org = rel["organization_number"]
        assert_error(
            bank.get(f"{sandbox_server.api_url}/accounting-data/{org}"),
            403,
            rel["relationship_state"],
        )
    assert_error(
        bank.get(f"{sandbox_server.api_url}/accounting-data/{UNKNOWN_ORG}"), 404, UNKNOWN_ORG
    )
    assert_error(bank.get(f"{sandbox_server.api_url}/borrower/{UNKNOWN_ORG}"), 404)


def test_unknown_path_and_method_have_json_errors(sandbox_server, bank):
    assert_error(bank.get(sandbox_server.api_url + "/nope"), 404, "/api/v1/nope")
    assert_error(bank.delete(sandbox_server.api_url + "/relationships"), 405, "DELETE")
    assert_error(bank.post(sandbox_server.api_url + "/request-access", data="{"), 400)


# --- tenants --------------------------------------------------------------------------------


def test_tenant_isolation(sandbox_server, bank, relationships):
    with session_for(sandbox_server, "other-bank") as other:
        theirs = fetch_all(other, sandbox_server.api_url + "/relationships")
        assert 0 < len(theirs) < len(relationships)
        ours = {r["organization_number"] for r in relationships}
        assert ours.isdisjoint(r["organization_number"] for r in theirs)
        their_approved = next(
            r["organization_number"] for r in theirs if r["relationship_state"] == "access_approved"
        )
        our_approved = next(
            r["organization_number"]
            for r in relationships
            if r["relationship_state"] == "access_approved"
        )
        api = sandbox_server.api_url
        assert other.get(f"{api}/accounting-data/{their_approved}").status_code == 200
        assert_error(other.get(f"{api}/accounting-data/{our_approved}"), 404)
        assert_error(bank.get(f"{api}/accounting-data/{their_approved}"), 404)
        assert_error(other.get(f"{api}/borrower/{our_approved}"), 404)
        other_ids = {n["id"] for n in fetch_all(other, api + "/notifications")}
        our_ids = {n["id"] for n in fetch_all(bank, api + "/notifications")}
        assert other_ids and other_ids.isdisjoint(our_ids)
        assert (
            other.get(api + "/self").json()["company"]["name"]
            != bank.get(api + "/self").json()["company"]["name"]
        )


# --- consent and notifications --------------------------------------------------------------


def test_request_access_then_approve_then_revoke(start_sandbox):
    with start_sandbox(borrowers=5) as sb, session_for(sb) as bank:
        api = sb.api_url
        answer = bank.post(
            api + "/request-access", json={"borrowers": [{"organization_number": UNKNOWN_ORG}]}
        )
        assert answer.status_code == 200
        (item,) = answer.json()["items"]
        assert item["relationship_state"] == "access_requested"
        assert item["signup_link"].startswith("https://")
        rels = fetch_all(bank, api + "/relationships")
        assert rels[-1]["organization_number"] == UNKNOWN_ORG and rels[-1]["id"] == 6
        assert_error(bank.get(f"{api}/accounting-data/{UNKNOWN_ORG}"), 403, "access_requested")
        last_id = fetch_all(bank, api + "/notifications")[0]["id"]

        approved = requests.post(f"{sb.base_url}/sandbox/relationships/{UNKNOWN_ORG}/approve")
        assert approved.status_code == 200
        assert approved.json()["items"][0]["relationship_state"] == "access_approved"
        data = bank.get(f"{api}/accounting-data/{UNKNOWN_ORG}").json()
        assert data["metadata"]["totalItems"] > 0
        newest = fetch_all(bank, api + "/notifications")[0]
        assert newest["id"] > last_id and newest["type"] == "consent_approved"
        assert newest["organization_number"] == UNKNOWN_ORG

        requests.post(f"{sb.base_url}/sandbox/relationships/{UNKNOWN_ORG}/revoke")
        assert_error(bank.get(f"{api}/accounting-data/{UNKNOWN_ORG}"), 403, "access_revoked")
        assert fetch_all(bank, api + "/notifications")[0]["type"] == "consent_revoked"
        borrower = bank.get(f"{api}/borrower/{UNKNOWN_ORG}").json()
        assert borrower["consented_to_share_data"] is False

        denied = requests.post(f"{sb.base_url}/sandbox/relationships/{UNKNOWN_ORG}/deny")
        assert denied.json()["items"][0]["relationship_state"] == "access_denied"
        missing = requests.post(f"{sb.base_url}/sandbox/relationships/974760673/approve")
        assert_error(missing, 404)
        assert_error(requests.post(f"{sb.base_url}/sandbox/relationships/123/approve"), 400, "123")


def test_request_access_refuses_bad_numbers(sandbox_server, bank):
    body = {"borrowers": [{"organization_number": "123456789"}]}
    assert_error(bank.post(sandbox_server.api_url + "/request-access", json=body), 400, "123456789")


def test_advance_month_publishes_and_notifies(start_sandbox):
    with start_sandbox(borrowers=30) as sb, session_for(sb) as bank:
        api = sb.api_url
        summary = requests.get(sb.base_url + "/sandbox/portfolio").json()
        assert summary["as_of"] == "2026-03-31" and summary["borrowers"] == 30
        org = next(
            r["organization_number"]
            for r in fetch_all(bank, api + "/relationships")
            if r["relationship_state"] == "access_approved"
            and bank.get(f"{api}/borrower/{r['organization_number']}").json()["connection_status"]
            == "connected"
        )
        before = fetch_all(bank, f"{api}/accounting-data/{org}")
        moved = requests.post(sb.base_url + "/sandbox/advance-month").json()
        assert moved == {"as_of": "2026-04-30"}
        after = fetch_all(bank, f"{api}/accounting-data/{org}")
        assert after[0]["snapshot_date"] == "2026-04-30"
        assert len(after) == len(before) + 1
        assert {s["id"] for s in before} < {s["id"] for s in after}
        kinds = [n["type"] for n in fetch_all(bank, api + "/notifications")]
        assert kinds[0] == "new_accounting_data"
        assert requests.get(sb.base_url + "/sandbox/portfolio").json()["as_of"] == "2026-04-30"


# --- credit scorer and partner --------------------------------------------------------------


def test_credit_scorer_endpoints(sandbox_server):
    api = sandbox_server.api_url
    with session_for(sandbox_server, "demo-scorer") as scorer:
        me = scorer.get(api + "/self").json()["company"]
        assert me["role"] == "credit_scorer"
        creditor = me["brreg_organization_number"]
        debtors = fetch_all(scorer, f"{api}/list-debtors/{creditor}", limit=7)
        assert debtors and set(debtors[0]) == {
            "organization_number",
            "name",
            "relationship_state",
            "requested_at",
            "approved_at",
        }
        for d in debtors:
            url = f"{api}/get-credit-score/{creditor}/{d['organization_number']}"
            answer = scorer.get(url)
            if d["relationship_state"] != "access_approved":
                assert_error(answer, 403)
                continue
            score = answer.json()
            assert 1 <= score["score"] <= 100 and 0 < score["probability_of_default"] < 1
            assert score["risk_class"] in "ABCDE" and score["based_on_snapshot_date"]
        other = "974760673"
        assert_error(scorer.get(f"{api}/list-debtors/{other}"), 403, other)
        assert_error(scorer.get(f"{api}/list-debtors/12"), 400, "12")
        assert_error(scorer.get(f"{api}/get-credit-score/{creditor}/{UNKNOWN_ORG}"), 404)


def test_credit_scores_follow_health(sandbox_server):
    api = sandbox_server.api_url
    with session_for(sandbox_server, "demo-scorer") as scorer:
        creditor = scorer.get(api + "/self").json()["company"]["brreg_organization_number"]
        scores = [
            scorer.get(f"{api}/get-credit-score/{creditor}/{d['organization_number']}").json()
            for d in fetch_all(scorer, f"{api}/list-debtors/{creditor}")
            if d["relationship_state"] == "access_approved"
        ]
    bands = {"A": 80, "B": 65, "C": 45, "D": 25, "E": 1}
    for s in scores:
        assert s["score"] >= bands[s["risk_class"]]
    by_score = sorted(scores, key=lambda s: s["score"])
    pds = [s["probability_of_default"] for s in by_score]
    assert pds == sorted(pds, reverse=True)


def test_scorer_request_access(start_sandbox):
    with start_sandbox(borrowers=5) as sb, session_for(sb, "demo-scorer") as scorer:
        creditor = scorer.get(sb.api_url + "/self").json()["company"]["brreg_organization_number"]
        body = {"debtors": [{"organization_number": UNKNOWN_ORG}]}
        answer = scorer.post(f"{sb.api_url}/request-access/{creditor}", json=body)
        assert answer.json()["items"][0]["relationship_state"] == "access_requested"
        url = f"{sb.api_url}/get-credit-score/{creditor}/{UNKNOWN_ORG}"
        assert_error(scorer.get(url), 403)
        requests.post(f"{sb.base_url}/sandbox/relationships/{UNKNOWN_ORG}/approve")
        assert scorer.get(url).json()["organization_number"] == UNKNOWN_ORG


def test_partner_endpoints(start_sandbox):
    with start_sandbox(borrowers=3) as sb, session_for(sb, "demo-partner") as partner:
        info = partner.get(sb.api_url + "/partner").json()
        assert info["client"]["client_id"] == "demo-partner"
        assert len(info["credit_scorers"]) == 1
        made = partner.post(
            sb.api_url + "/partner/credit-scorer",
            json={"borrowers": [{"organization_number": UNKNOWN_ORG}]},
        )
        assert made.json()["items"][0]["organization_number"] == UNKNOWN_ORG
        assert len(partner.get(sb.api_url + "/partner").json()["credit_scorers"]) == 2
        with session_for(sb) as bank:
            assert_error(bank.get(sb.api_url + "/partner"), 403, "partner")


# --- admin ----------------------------------------------------------------------------------


def test_request_counts_by_route_and_status(start_sandbox):
    with start_sandbox(borrowers=3) as sb, session_for(sb) as bank:
        requests.post(sb.base_url + "/sandbox/requests/reset")
        bank.get(sb.api_url + "/ping")
        bank.get(sb.api_url + "/accounting-data/123")
        bank.get(sb.api_url + "/accounting-data/" + UNKNOWN_ORG)
        seen = requests.get(sb.base_url + "/sandbox/requests").json()
        windows = seen.pop("first_last_s")
        wire = {name: seen.pop(name) for name in ("wire_bytes", "user_agents", "accept_encodings")}
        assert wire["wire_bytes"] > 0 and sum(wire["user_agents"].values()) == 3
        assert seen == {
            "total": 3,
            "by_endpoint": {
                "GET /api/v1/accounting-data/{organization_number}": {"400": 1, "404": 1},
                "GET /api/v1/ping": {"200": 1},
            },
            "peak_in_flight": 1,  # one after the other
        }
        pages, ping = (
            windows["GET /api/v1/accounting-data/{organization_number}"],
            windows["GET /api/v1/ping"],
        )
        assert 0 <= ping[0] == ping[1] <= pages[0] <= pages[1]
        sb.token()
        seen = requests.get(sb.base_url + "/sandbox/requests").json()
        assert seen["by_endpoint"]["POST /oauth2/token"] == {"200": 1}
        assert requests.post(sb.base_url + "/sandbox/requests/reset").json()["total"] == 0


def test_openapi_document(sandbox_server):
    doc = requests.get(sandbox_server.base_url + "/openapi.json").json()
    paths = doc["paths"]
    for path in (
        "/api/v1/accounting-data/{organization_number}",
        "/api/v1/relationships",
        "/oauth2/token",
        "/sandbox/advance-month",
    ):
        assert path in paths
    op = paths["/api/v1/accounting-data/{organization_number}"]["get"]
    assert {p["name"] for p in op["parameters"]} == {"organization_number", "limit", "skip"}
    assert {"200", "400", "401", "403", "404"} <= set(op["responses"])
    assert "422" not in op["responses"]
    assert "HTTPBearer" in doc["components"]["securitySchemes"]
