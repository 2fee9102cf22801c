#!/usr/bin/env bash
# The logic of the composite GitHub Action (action.yml at the repository root). Inputs arrive as INPUT_*
# environment variables (action.yml maps them; never interpolated into a script), so nothing a workflow passes
# is evaluated by the shell.
#
#   ci/github-action.sh key      print the cache key of the installed suite (for actions/cache)
#   ci/github-action.sh install  install the suite into $MCP_CONFORMANCE_ROOT unless it is there (cache hit)
#   ci/github-action.sh run      run the suite, print annotations, append the step summary, write the outputs
#                                exit-code and report-dir to $GITHUB_OUTPUT; exits 0 (the action's last step
#                                passes the suite's exit code through, after the reports are uploaded)
#
# MCP_CONFORMANCE_BIN overrides the binary `run` uses (.ci/action-test runs the debug build that way).
set -euo pipefail

action_dir=$(cd "$(dirname "$0")/.." && pwd)
root=${MCP_CONFORMANCE_ROOT:-$HOME/.mcp-auth-conformance}
bin=${MCP_CONFORMANCE_BIN:-$root/bin/mcp-auth-conformance}
version=${INPUT_VERSION:-}

out() { # name=value to $GITHUB_OUTPUT (when set)
    if [[ -n "${GITHUB_OUTPUT:-}" ]]; then echo "$1" >>"$GITHUB_OUTPUT"; fi
}

case "${1:-}" in
key)
    if [[ -n "$version" ]]; then
        id="tag-$version"
    elif id=$(git -C "$action_dir" rev-parse HEAD 2>/dev/null); then
        id="commit-$id"
    else # the action's files without git (how a runner downloads an action): the hash of their sources
        id="tree-$(cd "$action_dir" && find . -path ./target -prune -o -type f \
            \( -name '*.rs' -o -name '*.toml' -o -name Cargo.lock \) -print0 | sort -z |
            xargs -0 -r sha256sum | sha256sum | cut -c1-16)"
    fi
    echo "key=mcp-auth-conformance-${RUNNER_OS:-$(uname -s)}-$id" | tee -a "${GITHUB_OUTPUT:-/dev/null}"
    ;;
install)
    if [[ -x "$bin" ]]; then
        echo "mcp-auth-conformance already installed: $("$bin" --version)"
        exit 0
    fi
    if [[ -n "$version" ]]; then
        repo=${INPUT_REPOSITORY:?the version input needs the action repository (owner/name)}
        cargo install --locked --root "$root" --git "https://github.com/$repo" --tag "$version" mcp-auth-conformance
    else
        cargo install --locked --root "$root" --path "$action_dir/suite"
    fi
    "$bin" --version
    ;;
run)
    role=${INPUT_ROLE:-}
    report_dir=${INPUT_REPORT_DIR:-conformance-report}
    args=("$role" --report-dir "$report_dir")
    opt() { if [[ -n "$2" ]]; then args+=("$1" "$2"); fi; }
    refuse() { # inputs that do not apply to the role
        for i in "$@"; do
            v="INPUT_$i"
            if [[ -n "${!v:-}" ]]; then
                echo "::error title=mcp-auth-conformance::the ${i,,} input is not for role $role"
                exit 2
            fi
        done
    }
    case "$role" in
    server)
        refuse ISSUER
        opt --url "${INPUT_URL:-}"
        opt --command "${INPUT_COMMAND:-}"
        opt --profile "${INPUT_PROFILE:-}"
        ;;
    client)
        refuse URL ISSUER PROFILE
        opt --command "${INPUT_COMMAND:-}"
        ;;
    authz)
        refuse URL COMMAND PROFILE
        opt --issuer "${INPUT_ISSUER:-}"
        ;;
    *)
        echo "::error title=mcp-auth-conformance::the role input must be server, client or authz"
        exit 2
        ;;
    esac
    opt --baseline "${INPUT_BASELINE:-}"
    opt --spec-version "${INPUT_SPEC_VERSION:-}"
    opt --extension "${INPUT_EXTENSION:-}"
    case "${INPUT_STRICT:-false}" in
    true) args+=(--strict) ;;
    false | "") ;;
    *)
        echo "::error title=mcp-auth-conformance::the strict input must be true or false"
        exit 2
        ;;
    esac

    code=0
    "$bin" "${args[@]}" || code=$?
    out "exit-code=$code"
    out "report-dir=$report_dir"
    if [[ -f "$report_dir/report.json" ]]; then
        "$bin" github --report "$report_dir/report.json"
    else
        echo "::error title=mcp-auth-conformance::the run wrote no report (exit code $code): see the log above"
    fi
    echo "mcp-auth-conformance exited with $code"
    ;;
*)
    echo "usage: $0 key|install|run" >&2
    exit 2
    ;;
esac
