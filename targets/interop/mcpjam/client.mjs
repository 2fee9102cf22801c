// MCPJam's OAuth client (@mcpjam/sdk, pinned in package.json) as a client under test, run headless by the suite's
// client role (docs/guide/client.md; the official suite's client-under-test contract).
//
//   node client.mjs <MCP_URL>
//   env MCP_CONFORMANCE_SCENARIO, MCP_CONFORMANCE_CONTEXT (JSON: client_metadata_url | client_id, client_secret)
//
// What it does: one `OAuthConformanceTest` run, configured only from the contract:
//   - serverUrl: the last argv; protocolVersion "2025-11-25";
//   - registrationStrategy: "cimd" when the context carries client_metadata_url (client.clientIdMetadataUrl = it),
//     "preregistered" when it carries client_id (client.preregistered = { clientId, clientSecret }), else "dcr";
//   - auth { mode: "headless" }: the SDK itself GETs the authorization URL with redirect "manual", follows up to
//     10 redirects and lifts `code` (comparing `state`) from the first one that reaches its redirect URI's origin and
//     path (auth-strategies/headless.ts, completeHeadlessAuthorization); the redirect URI is the SDK's default,
//     http://127.0.0.1:<random 20000-59999>/callback, where nothing listens;
//   - verification { listTools: true, callTool: list_todos {} }: after the token, the SDK's MCPClientManager
//     connects with the access token, lists tools and calls list_todos.
//   - fetchFn: the global fetch, with two exceptions. (1) The client's own CIMD document: a real client publishes
//     its document at its client_id URL, and before authorizing MCPJam GETs its own document there (steps
//     cimd_fetch_request / cimd_metadata_response, dist/index.js ~14554-14630: it stops unless the GET succeeds
//     and the document's client_id equals the URL). The adapter plays that document host, and nothing else: a GET
//     of exactly the context's client_metadata_url is answered 200 application/json with client-metadata.json
//     (next to this file; `{client_metadata_url}` replaced by that URL), the same file run.sh gives the suite with
//     --client-metadata, so the document MCPJam reads and the one the suite's AS fetches and the checks judge are
//     the same. (2) Any other URL whose host is not loopback is not fetched: it fails the way an unresolvable
//     name does (TypeError "fetch failed"); without this a lookup of such a name would leave the machine
//     (loopback-only.test.mjs caught MCPJam's CIMD self-fetch doing so before (1) existed).
//   Exit 0 when the SDK reports `passed` (every step passed, tools listed and list_todos called), else 1; an
//   exception from the SDK (a config it rejects, a crash) is also 1. It prints MCPJam's own summary
//   (formatOAuthConformanceHuman, which prints no credentials) and one line per step.
//
// What it does not do: no check, retry, validation or protection of its own. Discovery, registration, PKCE,
// resource, scope, state, the token request and the MCP requests are all the SDK's, unchanged; the adapter passes
// no redirectUrl, scopes or custom headers, leaves oauthConformanceChecks off (the SDK's default: those
// are probes of the authorization server, not client behaviour), and never re-runs the flow (the SDK has no
// step-up or refresh loop in this API; whatever it does on a 401/403 during verification is what is measured).
//
// Telemetry: the SDK reads DO_NOT_TRACK / MCPJAM_TELEMETRY_DISABLED when its module loads (PostHog and Sentry
// clients, dist/index.js), so both are set here before the SDK is imported (dynamically, since static imports are
// hoisted above any statement). targets/interop/mcpjam/loopback-only.test.mjs proves nothing leaves loopback.
import fs from 'node:fs';

process.env.MCPJAM_TELEMETRY_DISABLED = '1';
process.env.DO_NOT_TRACK = '1';

const { OAuthConformanceTest, formatOAuthConformanceHuman } = await import('@mcpjam/sdk');

const log = (...a) => console.error('[mcpjam-client]', ...a);

const LOOPBACK = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])$/i;

// MCPJam's own CIMD document as published at `clientMetadataUrl` (see the header), or null without one.
function ownDocument(clientMetadataUrl) {
    if (!clientMetadataUrl) return null;
    const template = fs.readFileSync(new URL('./client-metadata.json', import.meta.url), 'utf8');
    return { url: new URL(clientMetadataUrl).href, body: template.replaceAll('{client_metadata_url}', clientMetadataUrl) };
}

// The SDK's requests (OAuthConformanceTest's fetchFn): the own document's URL answered with the document,
// anything else loopback only (see the header).
function guardedFetch(own) {
    return (input, init) => {
        const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
        const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
        if (own && url.href === own.url && method === 'GET') {
            log(`served own CIMD document: ${url.origin}${url.pathname}`);
            return Promise.resolve(new Response(own.body, { status: 200, headers: { 'content-type': 'application/json' } }));
        }
        if (LOOPBACK.test(url.hostname)) return fetch(input, init);
        log(`not fetched (off loopback): ${url.origin}${url.pathname}`);
        return Promise.reject(new TypeError('fetch failed', { cause: new Error(`${url.hostname}: not on loopback`) }));
    };
}

function registration(context) {
    if (context.client_metadata_url) {
        return { registrationStrategy: 'cimd', client: { clientIdMetadataUrl: context.client_metadata_url } };
    }
    if (context.client_id) {
        return {
            registrationStrategy: 'preregistered',
            client: {
                preregistered: {
                    clientId: context.client_id,
                    ...(context.client_secret ? { clientSecret: context.client_secret } : {})
                }
            }
        };
    }
    return { registrationStrategy: 'dcr' };
}

async function main() {
    const serverUrl = process.argv[process.argv.length - 1];
    const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '';
    const context = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT || '{}');
    const { registrationStrategy, client } = registration(context);
    log(`scenario ${scenario}, server ${serverUrl}, registration ${registrationStrategy}`);

    const test = new OAuthConformanceTest({
        serverUrl,
        protocolVersion: '2025-11-25',
        registrationStrategy,
        ...(client ? { client } : {}),
        auth: { mode: 'headless' },
        fetchFn: guardedFetch(ownDocument(context.client_metadata_url)),
        verification: { listTools: true, callTool: { name: 'list_todos', params: {} } }
    });
    const result = await test.run();
    for (const step of result.steps) {
        log(`step ${step.step}: ${step.status}${step.error?.message ? ` (${step.error.message})` : ''}`);
    }
    console.log(formatOAuthConformanceHuman(result));
    return result.passed;
}

main().then(
    passed => process.exit(passed ? 0 : 1),
    err => {
        log('error:', err?.stack ?? err);
        process.exit(1);
    }
);
