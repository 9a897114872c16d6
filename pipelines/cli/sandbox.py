"""Start the local Symetrisk sandbox API: a real HTTP server with a deterministic synthetic
portfolio of Norwegian SMEs, the Cognito-style token endpoint, consent states and optional
faults. It prints its URLs and the demo credentials, then serves until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
from datetime import date

from pipelines.sandbox.portfolio import MAX_MONTHS, default_as_of

EXAMPLES = """examples:
  symetrisk sandbox                                  # 200 borrowers x 36 months on :8765
  symetrisk sandbox --borrowers 10000 --months 100   # the benchmark portfolio
  symetrisk sandbox --latency-ms 20 --throttle-rps 50 --error-rate 0.02
  curl -X POST localhost:8765/sandbox/advance-month  # close one more month
  open http://127.0.0.1:8765/docs                    # every endpoint, try it out
"""


# argparse prints these messages as they are (never a function's name): one line each
def _number(text: str, kind: type = float) -> float:
    try:
        return kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None


def _rate(text: str) -> float:
    value = _number(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (a share), got {text}")
    return value


def _non_negative(text: str) -> int:
    value = int(_number(text, int))
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = _number(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 or more (0 = off), got {text}")
    return value


def _months(text: str) -> int:
    value = int(_number(text, int))
    if not 1 <= value <= MAX_MONTHS:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_MONTHS}, got {text}")
    return value


def _positive(text: str) -> int:
    value = int(_number(text, int))
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def _port(text: str) -> int:
    value = int(_number(text, int))
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(
            f"must be between 1 and 65535, or 0 for any free port (e.g. 8765), got {text}"
        )
    return value


def _seed(text: str) -> int:
    return int(_number(text, int))


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a date YYYY-MM-DD, got {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=_port, default=8765, help="port (default 8765; 0 = free)")
    data = parser.add_argument_group("portfolio")
    data.add_argument("--borrowers", type=_positive, default=200, help="borrowers of demo-bank")
    data.add_argument("--months", type=_months, default=36, help=f"history, at most {MAX_MONTHS}")
    data.add_argument("--seed", type=_seed, default=42, help="same seed, same data and faults")
    data.add_argument(
        "--as-of",
        type=_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="newest closed month (default: the end of last month)",
    )
    data.add_argument("--token-ttl", type=_positive, default=3600, help="token lifetime, seconds")
    faults = parser.add_argument_group("faults (all off by default; only under /api/v1)")
    faults.add_argument("--latency-ms", type=_non_negative, default=0, help="added to each call")
    faults.add_argument(
        "--throttle-rps",
        type=_non_negative_float,
        default=0.0,
        help="429 + Retry-After beyond this rate",
    )
    faults.add_argument("--error-rate", type=_rate, default=0.0, help="share of 500/502/503")
    faults.add_argument(
        "--broken-json-rate", type=_rate, default=0.0, help="share of 200s with a cut-off body"
    )
    faults.add_argument(
        "--drop-rate", type=_rate, default=0.0, help="share of connections closed unanswered"
    )
    faults.add_argument("--stall-rate", type=_rate, default=0.0, help="share of latency spikes")
    faults.add_argument("--stall-ms", type=_non_negative, default=30_000, help="spike length")
    faults.add_argument(
        "--schema-drift", action="store_true", help="unknown keys and changed types in some items"
    )
    faults.add_argument(
        "--failing-borrowers",
        nargs="+",
        default=[],
        metavar="ORG",
        help="these borrowers answer 500 on every call",
    )
    parser.add_argument(
        "--docs-only",
        action="store_true",
        help="serve only what the public docs define: no role in /self, no updated_at or "
        "organization_number on snapshots, no /notifications or /borrower/{org}",
    )
    tls = parser.add_argument_group("transport")
    tls.add_argument("--certfile", metavar="PEM", help="serve HTTPS with this certificate chain")
    tls.add_argument("--keyfile", metavar="PEM", help="the private key of --certfile")
    tls.add_argument(
        "--no-compress", action="store_true", help="never gzip answers, even when asked"
    )


def main(args: argparse.Namespace) -> int:
    from pipelines.sandbox.server import SandboxOptions, serve_forever
    from pipelines.sandbox.tenants import CLIENTS

    options = SandboxOptions(
        borrowers=args.borrowers,
        months=args.months,
        seed=args.seed,
        as_of=args.as_of,
        token_ttl=args.token_ttl,
        latency_ms=args.latency_ms,
        throttle_rps=args.throttle_rps,
        error_rate=args.error_rate,
        broken_json_rate=args.broken_json_rate,
        drop_rate=args.drop_rate,
        stall_rate=args.stall_rate,
        stall_ms=args.stall_ms,
        schema_drift=args.schema_drift,
        failing_borrowers=tuple(args.failing_borrowers),
        docs_only=args.docs_only,
        compress=not args.no_compress,
    )
    from pipelines.sandbox.server import listening_socket

    try:
        sock = listening_socket(args.host, args.port)
    except OSError as exc:
        print(
            f"symetrisk sandbox: cannot listen on {args.host}:{args.port} "
            f"({exc.strerror or exc}); choose another --port, or --port 0 for any free one",
            file=sys.stderr,
        )
        return 1
    port = sock.getsockname()[1]
    base = f"{'https' if args.certfile else 'http'}://{args.host}:{port}"
    as_of = options.as_of or default_as_of()
    lines = [
        f"Symetrisk sandbox: {options.borrowers} borrowers x {options.months} months, "
        f"seed {options.seed}, as of {as_of.isoformat()}"
        + ("; docs-only (only what the public docs define)" if options.docs_only else ""),
        f"  base URL:  {base}",
        f"  API:       {base}/api/v1",
        f"  token URL: {base}/oauth2/token",
        f"  docs:      {base}/docs   (OpenAPI: {base}/openapi.json)",
        "  demo credentials (client id / secret: scopes):",
    ]
    for c in CLIENTS.values():
        scopes = ", ".join(s.rsplit("/", 1)[-1] for s in c.scopes)
        lines.append(f"    {c.client_id:<20} {c.secret:<28} {scopes}")
    active = {k: v for k, v in options.fault_switches().items() if v}
    lines.append(f"  faults: {active or 'off'}   (change: POST {base}/sandbox/faults)")
    print("\n".join(lines), flush=True)
    serve_forever(options, sock, args.certfile, args.keyfile)
    return 0
