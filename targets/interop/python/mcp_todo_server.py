"""To-Do MCP server on the official MCP Python SDK (`mcp==2.3.0`), as an interop target.

The seed story: `list_todos` needs `todo:read`; `create_todo {title}` and `delete_todo {id}` need `todo:write`;
one shared in-memory list. Auth follows the SDK's documented resource-server idiom
(docs/run/authorization.md of the SDK, and the `TokenVerifier` / `AuthSettings` docstrings):

* a `TokenVerifier` whose `verify_token` validates the JWT (here with PyJWT against the issuer's JWKS, RS256) and
  returns an `AccessToken`, reporting the token's `aud` in `AccessToken.resource`;
* `MCPServer(token_verifier=..., auth=AuthSettings(issuer_url=..., resource_server_url=..., required_scopes=...))`;
* per-tool rules in the tool, reading the caller's token with `get_access_token()` and refusing with `MCPError`.

Variants (`--variant`):

* `documented`: what the docs show. The verifier checks signature, `iss` and `exp` only; `aud` is reported in
  `AccessToken.resource` but not compared, and `AuthSettings.validate_token_resource` is left at its default
  (unset: warns, behaves as False), so the audience is not checked anywhere.
* `hardened`: `aud` must be MCP_CONFORMANCE_RESOURCE, checked by the SDK itself: `validate_token_resource=True`
  (the option the docs' tutorial003 and the `TokenVerifier` docstring describe; the bearer backend compares
  `AccessToken.resource` with `resource_server_url` as URLs, so scheme/host case does not matter, and a token
  without `aud` has no resource and is refused). The verifier also requires `aud` to be present and header `typ`
  at+jwt (RFC 9068 §4).

Configured only by the suite's env contract: MCP_CONFORMANCE_ISSUER, MCP_CONFORMANCE_JWKS_URI,
MCP_CONFORMANCE_RESOURCE (http://127.0.0.1:$PORT/mcp) and PORT (binds 127.0.0.1). Logs to stderr.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import signal
import sys
from typing import Any

import anyio
import jwt
from jwt import PyJWKClient
from pydantic import AnyHttpUrl, ValidationError

from mcp import MCPError
from mcp.server import MCPServer
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.settings import AuthSettings

log = logging.getLogger("mcp_todo_server")

READ_SCOPE = "todo:read"
WRITE_SCOPE = "todo:write"
PERMISSION_DENIED = 1  # Application-defined, as in the SDK docs (MCP has no standard permission-denied code).


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"mcp_todo_server: {name} is not set (see the suite's server-target env contract)")
    return value


class JwtTokenVerifier(TokenVerifier):
    """Verifies RS256 JWT access tokens against the issuer's JWKS with PyJWT."""

    def __init__(self, *, issuer: str, jwks_uri: str, resource: str, hardened: bool):
        self.issuer = issuer
        self.resource = resource
        self.hardened = hardened
        self.jwks = PyJWKClient(jwks_uri, cache_keys=True, lifespan=300)

    def _decode(self, token: str) -> dict[str, Any]:
        signing_key = self.jwks.get_signing_key_from_jwt(token)
        required = ["exp", "iss"]
        if self.hardened:
            typ = str(jwt.get_unverified_header(token).get("typ", "")).lower()
            if typ not in ("at+jwt", "application/at+jwt"):
                raise jwt.InvalidTokenError(f"typ {typ!r} is not at+jwt")
            required = ["exp", "iss", "aud", "sub"]
        # Signature (RS256), iss, exp. The audience is reported in AccessToken.resource; whether it is compared
        # with resource_server_url is AuthSettings.validate_token_resource's job (hardened only).
        return jwt.decode(
            token,
            signing_key.key,
            algorithms=["RS256"],
            issuer=self.issuer,
            options={"require": required, "verify_aud": False},
        )

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            # PyJWKClient fetches synchronously (urllib); keep it off the event loop.
            claims = await anyio.to_thread.run_sync(self._decode, token)
        except Exception as exc:  # any verification failure means "not a valid token"
            log.info("token rejected: %s", exc)
            return None
        aud = claims.get("aud")
        if isinstance(aud, list):
            # The docstring: for a list, report the entry that is this server's resource_server_url.
            resource = next((a for a in aud if same_url(a, self.resource)), aud[0] if aud else None)
        else:
            resource = aud
        scope = claims.get("scope", "")
        scopes = scope.split() if isinstance(scope, str) else [str(s) for s in scope]
        return AccessToken(
            token=token,
            client_id=str(claims.get("client_id") or claims.get("azp") or claims.get("sub") or ""),
            scopes=scopes,
            expires_at=claims.get("exp"),
            resource=resource,
            subject=claims.get("sub"),
            claims=claims,
        )


def same_url(a: Any, b: str) -> bool:
    try:
        return str(AnyHttpUrl(str(a))).removesuffix("/") == str(AnyHttpUrl(b)).removesuffix("/")
    except ValidationError:
        return False


def require_scope(scope: str) -> AccessToken:
    """The seed's per-tool rule: the caller's token must carry `scope`."""
    token = get_access_token()
    if token is None or scope not in token.scopes:
        raise MCPError(code=PERMISSION_DENIED, message=f"insufficient_scope: this tool requires {scope}")
    return token


def build_server(variant: str) -> tuple[MCPServer, str, int]:
    issuer = env("MCP_CONFORMANCE_ISSUER")
    jwks_uri = env("MCP_CONFORMANCE_JWKS_URI")
    resource = env("MCP_CONFORMANCE_RESOURCE")
    port = int(env("PORT"))
    hardened = variant == "hardened"

    auth_kwargs: dict[str, Any] = dict(
        # Passed as strings: AuthSettings keeps a path-less URL's canonical form (no trailing slash) only then.
        issuer_url=issuer,
        resource_server_url=resource,
        required_scopes=[READ_SCOPE],
    )
    if hardened:
        # The SDK refuses any token whose AccessToken.resource is not resource_server_url.
        auth_kwargs["validate_token_resource"] = True

    server = MCPServer(
        "todo",
        token_verifier=JwtTokenVerifier(issuer=issuer, jwks_uri=jwks_uri, resource=resource, hardened=hardened),
        auth=AuthSettings(**auth_kwargs),
    )

    todos: list[dict[str, Any]] = []
    ids = itertools.count(1)

    @server.tool()
    def list_todos() -> list[dict[str, Any]]:
        """List all to-dos. Requires todo:read."""
        require_scope(READ_SCOPE)
        return list(todos)

    @server.tool()
    def create_todo(title: str) -> dict[str, Any]:
        """Create a to-do. Requires todo:write."""
        require_scope(WRITE_SCOPE)
        todo = {"id": next(ids), "title": title, "done": False}
        todos.append(todo)
        return todo

    @server.tool()
    def delete_todo(id: int) -> str:
        """Delete a to-do by id. Requires todo:write."""
        require_scope(WRITE_SCOPE)
        for i, todo in enumerate(todos):
            if todo["id"] == id:
                del todos[i]
                return f"deleted {id}"
        raise MCPError(code=-32602, message=f"no to-do with id {id}")

    return server, "127.0.0.1", port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=["documented", "hardened"], default="documented")
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # uvicorn catches SIGTERM, shuts down gracefully, then re-raises it under the handler it found: exit 0 there.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server, host, port = build_server(args.variant)
    log.info("mcp %s variant=%s listening on http://%s:%d/mcp", "2.3.0", args.variant, host, port)
    server.run(transport="streamable-http", host=host, port=port, streamable_http_path="/mcp")


if __name__ == "__main__":
    main()
