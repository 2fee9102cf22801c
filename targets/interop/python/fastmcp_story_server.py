"""The story's To-Do MCP server on FastMCP (`fastmcp==4.2.3`) behind a provider plugin, as an interop target.

The seed story's server as a FastMCP user writes it from the vendors' docs: an in-memory To-Do list with
`create_todo` / `list_todos` / `delete_todo`, protected by one of FastMCP's provider plugins, each tool guarded
by the story's `_require_scope` helper. `--provider` picks the plugin; every line follows a published page:

* `scalekit`: Scalekit's own FastMCP quickstart, https://docs.scalekit.com/authenticate/mcp/fastmcp-quickstart
  (its code: github.com/scalekit-inc/mcp-auth-demos, todo-fastmcp/server.py) for the tools and `_require_scope`,
  and gofastmcp.com/integrations/scalekit for the provider:
  `ScalekitProvider(environment_url=, resource_id=, base_url=)` with no `required_scopes` (the quickstart checks
  scopes per tool). Two departures forced by 4.2.3, both what its own messages say to do: the quickstart's
  `FastMCP(..., stateless_http=True)` raises TypeError ("FastMCP() no longer accepts `stateless_http`. Pass
  `stateless_http` to `run_http_async()`..."), so it moves to `run(..., stateless_http=True)` (as the GitHub
  code of the same quickstart does); its `mcp_url=` / `client_id=` are deprecated aliases (4.2.3 logs a warning
  for each), so `base_url=` as on gofastmcp.com. The base URL keeps the quickstart's trailing slash.
* `auth0`: gofastmcp.com/integrations/auth0, "Auth for MCP (DCR)":
  `Auth0MCPProvider(config_url=<OIDC discovery URL>, base_url="http://127.0.0.1:<port>")`, nothing else (the
  provider binds the token audience to the resource URL itself and logs it at start-up).
* `keycloak`: gofastmcp.com/integrations/keycloak: `KeycloakAuthProvider(realm_url=, base_url=, audience=)`.
  The page's example leaves `audience` commented out ("Recommended for production") under a Warning "Always
  configure the `audience` parameter in production. Without it, your server accepts tokens issued for any
  audience", so the story's (production) server sets it. `required_scopes` stays at the provider's default
  `["openid"]`.

`_require_scope` is written as the Scalekit quickstart writes it (not FastMCP's `require_scopes` component
auth): it reads the caller's token with `fastmcp.server.dependencies.get_access_token()` and, when the scope is
missing, *returns* the message "Insufficient permissions: `<scope>` scope required."; the tool then returns
`{"error": message}` as its (successful) result. It does not raise: the refusal reaches the client as an
ordinary tool result (no `isError`, HTTP 200), which is what the quickstart's users ship.

Configured only by the suite's env contract: MCP_CONFORMANCE_RESOURCE (http://127.0.0.1:$PORT/mcp), PORT (binds
127.0.0.1) and the persona's variables: SCALEKIT_ENVIRONMENT_URL + SCALEKIT_RESOURCE_ID, AUTH0_CONFIG_URL
(AUTH0_AUDIENCE is only compared with the resource URL the provider binds, and logged), KEYCLOAK_REALM_URL +
MCP_CONFORMANCE_AUDIENCE. Logs to stderr; exits 0 on SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import uuid
from dataclasses import asdict, dataclass
from typing import Any, Optional
from urllib.parse import urlsplit

from fastmcp import FastMCP
from fastmcp.server.auth import AuthProvider
from fastmcp.server.dependencies import AccessToken, get_access_token

log = logging.getLogger("fastmcp_story_server")


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"fastmcp_story_server: {name} is not set (see the suite's server-target env contract)")
    return value


def scalekit(base_url: str) -> AuthProvider:
    from fastmcp.server.auth.providers.scalekit import ScalekitProvider

    return ScalekitProvider(
        environment_url=env("SCALEKIT_ENVIRONMENT_URL"),
        resource_id=env("SCALEKIT_RESOURCE_ID"),
        # The quickstart: "FastMCP appends /mcp automatically; keep base URL with trailing slash only."
        base_url=base_url + "/",
    )


def auth0(base_url: str) -> AuthProvider:
    from fastmcp.server.auth.providers.auth0 import Auth0MCPProvider

    resource = env("MCP_CONFORMANCE_RESOURCE")
    audience = os.environ.get("AUTH0_AUDIENCE")
    if audience and audience != resource:
        # The docs: "Create an API whose identifier is your MCP resource URL". Nothing to configure on our side.
        log.warning("AUTH0_AUDIENCE %r differs from the resource URL %r the provider validates", audience, resource)
    return Auth0MCPProvider(config_url=env("AUTH0_CONFIG_URL"), base_url=base_url)


def keycloak(base_url: str) -> AuthProvider:
    from fastmcp.server.auth.providers.keycloak import KeycloakAuthProvider

    return KeycloakAuthProvider(
        realm_url=env("KEYCLOAK_REALM_URL"),
        base_url=base_url,
        audience=env("MCP_CONFORMANCE_AUDIENCE"),
    )


PROVIDERS = {"scalekit": scalekit, "auth0": auth0, "keycloak": keycloak}


@dataclass
class TodoItem:
    id: str
    title: str
    description: Optional[str]
    completed: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def build_server(provider: str) -> tuple[FastMCP, int, str]:
    resource = env("MCP_CONFORMANCE_RESOURCE")
    port = int(env("PORT"))
    parts = urlsplit(resource)
    base_url = f"{parts.scheme}://{parts.netloc}"
    mcp_path = parts.path or "/mcp"

    mcp = FastMCP("Todo Server", auth=PROVIDERS[provider](base_url))
    store: dict[str, TodoItem] = {}

    def _require_scope(scope: str) -> Optional[str]:
        """The quickstart's helper: an error message if the caller's token lacks `scope`, else None."""
        token: AccessToken = get_access_token()
        if scope not in token.scopes:
            return f"Insufficient permissions: `{scope}` scope required."
        return None

    @mcp.tool
    def create_todo(title: str, description: Optional[str] = None) -> dict[str, Any]:
        """Create a new todo item. Requires todo:write."""
        error = _require_scope("todo:write")
        if error:
            return {"error": error}
        todo = TodoItem(id=str(uuid.uuid4()), title=title, description=description)
        store[todo.id] = todo
        return {"todo": todo.to_dict()}

    @mcp.tool
    def list_todos(completed: Optional[bool] = None) -> dict[str, Any]:
        """List all todos, optionally filtered by completion state. Requires todo:read."""
        error = _require_scope("todo:read")
        if error:
            return {"error": error}
        todos = [t.to_dict() for t in store.values() if completed is None or t.completed == completed]
        return {"todos": todos}

    @mcp.tool
    def delete_todo(todo_id: str) -> dict[str, Any]:
        """Remove a todo. Requires todo:write."""
        error = _require_scope("todo:write")
        if error:
            return {"error": error}
        if store.pop(todo_id, None) is None:
            return {"error": f"Todo `{todo_id}` not found."}
        return {"deleted": todo_id}

    return mcp, port, mcp_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provider", choices=sorted(PROVIDERS), required=True)
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # uvicorn catches SIGTERM, shuts down gracefully, then re-raises it under the handler it found: exit 0 there.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    mcp, port, path = build_server(args.provider)
    log.info("fastmcp 4.2.3 provider=%s listening on http://127.0.0.1:%d%s", args.provider, port, path)
    # Scalekit's quickstart runs stateless (see the module docstring); the gofastmcp.com pages use the default.
    extra: dict[str, Any] = {"stateless_http": True} if args.provider == "scalekit" else {}
    mcp.run(transport="http", host="127.0.0.1", port=port, path=path, show_banner=False, **extra)


if __name__ == "__main__":
    main()
