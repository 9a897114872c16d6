"""The requests side of the product's network manners, in one HTTPAdapter that the token call's
session and the POSTs' sessions mount: the trust store of trust.py (whatever `verify` a caller
or the environment passed: verification is never off), the product's User-Agent, and a
certificate or proxy failure raised at once as its one line (netfailures.py), so dlt's retry,
which retries any ConnectionError, never retries it."""

from __future__ import annotations

from typing import Any

from requests.adapters import HTTPAdapter
from requests.exceptions import ProxyError, SSLError
from requests.utils import select_proxy

from .netfailures import requests_failure
from .trust import TrustStore, trust_store
from .useragent import USER_AGENT


class ProductAdapter(HTTPAdapter):
    """HTTPAdapter with the trust store, the User-Agent and unretried TLS/proxy failures."""

    def __init__(self, *args: Any, store: TrustStore | None = None, **kwargs: Any) -> None:
        self.store = store or trust_store()
        super().__init__(*args, **kwargs)

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):  # type: ignore[no-untyped-def]
        request.headers["User-Agent"] = USER_AGENT
        try:
            return super().send(
                request,
                stream=stream,
                timeout=timeout,
                verify=self.store.verify,
                cert=cert,
                proxies=proxies,
            )
        except (SSLError, ProxyError) as exc:
            failure = requests_failure(exc, request.url, select_proxy(request.url, proxies))
            if failure is None:
                raise
            raise failure from exc

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state["store"] = self.store
        return state
