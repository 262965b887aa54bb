"""Whether the links a home writes (QR codes, CRL/OCSP/AIA URLs) point where ``edoc serve`` answers.

The public base URL goes into every certificate of the built-in PKI and every
document's QR code. A service behind a reverse proxy has a public URL of
another host (``https://edoc.agency.go.th``): nothing to compare. A loopback
public URL (what ``edoc init`` writes by default) only works if the service
answers there, so a different port or address stops ``edoc serve`` with the
fix to run: the certificates already issued carry the URL, so it cannot be
changed under them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_ANY = {"0.0.0.0", "::", ""}


def link_mismatch(public_base_url: str, host: str, port: int) -> str | None:
    """A message when a loopback ``public_base_url`` is not where ``host:port`` serves, else None."""
    url = urlsplit(public_base_url)
    if url.hostname not in _LOOPBACK:
        return None  # a proxy's or a real host's name: served elsewhere by design
    url_port = url.port or (443 if url.scheme == "https" else 80)
    same_host = host in _ANY or host in _LOOPBACK
    if url.scheme == "http" and url_port == port and same_host:
        return None
    served = f"http://{host}:{port}"
    return (
        f"this home's public URL is {public_base_url} (setting public_base_url, in edoc.toml), "
        f"written into its certificates' CRL/OCSP links and every document's QR code, "
        f"but edoc would serve on {served}, so those links would not answer. "
        f"Serve where they point (edoc serve --host {url.hostname} --port {url_port}), "
        f"or create a home that answers on {served}: "
        f"edoc --home NEW_FOLDER init --public-base-url {served}"
    )
