"""The brief in a real browser: headless Chromium (Debian's `chromium`; .ci/run installs it)
opens the brief a real run wrote, renders its pages and makes no network request. The net log
check is shown to catch a page that does fetch something (a probe page)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pipelines import cli
from pipelines.sandbox.server import SandboxOptions, SandboxServer
from pipelines.sandbox.tenants import CLIENTS

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    # nothing the browser itself asks for leaves this machine either
    "--host-resolver-rules=MAP * ~NOTFOUND",
]


@pytest.fixture(scope="module")
def brief(tmp_path_factory) -> Path:
    """The brief `symetrisk run` wrote after loading the sandbox (a bank with a loan book)."""
    folder = tmp_path_factory.mktemp("brief")
    options = SandboxOptions(borrowers=40, months=24, seed=42)
    with SandboxServer(options) as sandbox, pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        for name in [n for n in os.environ if n.startswith("ALERTS__")]:
            mp.delenv(name)
        mp.setenv("SOURCES__SYMETRISK__BASE_URL", sandbox.api_url)
        mp.setenv("SOURCES__SYMETRISK__TOKEN_URL", sandbox.token_url)
        mp.setenv("SOURCES__SYMETRISK__CLIENT_ID", "demo-bank")
        mp.setenv("SOURCES__SYMETRISK__CLIENT_SECRET", CLIENTS["demo-bank"].secret)
        code = cli.main(
            ["run", "--quiet", "--destination", str(folder / "wh" / "bank.duckdb"),
             "--pipelines-dir", str(folder / "dlt")]
        )  # fmt: skip
    assert code == 0
    path = folder / "wh" / "reports" / "latest.html"
    assert path.exists()
    return path


def chromium(tmp_path: Path, url: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *extra, url],
        capture_output=True,
        timeout=120,
        check=False,
    )


def page_requests(net_log: Path) -> list[str]:
    """URLs of the requests a document started (the browser's own say 'not an origin')."""
    log = json.loads(net_log.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [
        e["params"]["url"]
        for e in log["events"]
        if e["type"] == start
        and e.get("params", {}).get("url")
        and e["params"].get("initiator") != "not an origin"
    ]


def test_the_brief_is_one_file_that_fetches_nothing(brief):
    html = brief.read_text(encoding="utf-8")
    assert "default-src 'none'" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert not re.search(r"<(script|iframe|object|embed|link)\b", html, re.I)
    assert "@media print" in html and "break-before: page" in html


@needs_chromium
def test_chromium_renders_the_brief_without_a_network_request(brief, tmp_path):
    net_log = tmp_path / "net.json"
    done = chromium(
        tmp_path,
        brief.as_uri(),
        f"--log-net-log={net_log}",
        "--net-log-capture-mode=Everything",
        "--dump-dom",
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    dom = done.stdout.decode()
    html = brief.read_text(encoding="utf-8")
    pages = len(re.findall(r"<section class=.page", html))
    assert "Credit brief," in dom and len(re.findall(r'<section class="page"', dom)) == pages > 1
    assert dom.count("<svg") == html.count("<svg") > 4
    assert page_requests(net_log) == []

    shot = tmp_path / "brief.png"
    done = chromium(tmp_path, brief.as_uri(), f"--screenshot={shot}", "--window-size=900,1400")
    assert done.returncode == 0 and shot.stat().st_size > 20_000


@needs_chromium
def test_the_net_log_check_catches_a_page_that_fetches(tmp_path):
    probe = tmp_path / "probe.html"
    probe.write_text('<html><body><img src="http://127.0.0.1:9/pixel.png"></body></html>')
    net_log = tmp_path / "net.json"
    chromium(
        tmp_path,
        probe.as_uri(),
        f"--log-net-log={net_log}",
        "--net-log-capture-mode=Everything",
        "--dump-dom",
    )
    assert page_requests(net_log) == ["http://127.0.0.1:9/pixel.png"]


@needs_chromium
def test_the_brief_prints_to_pdf_one_page_per_borrower_at_least(brief, tmp_path):
    pdf = tmp_path / "brief.pdf"
    done = chromium(tmp_path, brief.as_uri(), f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    data = pdf.read_bytes()
    pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    sections = brief.read_text(encoding="utf-8").count("<section class='page'")
    assert pages >= sections


def test_the_pages_read_for_the_whole_watchlist_equal_each_borrowers_own_rows(brief):
    """`page_data` reads each mart once for the watchlist; per borrower it must hold exactly
    the rows a query for that borrower alone returns, in the same order."""
    import duckdb

    from pipelines.brief import report

    with duckdb.connect(str(brief.parent.parent / "bank.duckdb"), read_only=True) as con:
        orgs = [r["organization_number"] for r in report.watchlist(con, report.latest_run(con))]
        assert len(orgs) >= 2
        data = report.page_data(con, orgs)
        marts = report.MARTS
        for org in orgs:
            own = con.execute(
                f"select month_end, equity_ratio from {marts}.fct_borrower_month "
                "where organization_number = ? order by month_end",
                [org],
            ).fetchall()
            assert [(s["month_end"], s["equity_ratio"]) for s in data.series[org]] == own
            flags = con.execute(
                f"select flag, opened_month from {marts}.fct_warning_episodes "
                "where organization_number = ? order by opened_month, flag",
                [org],
            ).fetchall()
            assert [(e["flag"], e["opened_month"]) for e in data.episodes.get(org, [])] == flags
            tests = con.execute(
                f"select metric, month_end, headroom from {marts}.fct_covenant_tests "
                "where organization_number = ? order by metric, month_end",
                [org],
            ).fetchall()
            got = [
                (m, r["month_end"], r["headroom"])
                for m, rows in data.covenants.get(org, {}).items()
                for r in rows
            ]
            assert got == tests
            band = con.execute(
                f"select p.month_end, p.p25, p.p75 from {marts}.fct_peer_month as p "
                f"join {marts}.dim_borrower as d on d.nace_section = p.nace_section "
                "where d.organization_number = ? and p.metric = 'equity_ratio' "
                "order by p.month_end",
                [org],
            ).fetchall()
            section = con.execute(
                f"select nace_section from {marts}.dim_borrower where organization_number = ?",
                [org],
            ).fetchone()[0]
            assert data.bands.get(section, []) == band
    assert report.page_data(None, []) == report.PageData({}, {}, {}, {})
