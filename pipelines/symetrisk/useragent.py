"""The User-Agent every request of the product sends: `symetrisk-credit-trends/<version>`, the
version from the installed package's metadata, so the API's owners see one named client."""

from __future__ import annotations

from importlib import metadata

PACKAGE = "symetrisk-credit-trends"


def _version() -> str:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


USER_AGENT = f"{PACKAGE}/{_version()}"
