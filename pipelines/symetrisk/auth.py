"""Cognito client-credentials auth. dlt's OAuth2ClientCredentials sends the client id and secret
in the form body; Cognito wants them in a Basic header, with the scope in the body. This is the
one named place where dlt's class is extended: Basic header, scope, a token shared safely by all
threads and renewed shortly before it expires, a renewal on demand after a 401, and errors that
name the setting to check (never the secret or the token).

Against a token endpoint that misbehaves: a token said to live under TOKEN_MIN_LIFETIME_S (60 s;
`expires_in` 0 or less included) is used for that long, or until the API refuses it; renewals
are at least TOKEN_MIN_RENEWAL_INTERVAL_S apart; and TOKEN_MAX_DEAD_TOKENS tokens in a row that
the API refused before ever accepting one end the run with one line."""

from __future__ import annotations

import threading
import time
from base64 import b64encode
from typing import Any

from dlt.common.configuration.specs.base_configuration import configspec
from dlt.common.pendulum import pendulum
from dlt.sources.helpers.rest_client.auth import OAuth2ClientCredentials
from requests import PreparedRequest
from requests.exceptions import RequestException

from . import settings, stopping
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
        self._obtained_at = -1e9  # time.monotonic() of the last token request
        self._accepted: str | None = None  # the last token the API answered a request with
        self._dead_in_a_row = 0

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
                self._count_dead(rejected_header)
                self.obtain_token()
            return str(self.access_token)

    def accepted(self, token: str | None) -> None:
        """The API answered a request sent with `token` (not a 401)."""
        self._accepted = token

    def _count_dead(self, rejected_header: str | None) -> None:
        if rejected_header and rejected_header == f"Bearer {self._accepted}":
            self._dead_in_a_row = 0  # it worked before it expired: not a dead token
            return
        self._dead_in_a_row += 1
        if self._dead_in_a_row >= settings.TOKEN_MAX_DEAD_TOKENS:
            raise SymetriskConfigError(
                f"the token endpoint issued {self._dead_in_a_row} tokens in a row that the API "
                f"refused: check {settings.SETTING_TOKEN_URL} (it must belong to this API), "
                f"{settings.SETTING_CLIENT_ID} and {settings.SETTING_CLIENT_SECRET}"
            )

    def is_token_expired(self) -> bool:
        return pendulum.now() >= self.token_expiry

    def obtain_token(self) -> None:
        url = self.access_token_url
        # renewals at least this far apart, whatever the endpoint or the API says
        wait = self._obtained_at + settings.TOKEN_MIN_RENEWAL_INTERVAL_S - time.monotonic()
        if wait > 0:
            stopping.sleep(wait)
        self._obtained_at = time.monotonic()
        try:
            response = self.session.post(url, stream=True, **self.build_access_token_request())
            read_capped(response, url)
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
        try:
            lifetime = min(float(body.get("expires_in", 0)), 86400.0)  # a day at most
        except (TypeError, ValueError):
            lifetime = 0.0  # not a number: treated as a token that says nothing of its life
        if not lifetime >= 0:  # NaN
            lifetime = 0.0
        if lifetime < settings.TOKEN_MIN_LIFETIME_S:
            # 0, negative or a few seconds: used this long, or until the API refuses it
            usable = float(settings.TOKEN_MIN_LIFETIME_S)
        else:
            usable = lifetime - min(self.renew_margin_s, lifetime / 10)
        self.token_expiry = pendulum.now().add(seconds=usable)
        self.tokens_obtained += 1


def read_capped(response: Any, url: str) -> None:
    """Read the token endpoint's answer, at most TOKEN_MAX_RESPONSE_BYTES and within the
    request deadline (a body that never ends, or drips, ends the run with one line)."""
    limit, deadline = settings.TOKEN_MAX_RESPONSE_BYTES, settings.DEFAULT_REQUEST_DEADLINE_S
    started, size, chunks = time.monotonic(), 0, []
    for chunk in response.iter_content(chunk_size=64):  # small: a drip is seen chunk by chunk
        size += len(chunk)
        late = time.monotonic() - started > deadline
        if size > limit or late:
            response.close()
            what = f"more than {limit:,} bytes" if size > limit else f"for over {deadline:g} s"
            raise SymetriskConfigError(
                f"the token endpoint {url} kept sending {what}: check {settings.SETTING_TOKEN_URL}"
            )
        chunks.append(chunk)
    response._content = b"".join(chunks)


def _oauth_error(response: Any) -> str | None:
    """The OAuth2 `error` code of a token endpoint's refusal, if it gave one."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None
