"""The API as the dlt settings name it, for the commands that talk to it outside a load
(`status`, the consent commands)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ApiConfig:
    base_url: str | None
    token_url: str | None
    client_id: str | None
    client_secret: str | None


def api_config() -> ApiConfig:
    """The API settings as `symetrisk run` reads them (dlt config: environment, .dlt/)."""
    import dlt

    def get(key: str, secret: bool = False) -> str | None:
        value = (dlt.secrets if secret else dlt.config).get(f"sources.symetrisk.{key}")
        return str(value) if value else None

    return ApiConfig(
        get("base_url"), get("token_url"), get("client_id"), get("client_secret", secret=True)
    )


def connect(config: ApiConfig, quick: bool = False) -> Any:
    """An Api with the client's own scopes (no scope asked: Cognito grants all of the client's).
    `quick`: the run's retries with short timeouts and waits (for `status`, which bounds the
    whole check: health_words.py)."""
    from pipelines.symetrisk import settings
    from pipelines.symetrisk.client import Api
    from pipelines.symetrisk.health_words import STATUS_MAX_RETRY_DELAY_S

    options: dict[str, Any] = {}
    if quick:
        options = {"max_attempts": settings.DEFAULT_MAX_ATTEMPTS, "connect_timeout_s": 5.0}
        options["read_timeout_s"] = 15.0
        options["max_retry_delay_s"] = STATUS_MAX_RETRY_DELAY_S
    return Api(
        config.base_url or "",
        config.token_url or "",
        config.client_id or "",
        config.client_secret or "",
        scope=None,
        **options,
    )
