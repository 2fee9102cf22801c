"""To-Do MCP server on FastMCP (`fastmcp==4.2.3`), as an interop target.

The seed story: `list_todos` needs `todo:read`; `create_todo {title}` and `delete_todo {id}` need `todo:write`;
one shared in-memory list. Auth follows FastMCP's documented resource-server idiom (docs "Remote OAuth" and
"Token Verification"):

* `JWTVerifier(jwks_uri=..., issuer=..., audience=...)` validates the JWT (RS256 is its default algorithm);
* `RemoteAuthProvider(token_verifier=..., authorization_servers=[issuer], base_url=...)` serves RFC 9728 metadata
  for the resource `base_url` + `/mcp`, and `scopes_supported=` (documented) advertises the seed's scopes;
* per-tool rules with FastMCP's component authorization, `@mcp.tool(auth=require_scopes(...))`.

Variants (`--variant`):

* `documented`: the docs example. `audience` is optional in the package (default None), but every FastMCP docs
  example passes it, so this variant passes it too, with the value the suite's authorization server puts in
  `aud`: MCP_CONFORMANCE_RESOURCE.
* `hardened`: `audience` = MCP_CONFORMANCE_RESOURCE (the same as `documented`: the docs already set it), plus the
  SDK's own Host/Origin guard switched on, `run(..., host_origin_protection=True)` (its default in 4.2.3 is
  False, settings `http_host_origin_protection`). `JWTVerifier` has no option to require header `typ` at+jwt or to
  require `exp`; hand-adding them would measure our code, not the SDK.

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
from urllib.parse import urlsplit

from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from fastmcp.server.auth import RemoteAuthProvider, require_scopes
from fastmcp.server.auth.providers.jwt import JWTVerifier

log = logging.getLogger("fastmcp_todo_server")

READ_SCOPE = "todo:read"
WRITE_SCOPE = "todo:write"


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"fastmcp_todo_server: {name} is not set (see the suite's server-target env contract)")
    return value


def add_todo_tools(mcp: FastMCP) -> None:
    """The seed story's three tools on one shared in-memory list, each guarded by `require_scopes`."""
    todos: list[dict[str, Any]] = []
    ids = itertools.count(1)

    @mcp.tool(auth=require_scopes(READ_SCOPE))
    def list_todos() -> list[dict[str, Any]]:
        """List all to-dos. Requires todo:read."""
        return list(todos)

    @mcp.tool(auth=require_scopes(WRITE_SCOPE))
    def create_todo(title: str) -> dict[str, Any]:
        """Create a to-do. Requires todo:write."""
        todo = {"id": next(ids), "title": title, "done": False}
        todos.append(todo)
        return todo

    @mcp.tool(auth=require_scopes(WRITE_SCOPE))
    def delete_todo(id: int) -> str:
        """Delete a to-do by id. Requires todo:write."""
        for i, todo in enumerate(todos):
            if todo["id"] == id:
                del todos[i]
                return f"deleted {id}"
        raise ToolError(f"no to-do with id {id}")


def build_server(variant: str) -> tuple[FastMCP, str, int, str]:
    issuer = env("MCP_CONFORMANCE_ISSUER")
    jwks_uri = env("MCP_CONFORMANCE_JWKS_URI")
    resource = env("MCP_CONFORMANCE_RESOURCE")
    port = int(env("PORT"))

    # RemoteAuthProvider wants the server's base URL; the resource it advertises is base_url + the MCP path.
    parts = urlsplit(resource)
    base_url = f"{parts.scheme}://{parts.netloc}"
    mcp_path = parts.path or "/mcp"

    # documented and hardened both set the audience (see the module docstring).
    token_verifier = JWTVerifier(jwks_uri=jwks_uri, issuer=issuer, audience=resource)
    auth = RemoteAuthProvider(
        token_verifier=token_verifier,
        authorization_servers=[issuer],
        base_url=base_url,
        scopes_supported=[READ_SCOPE, WRITE_SCOPE],
    )
    mcp = FastMCP(name="todo", auth=auth)
    add_todo_tools(mcp)
    return mcp, "127.0.0.1", port, mcp_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=["documented", "hardened"], default="documented")
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # uvicorn catches SIGTERM, shuts down gracefully, then re-raises it under the handler it found: exit 0 there.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    mcp, host, port, path = build_server(args.variant)
    log.info("fastmcp 4.2.3 variant=%s listening on http://%s:%d%s", args.variant, host, port, path)
    extra: dict[str, Any] = {"host_origin_protection": True} if args.variant == "hardened" else {}
    mcp.run(transport="http", host=host, port=port, path=path, show_banner=False, **extra)


if __name__ == "__main__":
    main()
