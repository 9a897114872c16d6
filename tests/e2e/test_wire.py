"""Bytes on the wire: a full load asks for compression and the sandbox, like an API gateway,
gzips what it is asked to. The same full load against a sandbox that never compresses is the
load as it was before; the compressed one must move at most a quarter of its bytes. The
request log shows Accept-Encoding and the product's User-Agent on every request."""

from __future__ import annotations

import pytest

from pipelines.symetrisk import settings
from pipelines.symetrisk.client import Api
from pipelines.symetrisk.useragent import USER_AGENT
from tests.conftest import start_sandbox
from tests.warehouse_checks import load

pytestmark = pytest.mark.e2e


def full_load(tmp_path, compress: bool) -> tuple[dict, object]:
    with start_sandbox(borrowers=30, months=36, compress=compress) as server:
        stats = load(server, tmp_path)
        api = Api(server.api_url, server.token_url, "demo-bank", "demo-bank-secret",
                  scope=f"{settings.READ_SCOPE} {settings.WRITE_SCOPE}")  # fmt: skip
        try:
            api.post(settings.REQUEST_ACCESS, {"borrowers": [{"organization_number": "810000007"}]})
        finally:
            api.close()
        return server.app.state.log.as_json(), stats


def test_a_full_load_moves_at_most_a_quarter_of_the_plain_bytes(tmp_path):
    plain, plain_stats = full_load(tmp_path / "plain", compress=False)
    packed, packed_stats = full_load(tmp_path / "gzip", compress=True)
    assert packed_stats.rows == plain_stats.rows  # the same data arrived
    assert plain["total"] == packed["total"]
    ratio = packed["wire_bytes"] / plain["wire_bytes"]
    print(f"wire bytes: {plain['wire_bytes']:,} plain, {packed['wire_bytes']:,} gzip ({ratio:.1%})")
    assert ratio <= 0.25
    # the GETs count what came off the wire, as the sandbox counted what it sent
    gets = packed["by_endpoint"]
    assert 0 < packed_stats.wire_bytes < packed["wire_bytes"] and gets
    assert packed_stats.wire_bytes <= 0.25 * plain_stats.wire_bytes

    # every request named the product (GETs, token calls, the POST) and the GETs asked for
    # gzip and brotli
    assert packed["user_agents"] == {USER_AGENT: packed["total"]}
    encodings = packed["accept_encodings"]
    asked = sum(n for value, n in encodings.items() if "gzip" in value)
    assert asked == packed["total"]
    assert any("br" in value for value in encodings)
