"""Cognito client-credentials auth. dlt's OAuth2ClientCredentials sends the client id and secret
in the form body; Cognito wants them in a Basic header, with the scope in the body. This is the
one named place where dlt's class is extended: Basic header, scope, a token shared safely by all
threads and renewed shortly before it expires, a renewal on demand after a 401, and errors that
name the setting to check (never the secret or the token)."""

from __future__ import annotations

import threading
from base64 import b64encode
from typing import Any

from dlt.common.configuration.specs.base_configuration import configspec
from dlt.common.pendulum import pendulum
from dlt.sources.helpers.rest_client.auth import OAuth2ClientCredentials
from requests import PreparedRequest
from requests.exceptions import RequestException

from . import settings
from .errors import SymetriskConfigError
from .trust import proxy_for, without_password


@configspec
class CognitoClientCredentials(OAuth2ClientCredentials):
    """OAuth2 client credentials the way AWS Cognito takes them."""

    scope: str | None = None
    renew_margin_s: int = settings.TOKEN_RENEW_MARGIN_S

    def __post_init__(self) -> None:
        super().__post_init__()
        self._lock = threading.Lock()
        self.tokens_obtained = 0

    def build_access_token_request(self) -> dict[str, Any]:
        basic = b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode("ascii")
        data = {"grant_type": "client_credentials", **self.access_token_request_data}
        if self.scope:
            data["scope"] = self.scope
        return {
            "headers": {
                "Authorization": f"Basic {basic}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
            "data": data,
        }

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.current_token()}"
        return request

    def current_token(self) -> str:
        """The token in use, fetched first or renewed when it is about to expire."""
        with self._lock:
            if self.access_token is None or self.is_token_expired():
                self.obtain_token()
            return str(self.access_token)

    def renew(self, rejected_header: str | None) -> str:
        """After a 401: renew unless another thread already replaced the rejected token."""
        with self._lock:
            if self.access_token is None or rejected_header == f"Bearer {self.access_token}":
                self.obtain_token()
            return str(self.access_token)

    def is_token_expired(self) -> bool:
        return pendulum.now() >= self.token_expiry

    def obtain_token(self) -> None:
        url = self.access_token_url
        try:
            response = self.session.post(url, **self.build_access_token_request())
        except RequestException as exc:
            proxy = proxy_for(url)
            via = f" through the proxy {without_password(proxy)}" if proxy else ""
            check = f"{settings.SETTING_TOKEN_URL}" + (
                ", HTTPS_PROXY and NO_PROXY" if proxy else ""
            )
            raise SymetriskConfigError(
                f"cannot reach the token endpoint {url}{via} ({type(exc).__name__}): check {check}"
            ) from exc
        if response.status_code == 400 and _oauth_error(response) == "invalid_scope":
            raise SymetriskConfigError(
                f"the token endpoint refused the scope {self.scope!r} (invalid_scope): check "
                f"{settings.SETTING_SCOPE} and the scopes {settings.SETTING_CLIENT_ID} may use"
            )
        if response.status_code in (400, 401, 403):
            raise SymetriskConfigError(
                f"the token endpoint refused the client credentials (HTTP {response.status_code}):"
                f" check {settings.SETTING_CLIENT_ID} and {settings.SETTING_CLIENT_SECRET}"
            )
        try:
            body = response.json() if response.status_code == 200 else None
        except ValueError:
            body = None
        if not isinstance(body, dict) or not body.get("access_token"):
            raise SymetriskConfigError(
                f"{url} did not answer like a token endpoint (HTTP {response.status_code}):"
                f" check {settings.SETTING_TOKEN_URL}"
            )
        self.access_token = str(body["access_token"])
        lifetime = self.parse_expiration_in_seconds(body)
        margin = min(self.renew_margin_s, lifetime / 10)
        self.token_expiry = pendulum.now().add(seconds=lifetime - margin)
        self.tokens_obtained += 1


def _oauth_error(response: Any) -> str | None:
    """The OAuth2 `error` code of a token endpoint's refusal, if it gave one."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None
