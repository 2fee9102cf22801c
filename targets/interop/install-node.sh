#!/usr/bin/env bash
# Install the Node interop targets (targets/interop/node, targets/interop/mcpjam) exactly as pinned in package-lock.json.
# Idempotent: `npm ci` removes and recreates each folder's node_modules each time.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."   # the repository root
command -v node >/dev/null || { echo "install-node.sh: node not found (Node 20+ needed)" >&2; exit 1; }
command -v npm >/dev/null || { echo "install-node.sh: npm not found" >&2; exit 1; }
npm ci --prefix targets/interop/node --no-audit --no-fund
# MCPJam's SDK (@mcpjam/sdk) in its own folder: the MCPJam client adapter and the MCPJam peer judge.
npm ci --prefix targets/interop/mcpjam --no-audit --no-fund
