#!/usr/bin/env bash
# Interop: runs the suite against real products (pinned SDKs and a popular mock AS, installed from the registries
# into git-ignored folders) and compares every verdict with fixtures/interop/<target>.toml, which lists only the
# checks that do not PASS, each with the reason a reviewer can confirm from the evidence (an unlisted check must
# PASS). Any difference, or a listed check the report lacks, fails the run. Then it regenerates the
# matrix. Reports go to $INTEROP_REPORT_DIR (default: interop-reports, the committed copy).
set -euo pipefail
cd "$(dirname "$0")/../.."

targets/interop/install-python.sh
targets/interop/install-node.sh
# The suite binary: MCP_SUITE_BIN when the caller built it already (.ci/run), else a build of our own.
if [ -n "${MCP_SUITE_BIN:-}" ]; then
  suite=$MCP_SUITE_BIN
else
  cargo build --locked -p mcp-auth-conformance
  suite=target/debug/mcp-auth-conformance
fi
out=${INTEROP_REPORT_DIR:-interop-reports}
py=targets/interop/.venv/bin/python
status=0

check() {
  local name=$1
  "$suite" interop compare --report "$out/$name/report.json" --expected "fixtures/interop/$name.toml" || status=1
}

server() {
  local name=$1 command=$2
  echo "== $name"
  "$suite" server --command "$command" --profile fixtures/profiles/todo-basic.toml --seed 1 \
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

client() {
  local name=$1 command=$2
  echo "== $name"
  "$suite" client --command "$command" --seed 1 --report-dir "$out/$name" > "$out/$name.log" 2>&1 || true
  check "$name"
}

client python-mcp-client "$py targets/interop/python/mcp_client.py"
client python-fastmcp-client "$py targets/interop/python/fastmcp_client.py"
client ts-sdk-client "node targets/interop/node/client.mjs"

# Verdicts must not depend on request timing (worlds that change state mid-run decide by what is observable on
# the wire): the same real client, every world, twice more; each run must match the same expectation.
for i in 2 3; do
  echo "== ts-sdk-client (run $i of 3)"
  rerun=$(mktemp -d)
  "$suite" client --command "node targets/interop/node/client.mjs" --seed 1 --report-dir "$rerun" > "$rerun.log" 2>&1 || true
  "$suite" interop compare --report "$rerun/report.json" --expected fixtures/interop/ts-sdk-client.toml || status=1
done

# The mock authorization server: started once, its issuer read from its first line of output (an event, not a sleep).
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

"$suite" interop matrix --dir "$out" --expected-dir fixtures/interop --out "$out/MATRIX.md"

exit $status
