"""MCP client on `fastmcp` (4.2.3) for the suite's client role (docs/client-role.md §1).

Server URL: the last argv. Env: MCP_CONFORMANCE_SCENARIO, MCP_CONFORMANCE_CONTEXT (JSON, optional
`client_metadata_url`, `client_id`, `client_secret`). Connects over Streamable HTTP with fastmcp's `OAuth`
client auth helper, lists tools, calls `list_todos` with {}, prints the result; exit 0, or 1 on any error.

Headless authorization as the official suite's everything-clients do it. `OAuth.redirect_handler` (documented:
"open browser for authorization") and `OAuth.callback_handler` (documented: run a local callback server) are
the helper's two public hooks; this subclass replaces exactly those two: the redirect handler GETs the
authorization URL without following redirects (what fastmcp's own pre-flight does) and lifts code/state/iss
from `Location`; the callback handler hands them to the SDK. No browser, no listener. Discovery,
registration, PKCE, token handling, the pre-registered-credential and issuer logic stay fastmcp's/mcp's.
"""

import asyncio
import json
import logging
import os
import sys
from urllib.parse import parse_qs, urlparse

import httpx2
from fastmcp import Client
from fastmcp.client.auth import OAuth
from fastmcp.client.transports import StreamableHttpTransport
from mcp.shared.auth import AuthorizationCodeResult

# The redirect URI the client registers (http://127.0.0.1:8765/callback). Nothing listens there.
CALLBACK_HOST, CALLBACK_PORT = "127.0.0.1", 8765

logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
log = logging.getLogger("fastmcp_client")


class HeadlessOAuth(OAuth):
    """fastmcp's `OAuth`, with the browser + callback-server hooks replaced by a no-redirect fetch."""

    _result: AuthorizationCodeResult | None = None

    async def redirect_handler(self, authorization_url: str) -> None:
        async with self.httpx_client_factory() as http:
            response = await http.get(authorization_url, follow_redirects=False)
        location = response.headers.get("location")
        if response.status_code not in (301, 302, 303, 307, 308) or not location:
            raise RuntimeError(f"authorization endpoint answered {response.status_code} without a redirect")
        query = parse_qs(urlparse(location).query)
        if "code" not in query:
            raise RuntimeError(f"no code in the authorization response: {location}")
        first = lambda k: query[k][0] if k in query else None  # noqa: E731
        self._result = AuthorizationCodeResult(code=query["code"][0], state=first("state"), iss=first("iss"))

    async def callback_handler(self) -> AuthorizationCodeResult:
        result, self._result = self._result, None
        if result is None:
            raise RuntimeError("callback before redirect")
        return result


async def run(server_url: str, context: dict) -> None:
    extra = {}
    if context.get("client_secret"):
        # fastmcp defaults a pre-registered secret to client_secret_post; the credential's registered method
        # is a deployment fact, configured through the documented `additional_client_metadata` override.
        extra["token_endpoint_auth_method"] = "client_secret_basic"
    oauth = HeadlessOAuth(
        client_name="mcp-auth-conformance fastmcp client",
        callback_host=CALLBACK_HOST,
        callback_port=CALLBACK_PORT,
        client_metadata_url=context.get("client_metadata_url"),
        client_id=context.get("client_id"),
        client_secret=context.get("client_secret"),
        additional_client_metadata=extra or None,
    )
    transport = StreamableHttpTransport(server_url, auth=oauth)
    # 2025-11-25 is a handshake-era version: `initialize` + `notifications/initialized` ("legacy" mode).
    async with Client(transport, mode="legacy", timeout=15) as client:
        tools = await client.list_tools()
        log.info("tools: %s", [t.name for t in tools])
        result = await client.call_tool("list_todos", {})
        print(json.dumps({"content": [c.model_dump(exclude_none=True) for c in result.content],
                          "structured": result.structured_content}, default=str))


def main() -> int:
    if len(sys.argv) < 2:
        print(f"usage: {sys.argv[0]} <mcp-url>", file=sys.stderr)
        return 1
    try:
        context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
        log.info("scenario %s", os.environ.get("MCP_CONFORMANCE_SCENARIO", "?"))
        asyncio.run(run(sys.argv[-1], context))
    except BaseException as exc:  # noqa: BLE001 - any failure is exit 1
        log.error("client failed: %r", exc, exc_info=exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
