"""A client that runs discovery and gives up: it reads the 401, fetches protected resource metadata and the
authorization server's metadata (every MCP 4.3 location), then exits 1 without ever authorizing. It refuses
nothing, so no must-refuse check may pass for it."""
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request


def fetch(url, data=None):
    req = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()
    except OSError:
        return 0, {}, b""


mcp = sys.argv[1]
u = urllib.parse.urlsplit(mcp)
origin = f"{u.scheme}://{u.netloc}"
_, headers, _ = fetch(mcp, b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}')
challenge = " ".join(v for k, v in headers.items() if k.lower() == "www-authenticate")
named = re.search(r'resource_metadata="([^"]+)"', challenge)
candidates = ([named.group(1)] if named else []) + [
    f"{origin}/.well-known/oauth-protected-resource{u.path}",
    f"{origin}/.well-known/oauth-protected-resource",
]
prm = None
for url in candidates:
    status, _, body = fetch(url)
    if status == 200:
        prm = json.loads(body)
        break
for issuer in (prm or {}).get("authorization_servers", [])[:1]:
    i = urllib.parse.urlsplit(issuer)
    base, path = f"{i.scheme}://{i.netloc}", i.path.rstrip("/")
    for url in [
        f"{base}/.well-known/oauth-authorization-server{path}",
        f"{base}/.well-known/openid-configuration{path}",
        f"{base}{path}/.well-known/openid-configuration",
    ]:
        if fetch(url)[0] == 200:
            break
sys.exit(1)
