// MCP client on the unmodified TypeScript SDK (@modelcontextprotocol/sdk, pinned in package.json), run headless
// by the suite's client role (docs/client-role.md §1; the official suite's client-under-test contract).
//
//   node client.mjs <MCP_URL>
//   env MCP_CONFORMANCE_SCENARIO, MCP_CONFORMANCE_CONTEXT (JSON: client_metadata_url | client_id, client_secret)
//
// The OAuthClientProvider mirrors the official everything-client's ConformanceOAuthProvider: everything in memory,
// and redirectToAuthorization() fetches the authorization URL with `redirect: 'manual'` and lifts `code` from
// Location instead of opening a browser. The flow is then driven the way the SDK documents it: the transport throws
// UnauthorizedError after redirecting, the app calls `transport.finishAuth(code)` and reconnects.
// Every authorization decision (discovery, registration, PKCE, resource, scope, refresh, step-up) is the SDK's.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

const REDIRECT_URL = 'http://127.0.0.1:3000/callback';
// Authorization rounds (redirect + finishAuth) before giving up: bounds step-up loops (scope-retry-limit).
const MAX_AUTH_ROUNDS = 3;

const log = (...a) => console.error('[ts-sdk-client]', ...a);

class ConformanceOAuthProvider {
    constructor(context) {
        this._clientMetadataUrl = context.client_metadata_url;
        this._clientInformation = context.client_id
            ? { client_id: context.client_id, ...(context.client_secret ? { client_secret: context.client_secret } : {}) }
            : undefined;
        this._tokens = undefined;
        this._codeVerifier = undefined;
        this._authCode = undefined;
    }

    get redirectUrl() {
        return REDIRECT_URL;
    }

    get clientMetadataUrl() {
        return this._clientMetadataUrl;
    }

    get clientMetadata() {
        return {
            client_name: 'mcp-auth-conformance TS SDK client',
            redirect_uris: [REDIRECT_URL],
            grant_types: ['authorization_code', 'refresh_token'],
            response_types: ['code'],
            token_endpoint_auth_method: 'none'
        };
    }

    clientInformation() {
        return this._clientInformation;
    }

    saveClientInformation(info) {
        this._clientInformation = info;
    }

    tokens() {
        return this._tokens;
    }

    saveTokens(tokens) {
        this._tokens = tokens;
    }

    saveCodeVerifier(v) {
        this._codeVerifier = v;
    }

    codeVerifier() {
        if (!this._codeVerifier) throw new Error('No code verifier saved');
        return this._codeVerifier;
    }

    invalidateCredentials(scope) {
        if (scope === 'all' || scope === 'client') this._clientInformation = undefined;
        if (scope === 'all' || scope === 'tokens') this._tokens = undefined;
        if (scope === 'all' || scope === 'verifier') this._codeVerifier = undefined;
    }

    async redirectToAuthorization(authorizationUrl) {
        log('authorization URL:', authorizationUrl.toString());
        const res = await fetch(authorizationUrl.toString(), { redirect: 'manual' });
        await res.body?.cancel();
        const location = res.headers.get('location');
        if (!location) throw new Error(`No redirect Location from the authorization endpoint (HTTP ${res.status})`);
        const params = new URL(location).searchParams;
        const code = params.get('code');
        if (!code) throw new Error(`No code in the authorization redirect: ${location}`);
        this._authCode = code;
    }

    takeAuthCode() {
        const code = this._authCode;
        this._authCode = undefined;
        return code;
    }
}

async function main() {
    const serverUrl = process.argv[process.argv.length - 1];
    const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '';
    const context = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT || '{}');
    log(`scenario ${scenario}, server ${serverUrl}`);

    const provider = new ConformanceOAuthProvider(context);
    let client;
    let authRounds = 0;

    // Runs `op`; on UnauthorizedError with a code in hand, finishes the authorization on that transport and
    // reconnects (new transport + client, as the SDK's OAuth client example does), then runs `op` again.
    for (;;) {
        const transport = new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider: provider });
        client = new Client({ name: 'mcp-auth-conformance-ts-sdk-client', version: '0.0.0' });
        try {
            await client.connect(transport);
            const tools = await client.listTools();
            log('tools:', tools.tools.map(t => t.name).join(', '));
            const result = await client.callTool({ name: 'list_todos', arguments: {} });
            console.log(JSON.stringify(result));
            await client.close();
            return;
        } catch (err) {
            await client.close().catch(() => {});
            const code = provider.takeAuthCode();
            if (!(err instanceof UnauthorizedError) || !code) throw err;
            if (++authRounds > MAX_AUTH_ROUNDS) throw new Error(`giving up after ${MAX_AUTH_ROUNDS} authorizations`);
            log(`authorization round ${authRounds}: finishAuth`);
            await transport.finishAuth(code);
        }
    }
}

main().then(
    () => process.exit(0),
    err => {
        log('error:', err?.stack ?? err);
        process.exit(1);
    }
);
