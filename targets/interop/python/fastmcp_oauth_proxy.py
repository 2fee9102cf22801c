"""The To-Do MCP server behind FastMCP's `OAuthProxy` / `OIDCProxy` (`fastmcp==4.2.3`), as an authz interop target.

The seed story's server (the tools of `fastmcp_todo_server.py`: `list_todos` needs `todo:read`, `create_todo` and
`delete_todo` need `todo:write`) protected by FastMCP's OAuth proxy: to MCP clients the server is an authorization
server of its own (RFC 8414 metadata, DCR at `/register`, `/authorize`, `/consent`, `/token`), and it logs users
in at an upstream authorization server / OpenID provider with one static client id (the "proxy AS with a static
upstream client" of the MCP security best practices, catalog rows AS-PRX-*). The suite's authorization-server role
judges it with `authz --issuer <base URL>`.

Modes:

* default: `OAuthProxy(upstream_authorization_endpoint=, upstream_token_endpoint=, upstream_client_id=,
  upstream_client_secret=, token_verifier=JWTVerifier(jwks_uri=, issuer=, audience=), base_url=)`, as on
  gofastmcp.com/servers/auth/oauth-proxy. The verifier checks the upstream *access token* (a JWT) on every MCP
  request.
* `--oidc`: `OIDCProxy(config_url=, client_id=, client_secret=, base_url=)` (gofastmcp.com/servers/auth/oidc-proxy):
  endpoints and JWKS from the upstream's OpenID discovery document. `--verify-id-token` passes
  `verify_id_token=True` (default False): the upstream *ID token* is verified instead of the access token (audience
  = the upstream client id).

Everything else stays at the package defaults, in particular `require_authorization_consent=True` (the consent page
on every authorization) and `allowed_client_redirect_uris=None` (a DCR client's registered redirect URIs, any port
on loopback). `--consent remember|off` and `--allowed-redirect PATTERN` select the documented alternatives.
Storage is in memory (`MemoryStore`), not FastMCP's default encrypted file store under ~/.local, so that no state
survives a run.

Configuration (environment; `--port`, `--tls-cert`, `--tls-key` may be given as arguments instead):

| variable | meaning |
|---|---|
| `PORT` | the port to bind on 127.0.0.1 (the suite's `--command` contract); required |
| `PROXY_TLS_CERT` / `PROXY_TLS_KEY` | PEM certificate chain and key: serve https (so the proxy's cookies are `__Host-` + `Secure`); both or neither; default `MCP_CONFORMANCE_TLS_CERT_FILE` / `MCP_CONFORMANCE_TLS_KEY_FILE`, the leaf the suite hands a `--command` target under `--tls-profile strict` |
| `PROXY_BASE_URL` | the public base URL (default `MCP_CONFORMANCE_ISSUER` without its trailing `/`, else `https://127.0.0.1:$PORT` with a certificate, else `http://…`) |
| `PROXY_UPSTREAM_ISSUER` | the upstream's issuer (default `MCP_CONFORMANCE_IDP_ISSUER`); its RFC 8414 metadata (`/.well-known/oauth-authorization-server`, else its OpenID discovery document) fills the endpoints below that are unset (default mode) |
| `PROXY_UPSTREAM_AUTHORIZATION_ENDPOINT`, `PROXY_UPSTREAM_TOKEN_ENDPOINT`, `PROXY_UPSTREAM_JWKS_URI` | explicit upstream endpoints (default mode) |
| `PROXY_UPSTREAM_CONFIG_URL` | `--oidc`: the upstream's OpenID discovery URL (default `$PROXY_UPSTREAM_ISSUER/.well-known/openid-configuration`) |
| `PROXY_UPSTREAM_CLIENT_ID` / `PROXY_UPSTREAM_CLIENT_SECRET` | the proxy's static client at the upstream (its redirect URI there: `<base URL>/auth/callback`); default `MCP_CONFORMANCE_IDP_CLIENT_ID` / `_CLIENT_SECRET`; required |
| `PROXY_UPSTREAM_AUDIENCE` | optional: default mode, the `aud` the access-token verifier requires; `--oidc`, OIDCProxy's `audience` (also sent upstream) |
| `PROXY_JWT_SIGNING_KEY` | optional: key of the proxy's own HS256 tokens (default: random per start) |

The `MCP_CONFORMANCE_*` defaults are the env contract of `mcp-auth-conformance authz --command`, which spawns this
launcher with the suite's upstream IdP. That IdP's issuer names a reserved test host (`accounts.idp.conformance.test`):
when `MCP_CONFORMANCE_IDP_ADDR` is set, this process resolves `*.conformance.test` to that address (its stand-in
for an `/etc/hosts` line; no other name is touched), so the upstream's TLS certificate is checked for its real name.

The upstream is reached with httpx2 (as FastMCP does), which trusts `SSL_CERT_FILE` (the suite's test CA under `--tls-profile strict`).
Binds 127.0.0.1 only; logs to stderr; exits 0 on SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import signal
import socket
import sys
from typing import Any

import httpx2
from fastmcp import FastMCP
from fastmcp.server.auth import AuthProvider
from fastmcp.server.auth.oauth_proxy import OAuthProxy
from fastmcp.server.auth.oidc_proxy import OIDCProxy
from fastmcp.server.auth.providers.jwt import JWTVerifier
from key_value.aio.stores.memory import MemoryStore

from fastmcp_todo_server import READ_SCOPE, WRITE_SCOPE, add_todo_tools

log = logging.getLogger("fastmcp_oauth_proxy")

# Upstream metadata fetch at start-up: bounded in time and size.
METADATA_TIMEOUT_S = 10.0
METADATA_MAX_BYTES = 64 * 1024
CONSENT = {"always": True, "remember": "remember", "off": False}


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name) or default
    if not value:
        sys.exit(f"fastmcp_oauth_proxy: {name} is not set (see the module docstring)")
    return value


TEST_DOMAIN = ".conformance.test"


def resolve_test_domain(ip: str) -> None:
    """Resolves `*.conformance.test` (the suite's reserved test names) to `ip` in this process only."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        name = host.decode() if isinstance(host, bytes) else host
        if isinstance(name, str) and name.rstrip(".").endswith(TEST_DOMAIN):
            host = ip
        return real(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]


def upstream_metadata(issuer: str) -> dict[str, Any]:
    """The upstream's RFC 8414 metadata document, else its OpenID discovery document (fetched once, with a timeout
    and a size cap)."""
    base = issuer.rstrip("/")
    with httpx2.Client(timeout=METADATA_TIMEOUT_S) as client:
        for url in (base + "/.well-known/oauth-authorization-server", base + "/.well-known/openid-configuration"):
            with client.stream("GET", url) as response:
                if response.status_code == 404:
                    continue
                response.raise_for_status()
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > METADATA_MAX_BYTES:
                        sys.exit(f"fastmcp_oauth_proxy: {url} is larger than {METADATA_MAX_BYTES} bytes")
            return json.loads(body)
    sys.exit(f"fastmcp_oauth_proxy: {issuer} publishes no authorization server metadata")


def upstream_issuer() -> str | None:
    return os.environ.get("PROXY_UPSTREAM_ISSUER") or os.environ.get("MCP_CONFORMANCE_IDP_ISSUER")


def upstream_client() -> tuple[str, str]:
    return (
        env("PROXY_UPSTREAM_CLIENT_ID", os.environ.get("MCP_CONFORMANCE_IDP_CLIENT_ID")),
        env("PROXY_UPSTREAM_CLIENT_SECRET", os.environ.get("MCP_CONFORMANCE_IDP_CLIENT_SECRET")),
    )


def oauth_proxy(base_url: str, args: argparse.Namespace, storage: MemoryStore) -> AuthProvider:
    issuer = upstream_issuer()
    explicit = {
        "authorization_endpoint": os.environ.get("PROXY_UPSTREAM_AUTHORIZATION_ENDPOINT"),
        "token_endpoint": os.environ.get("PROXY_UPSTREAM_TOKEN_ENDPOINT"),
        "jwks_uri": os.environ.get("PROXY_UPSTREAM_JWKS_URI"),
    }
    if not all(explicit.values()):
        if not issuer:
            sys.exit("fastmcp_oauth_proxy: set PROXY_UPSTREAM_ISSUER or all three PROXY_UPSTREAM_*_ENDPOINT/JWKS_URI")
        found = upstream_metadata(issuer)
        explicit = {k: v or found.get(k) for k, v in explicit.items()}
        issuer = found.get("issuer", issuer)
    audience = os.environ.get("PROXY_UPSTREAM_AUDIENCE")
    if not audience:
        log.warning("PROXY_UPSTREAM_AUDIENCE unset: the upstream access token's aud is not checked")
    verifier = JWTVerifier(jwks_uri=explicit["jwks_uri"], issuer=issuer, audience=audience)
    client_id, client_secret = upstream_client()
    return OAuthProxy(
        upstream_authorization_endpoint=explicit["authorization_endpoint"],
        upstream_token_endpoint=explicit["token_endpoint"],
        upstream_client_id=client_id,
        upstream_client_secret=client_secret,
        token_verifier=verifier,
        base_url=base_url,
        valid_scopes=[READ_SCOPE, WRITE_SCOPE],
        allowed_client_redirect_uris=args.allowed_redirect,
        require_authorization_consent=CONSENT[args.consent],
        client_storage=storage,
        jwt_signing_key=env("PROXY_JWT_SIGNING_KEY", secrets.token_hex(32)),
    )


def oidc_proxy(base_url: str, args: argparse.Namespace, storage: MemoryStore) -> AuthProvider:
    issuer = upstream_issuer() or ""
    config_url = env("PROXY_UPSTREAM_CONFIG_URL", issuer and issuer.rstrip("/") + "/.well-known/openid-configuration")
    client_id, client_secret = upstream_client()
    return OIDCProxy(
        config_url=config_url,
        client_id=client_id,
        client_secret=client_secret,
        audience=os.environ.get("PROXY_UPSTREAM_AUDIENCE") or None,
        verify_id_token=args.verify_id_token,
        # The ID token only comes back when `openid` is asked for: the floor every authorization carries.
        required_scopes=["openid"],
        valid_scopes=["openid", READ_SCOPE, WRITE_SCOPE],
        base_url=base_url,
        allowed_client_redirect_uris=args.allowed_redirect,
        require_authorization_consent=CONSENT[args.consent],
        client_storage=storage,
        jwt_signing_key=env("PROXY_JWT_SIGNING_KEY", secrets.token_hex(32)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--oidc", action="store_true", help="OIDCProxy (OpenID discovery) instead of OAuthProxy")
    parser.add_argument("--verify-id-token", action="store_true", help="--oidc: verify_id_token=True")
    parser.add_argument("--consent", choices=sorted(CONSENT), default="always",
                        help="require_authorization_consent: always=True (default), remember, off=False")
    parser.add_argument("--allowed-redirect", action="append", metavar="PATTERN",
                        help="allowed_client_redirect_uris pattern (repeatable; default None: registered URIs)")
    parser.add_argument("--port", type=int, default=None, help="default: $PORT")
    parser.add_argument("--tls-cert", default=os.environ.get("PROXY_TLS_CERT") or os.environ.get("MCP_CONFORMANCE_TLS_CERT_FILE"),
                        help="default: $PROXY_TLS_CERT, else $MCP_CONFORMANCE_TLS_CERT_FILE")
    parser.add_argument("--tls-key", default=os.environ.get("PROXY_TLS_KEY") or os.environ.get("MCP_CONFORMANCE_TLS_KEY_FILE"),
                        help="default: $PROXY_TLS_KEY, else $MCP_CONFORMANCE_TLS_KEY_FILE")
    args = parser.parse_args()
    if args.verify_id_token and not args.oidc:
        parser.error("--verify-id-token needs --oidc")
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("give both a TLS certificate and its key, or neither")
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # uvicorn catches SIGTERM, shuts down gracefully, then re-raises it under the handler it found: exit 0 there.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    idp_addr = os.environ.get("MCP_CONFORMANCE_IDP_ADDR")
    if idp_addr:
        resolve_test_domain(idp_addr.rsplit(":", 1)[0])
    port = args.port if args.port is not None else int(env("PORT"))
    scheme = "https" if args.tls_cert else "http"
    # FastMCP publishes its base URL as its issuer with a trailing "/" (pydantic's URL form of an empty path).
    issuer = (os.environ.get("MCP_CONFORMANCE_ISSUER") or "").rstrip("/")
    base_url = env("PROXY_BASE_URL", issuer or f"{scheme}://127.0.0.1:{port}")
    storage = MemoryStore()
    auth = (oidc_proxy if args.oidc else oauth_proxy)(base_url, args, storage)
    mcp = FastMCP(name="todo", auth=auth)
    add_todo_tools(mcp)

    uvicorn: dict[str, Any] = {"ssl_certfile": args.tls_cert, "ssl_keyfile": args.tls_key} if args.tls_cert else {}
    mode = ("oidc-proxy verify_id_token=%s" % args.verify_id_token) if args.oidc else "oauth-proxy"
    log.info("fastmcp 4.2.3 %s consent=%s listening on %s/mcp", mode, args.consent, base_url)
    mcp.run(transport="http", host="127.0.0.1", port=port, path="/mcp", show_banner=False, uvicorn_config=uvicorn)


if __name__ == "__main__":
    main()
