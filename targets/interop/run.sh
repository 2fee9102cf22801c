#!/usr/bin/env bash
# Interop: runs the suite against real products (pinned SDKs and a popular mock AS, installed from the registries
# into git-ignored folders) and compares every verdict with fixtures/interop/<target>.toml, which lists only the
# checks that do not PASS, each with the reason a reviewer can confirm from the evidence (an unlisted check must
# PASS). Any difference, or a listed check the report lacks, fails the run. Then it regenerates the
# matrix. Reports go to $INTEROP_REPORT_DIR (default: interop-reports, the committed copy).
#
# --shard I/N runs only the I-th of N slices of the products (product k of the list below, from 0, is in shard
# k mod N + 1) and writes no matrix: a merge job builds it from every shard's report directory with
# `mcp-auth-conformance interop matrix --compare --dir DIR1 --dir DIR2 …` (docs/ci-matrix.md).
set -euo pipefail
cd "$(dirname "$0")/../.."

shard=
case "${1:-}" in
  --shard) shard=${2:?--shard needs I/N}; shift 2 ;;
  --shard=*) shard=${1#--shard=}; shift ;;
  "") ;;
  *) echo "usage: $0 [--shard I/N]" >&2; exit 2 ;;
esac
[ $# -eq 0 ] || { echo "usage: $0 [--shard I/N]" >&2; exit 2; }

targets/interop/install-python.sh
targets/interop/install-node.sh
# The suite binary: MCP_SUITE_BIN when the caller built it already (.ci/run), else a build of our own.
if [ -n "${MCP_SUITE_BIN:-}" ]; then
  suite=$MCP_SUITE_BIN
else
  cargo build --locked -p mcp-auth-conformance
  suite=target/debug/mcp-auth-conformance
fi
# Every product, in a fixed order (the shards are slices of it); each name is also its fixtures/interop file, except
# mcpjam-peer (MCPJam judging the reference targets; its expectation is fixtures/peer/mcpjam.toml).
products=(python-mcp-documented python-mcp-hardened python-fastmcp-documented python-fastmcp-hardened
  ts-sdk-documented ts-sdk-hardened python-mcp-client python-fastmcp-client ts-sdk-client oauth2-mock-server
  mcpjam-client mcpjam-peer python-fastmcp-scalekit python-fastmcp-auth0 python-fastmcp-keycloak
  python-mcp-client-tls python-fastmcp-oidc-proxy-documented python-fastmcp-oidc-proxy-hardened
  python-fastmcp-oauth-proxy python-fastmcp-oauth-proxy-no-consent)
if [ -n "$shard" ]; then
  mine=$("$suite" interop shard --shard "$shard" "${products[@]}" | tr "\n" " ")
  echo "shard $shard:" $mine
else
  mine=${products[*]}
fi
selected() { [[ " $mine " == *" $1 "* ]]; }
out=${INTEROP_REPORT_DIR:-interop-reports}
py=targets/interop/.venv/bin/python
status=0

check() {
  local name=$1
  "$suite" interop compare --report "$out/$name/report.json" --expected "fixtures/interop/$name.toml" || status=1
}

server() {
  local name=$1 command=$2 profile=${3:-fixtures/profiles/todo-basic.toml}
  selected "$name" || return 0
  echo "== $name"
  "$suite" server --command "$command" --profile "$profile" --seed 1 \
    --report-dir "$out/$name" > "$out/$name.log" 2>&1 || true
  check "$name"
}

mkdir -p "$out"
server python-mcp-documented "$py targets/interop/python/mcp_todo_server.py --variant documented"
server python-mcp-hardened "$py targets/interop/python/mcp_todo_server.py --variant hardened"
server python-fastmcp-documented "$py targets/interop/python/fastmcp_todo_server.py --variant documented"
server python-fastmcp-hardened "$py targets/interop/python/fastmcp_todo_server.py --variant hardened"
server ts-sdk-documented "node targets/interop/node/todo-server.mjs --variant documented"
server ts-sdk-hardened "node targets/interop/node/todo-server.mjs --variant hardened"
# The story's server behind FastMCP's provider plugins, each trusting the fake AS in that provider's persona.
story="$py targets/interop/python/fastmcp_story_server.py --provider"
server python-fastmcp-scalekit "$story scalekit" fixtures/profiles/todo-scalekit.toml
server python-fastmcp-auth0 "$story auth0" fixtures/profiles/todo-auth0.toml
server python-fastmcp-keycloak "$story keycloak" fixtures/profiles/todo-keycloak.toml

client() {
  local name=$1 command=$2
  shift 2 # the rest: more options for the suite (e.g. --client-metadata FILE)
  selected "$name" || return 0
  echo "== $name"
  "$suite" client --command "$command" --seed 1 "$@" --report-dir "$out/$name" > "$out/$name.log" 2>&1 || true
  check "$name"
}

client python-mcp-client "$py targets/interop/python/mcp_client.py"
client python-fastmcp-client "$py targets/interop/python/fastmcp_client.py"
client ts-sdk-client "node targets/interop/node/client.mjs"
# The Python SDK client again under real TLS on loopback (docs/guide/tls.md): every world over https with a
# throwaway test CA it trusts through SSL_CERT_FILE, plus the three certificate worlds it must refuse. Three more
# worlds than the local run and TLS handshakes in an interpreter: a longer deadline per client (60 s, not 20 s).
client python-mcp-client-tls "$py targets/interop/python/mcp_client.py" --tls-profile strict --timeout 60

# Verdicts must not depend on request timing (worlds that change state mid-run decide by what is observable on
# the wire): the same real client, every world, twice more; each run must match the same expectation.
selected ts-sdk-client && for i in 2 3; do
  echo "== ts-sdk-client (run $i of 3)"
  rerun=$(mktemp -d)
  "$suite" client --command "node targets/interop/node/client.mjs" --seed 1 --report-dir "$rerun" > "$rerun.log" 2>&1 || true
  "$suite" interop compare --report "$rerun/report.json" --expected fixtures/interop/ts-sdk-client.toml || status=1
done

# MCPJam's OAuth client (targets/interop/mcpjam/client.mjs) with its own CIMD document (client-metadata.json, which
# the adapter also serves to MCPJam at the context's client_metadata_url), two runs that must each match
# fixtures/interop/mcpjam-client.toml: the first is the proof that it contacts nothing off loopback (a Node test
# running it through every world with a connection recorder preloaded, with the same document), the second is the
# published report. Two are enough: no verdict of this client depends on timing (stable over repeated runs).
if selected mcpjam-client; then
  echo "== mcpjam-client (run 1 of 2: loopback-only test)"
  case $suite in /*) abs_suite=$suite ;; *) abs_suite=$PWD/$suite ;; esac
  loopback=$(mktemp -d)
  MCP_SUITE_BIN=$abs_suite MCPJAM_LOOPBACK_REPORT_DIR=$loopback node --test targets/interop/mcpjam/loopback-only.test.mjs \
    > "$out/mcpjam-client-loopback.log" 2>&1 \
    || { echo "mcpjam-client: loopback-only test failed (see $out/mcpjam-client-loopback.log)" >&2; status=1; }
  "$suite" interop compare --report "$loopback/report.json" --expected fixtures/interop/mcpjam-client.toml || status=1
  client mcpjam-client "node targets/interop/mcpjam/client.mjs" --client-metadata targets/interop/mcpjam/client-metadata.json
fi

# The mock authorization server: started once, its issuer read from its first line of output (an event, not a sleep).
mock_as() {
  echo "== oauth2-mock-server"
  coproc MOCK { PORT=9500 exec node targets/interop/node/mock-as.mjs; }
  mock_pid=$MOCK_PID
  trap 'kill "$mock_pid" 2>/dev/null || true' EXIT
  IFS= read -r -t 30 issuer <&"${MOCK[0]}"
  "$suite" authz --issuer "$issuer" --login auto --client-id conformance-client \
    --redirect-uri http://127.0.0.1:8765/callback --seed 1 --report-dir "$out/oauth2-mock-server" \
    > "$out/oauth2-mock-server.log" 2>&1 || true
  kill "$mock_pid" 2>/dev/null || true
  check oauth2-mock-server
}
selected oauth2-mock-server && mock_as

# FastMCP's OAuth proxies (targets/interop/python/fastmcp_oauth_proxy.py), spawned by the suite (authz --command)
# once its upstream IdP is up, so they can read its discovery document at start. Under strict TLS: the proxies set
# their __Host-/Secure cookies only over https. FastMCP publishes its base URL with a trailing slash as its issuer,
# grants only its own MCP URL, and its SSRF guard refuses the suite's loopback CIMD documents (so DCR); it is also
# the MCP server and checks the upstream's tokens when its own are used, so --proxy judges logins there.
as_proxy() {
  local name=$1 args=$2 only=$3 scope=$4
  selected "$name" || return 0
  echo "== $name"
  "$suite" authz --command "$py targets/interop/python/fastmcp_oauth_proxy.py $args" \
    --issuer 'https://127.0.0.1:{port}/' --tls-profile strict --proxy --registration dcr \
    --resource '{issuer}/mcp' --scope "$scope" --only "$only" --login form fixtures/login/suite-idp.toml \
    --seed 1 --report-dir "$out/$name" > "$out/$name.log" 2>&1 || true
  check "$name"
}
# OIDCProxy on the AS-FED rows: as documented (verify_id_token=False: the upstream access token is verified), and
# hardened (verify_id_token=True: the ID token, audience = the client id). `openid` is its required scope.
as_proxy python-fastmcp-oidc-proxy-documented "--oidc" 'AS-FED-*' "openid todo:read"
as_proxy python-fastmcp-oidc-proxy-hardened "--oidc --verify-id-token" 'AS-FED-*' "openid todo:read"
# OAuthProxy on the AS-PRX rows (the confused deputy): with its consent screen (the default), and without it (the
# documented require_authorization_consent=False, "only for local development or testing").
as_proxy python-fastmcp-oauth-proxy "" 'AS-PRX-*' "todo:read"
as_proxy python-fastmcp-oauth-proxy-no-consent "--consent off" 'AS-PRX-*' "todo:read"

# MCPJam as a peer judge: its own OAuth conformance test against the reference server and AS, clean and once per
# defect (in-process targets, one judge process); each outcome is compared with fixtures/peer/mcpjam.toml, and the
# matrix renders the results as "Peer agreement (MCPJam)".
peer_judge() {
  echo "== mcpjam-peer"
  "$suite" interop peer-judge --report-dir "$out/mcpjam-peer" > "$out/mcpjam-peer.log" 2>&1 || status=1
  grep -E "^(mcpjam-peer:|[0-9]+ defects:)" "$out/mcpjam-peer.log" || tail -n 5 "$out/mcpjam-peer.log"
}
selected mcpjam-peer && peer_judge

if [ -n "$shard" ]; then
  echo "shard $shard done; the matrix is built by merging every shard's $out (interop matrix --dir …)"
else
  "$suite" interop matrix --dir "$out" --expected-dir fixtures/interop --out "$out/MATRIX.md"
fi

exit $status
