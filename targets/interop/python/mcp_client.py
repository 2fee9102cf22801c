"""MCP client on the `mcp` Python SDK (2.3.0) for the suite's client role (docs/client-role.md §1).

Server URL: the last argv. Env: MCP_CONFORMANCE_SCENARIO, MCP_CONFORMANCE_CONTEXT (JSON, optional
`client_metadata_url`, `client_id`, `client_secret`). Connects over Streamable HTTP with the SDK's
`OAuthClientProvider`, lists tools, calls `list_todos` with {}, prints the result; exit 0, or 1 on any error.

Headless authorization as the official suite's everything-clients do it: the redirect handler GETs the
authorization URL without following redirects and lifts code/state/iss from `Location`; the callback
handler hands them to the SDK. No browser, no listener. Everything else is the SDK's own behaviour.
"""

import asyncio
import json
import logging
import os
import sys
from urllib.parse import parse_qs, urlparse

import httpx2
from pydantic import AnyUrl

from mcp import Client
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider, TokenStorage
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

# The redirect URI the client registers. Nothing listens there: the code is lifted from the 302.
REDIRECT_URI = "http://127.0.0.1:8765/callback"

logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
log = logging.getLogger("mcp_client")


class InMemoryTokenStorage(TokenStorage):
    def __init__(self, client_info: OAuthClientInformationFull | None = None) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info = client_info

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class HeadlessAuthorization:
    """redirect_handler / callback_handler pair: fetch the authorization URL, read the 302 Location."""

    def __init__(self) -> None:
        self.result: AuthorizationCodeResult | None = None

    async def redirect(self, authorization_url: str) -> None:
        async with httpx2.AsyncClient() as http:
            response = await http.get(authorization_url, follow_redirects=False)
        location = response.headers.get("location")
        if response.status_code not in (301, 302, 303, 307, 308) or not location:
            raise RuntimeError(f"authorization endpoint answered {response.status_code} without a redirect")
        query = parse_qs(urlparse(location).query)
        if "code" not in query:
            raise RuntimeError(f"no code in the authorization response: {location}")
        first = lambda k: query[k][0] if k in query else None  # noqa: E731
        self.result = AuthorizationCodeResult(code=query["code"][0], state=first("state"), iss=first("iss"))

    async def callback(self) -> AuthorizationCodeResult:
        result, self.result = self.result, None
        if result is None:
            raise RuntimeError("callback before redirect")
        return result


async def run(server_url: str, context: dict) -> None:
    pre_registered = None
    if context.get("client_id"):
        # Pre-registered credentials are a stored client record (the SDK has no other entry point for them).
        # The registered method is a deployment fact: client_secret_basic, RFC 6749 §2.3.1's default.
        pre_registered = OAuthClientInformationFull(
            client_id=context["client_id"],
            client_secret=context.get("client_secret"),
            token_endpoint_auth_method="client_secret_basic" if context.get("client_secret") else "none",
            redirect_uris=[AnyUrl(REDIRECT_URI)],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
        )
    headless = HeadlessAuthorization()
    oauth = OAuthClientProvider(
        server_url=server_url,
        client_metadata=OAuthClientMetadata(
            client_name="mcp-auth-conformance mcp (python) client",
            redirect_uris=[AnyUrl(REDIRECT_URI)],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
        ),
        storage=InMemoryTokenStorage(pre_registered),
        redirect_handler=headless.redirect,
        callback_handler=headless.callback,
        client_metadata_url=context.get("client_metadata_url"),
    )
    async with httpx2.AsyncClient(auth=oauth, timeout=httpx2.Timeout(15.0)) as http:
        # 2025-11-25 is a handshake-era version: `initialize` + `notifications/initialized` ("legacy" mode).
        async with Client(streamable_http_client(server_url, http_client=http), mode="legacy") as client:
            tools = await client.list_tools()
            log.info("tools: %s", [t.name for t in tools.tools])
            result = await client.call_tool("list_todos", {})
            print(result.model_dump_json(by_alias=True, exclude_none=True))
            if result.is_error:
                raise RuntimeError("list_todos returned a tool error")


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
