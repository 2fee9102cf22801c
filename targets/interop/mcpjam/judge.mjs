// MCPJam as a peer judge: runs @mcpjam/sdk's OAuthConformanceTest (pinned in package.json) against an MCP server
// and prints its verdict as JSON, bounded and redacted. Used by `mcp-auth-conformance interop peer-judge`, which
// points it at the suite's reference To-Do server and reference AS, clean and with each defect.
//
//   node judge.mjs [--strategies dcr,cimd,preregistered] [--call-tool list_todos] [--timeout-ms 10000] URL
//       one run; prints one JSON object on stdout; exit 0 when MCPJam passed, 1 when it failed, 2 on a usage error
//   node judge.mjs --serve [same options]
//       jobs on stdin, one JSON object a line ({"id": "...", "serverUrl": "...", "strategies": [...]}, strategies
//       optional); one result a line on stdout ({"id": "...", ...}) as each finishes, in any order; jobs run
//       concurrently; exits at the end of stdin
//
// Each run is one OAuthConformanceTest per registration strategy, all with protocolVersion 2025-11-25,
// auth {mode: "headless"} (the AS must approve at once with a 302, as the reference AS does with --login auto),
// oauthConformanceChecks (MCPJam's negative checks) and verification {listTools, callTool}. The result passes when
// every strategy's test passed. `cimd`: the judge serves its own client metadata document on 127.0.0.1 and names
// it https://mcpjam-judge.conformance.test:<port>/client-metadata.json, the test-only https host the reference AS
// fetches from 127.0.0.1:<port> (fake-idp's CIMD policy); the judge maps that host for MCPJam's own fetch the same
// way. `preregistered`: the reference AS's public client `conformance-client` (loopback redirect, any port).
//
// Nothing leaves 127.0.0.1: the SDK's telemetry (PostHog, Sentry) is off (MCPJAM_TELEMETRY_DISABLED=1 and
// DO_NOT_TRACK=1, set before the SDK is loaded, which reads them at import), and every fetch (MCPJam's OAuth flow
// and its MCP client) goes through a guard that refuses any host but loopback; a refused host is named in the
// result (`off_loopback`). No token, code, verifier or secret value is printed: every value the flow carried is
// masked wherever it appears, as is anything shaped like a JWT; every text is cut at 600 bytes.

process.env.MCPJAM_TELEMETRY_DISABLED = '1';
process.env.DO_NOT_TRACK = '1';

import { AsyncLocalStorage } from 'node:async_hooks';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';

const SDK_VERSION = '1.14.0';
const CIMD_HOST = 'mcpjam-judge.conformance.test';
const PREREGISTERED_CLIENT_ID = 'conformance-client';
const TEXT_CAP = 600;
const MAX_STEPS = 40;
const STRATEGIES = ['dcr', 'cimd', 'preregistered'];

// ---- options ----------------------------------------------------------------------------------------------------

function usage(message) {
    console.error(`judge.mjs: ${message}`);
    console.error('usage: node judge.mjs [--strategies dcr,cimd,preregistered] [--call-tool NAME] [--timeout-ms N] (URL | --serve)');
    process.exit(2);
}

function parseArgs(argv) {
    const opts = { strategies: ['dcr'], callTool: 'list_todos', timeoutMs: 10000, serve: false, url: undefined };
    for (let i = 0; i < argv.length; i += 1) {
        const arg = argv[i];
        const value = () => {
            if (i + 1 >= argv.length) usage(`${arg} needs a value`);
            i += 1;
            return argv[i];
        };
        if (arg === '--strategies') {
            opts.strategies = value().split(',').map((s) => s.trim()).filter(Boolean);
            const bad = opts.strategies.filter((s) => !STRATEGIES.includes(s));
            if (bad.length > 0 || opts.strategies.length === 0) usage(`unknown strategy ${bad.join(', ')} (valid: ${STRATEGIES.join(', ')})`);
        } else if (arg === '--call-tool') {
            opts.callTool = value();
        } else if (arg === '--timeout-ms') {
            opts.timeoutMs = Number.parseInt(value(), 10);
            if (!(opts.timeoutMs > 0)) usage('--timeout-ms needs a positive number');
        } else if (arg === '--serve') {
            opts.serve = true;
        } else if (arg.startsWith('--')) {
            usage(`unknown option ${arg}`);
        } else if (opts.url === undefined) {
            opts.url = arg;
        } else {
            usage(`unexpected argument ${arg}`);
        }
    }
    if (opts.serve === (opts.url !== undefined)) usage('give either a server URL or --serve');
    return opts;
}

// ---- loopback guard -----------------------------------------------------------------------------------------------

// The hosts a run tried to reach off loopback, per run (runs in --serve mode overlap).
const refused = new AsyncLocalStorage();

function isLoopbackHost(hostname) {
    const h = hostname.replace(/^\[|\]$/g, '');
    return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

// <scheme>://<name>.conformance.test[:port]/path is served from http://127.0.0.1[:port]/path: the suite's test-only
// hosts, stand-ins for real ones (the reference AS fetches CIMD documents the same way; a defect may advertise an
// endpoint on such a host); anything else must already be loopback.
export function routeUrl(raw) {
    const url = new URL(raw);
    if (url.hostname.endsWith('.conformance.test')) {
        url.protocol = 'http:';
        url.hostname = '127.0.0.1';
        return url.toString();
    }
    if (!isLoopbackHost(url.hostname)) return undefined;
    return url.toString();
}

const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
    const raw = typeof input === 'string' ? input : input instanceof URL ? input.toString() : input.url;
    const routed = routeUrl(raw);
    if (routed === undefined) {
        const host = new URL(raw).host;
        refused.getStore()?.add(cut(host, 200));
        throw new Error(`judge: refused a request off loopback (${host})`);
    }
    if (typeof input === 'string' || input instanceof URL) return realFetch(routed, init);
    return realFetch(new Request(routed, input), init);
};

const sdk = await import('@mcpjam/sdk');

// ---- redaction and bounds -----------------------------------------------------------------------------------------

const SECRET_NAMES = new Set(['access_token', 'refresh_token', 'id_token', 'code', 'code_verifier', 'client_secret',
    'registration_access_token', 'token', 'password', 'accessToken', 'refreshToken', 'clientSecret', 'codeVerifier',
    'authorizationCode']);

function mask(value) {
    const len = [...value].length;
    if (len < 32) return `[redacted ${len} chars]`;
    return `[redacted ${len} chars sha256:${createHash('sha256').update(value).digest('hex').slice(0, 12)}]`;
}

// Every secret value the run carried: the result's credentials, and the secret members, parameters and bearer
// credentials of every recorded exchange (request and response, URL, headers, body).
function collectSecrets(result) {
    const secrets = new Set();
    const add = (v) => {
        if (typeof v === 'string' && v.length >= 4) secrets.add(v);
    };
    const walk = (v, depth, underSecret) => {
        if (depth > 12 || v === null || v === undefined) return;
        if (typeof v === 'string') {
            if (underSecret) add(v);
            if (/^https?:\/\//.test(v)) {
                try {
                    for (const [k, val] of new URL(v).searchParams) if (SECRET_NAMES.has(k)) add(val);
                } catch { /* not a URL */ }
            } else if (v.includes('=') && !v.includes(' ')) {
                for (const [k, val] of new URLSearchParams(v)) if (SECRET_NAMES.has(k)) add(val);
            }
            const bearer = /^(?:Bearer|Basic|DPoP)\s+(\S+)$/i.exec(v);
            if (bearer) add(bearer[1]);
            return;
        }
        if (Array.isArray(v)) {
            for (const x of v) walk(x, depth + 1, underSecret);
            return;
        }
        if (typeof v === 'object') {
            for (const [k, x] of Object.entries(v)) walk(x, depth + 1, underSecret || SECRET_NAMES.has(k) || k.toLowerCase() === 'authorization');
        }
    };
    walk(result?.credentials, 0, true);
    for (const step of result?.steps ?? []) {
        for (const attempt of step.httpAttempts ?? []) walk(attempt, 0, false);
        walk(step.http, 0, false);
        for (const log of step.logs ?? []) walk(log, 0, false);
    }
    return secrets;
}

const JWT = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g;

function redact(text, secrets) {
    let out = String(text);
    // Longest first, so a value containing another is masked whole.
    for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
        if (out.includes(s)) out = out.split(s).join(mask(s));
    }
    out = out.replace(JWT, (m) => mask(m));
    return out;
}

export function cut(text, cap = TEXT_CAP) {
    const bytes = Buffer.from(text, 'utf8');
    if (bytes.length <= cap) return text;
    let end = cap;
    while (end > 0 && (bytes[end] & 0xc0) === 0x80) end -= 1;
    return `${bytes.subarray(0, end).toString('utf8')}…[${bytes.length - end} bytes cut]`;
}

const clean = (text, secrets) => (text === undefined || text === null ? undefined : cut(redact(text, secrets)));

// ---- one run ------------------------------------------------------------------------------------------------------

// The judge's client metadata document (CIMD), served on 127.0.0.1 for the whole process.
let cimd;
async function cimdServer() {
    if (cimd) return cimd;
    const server = http.createServer((req, res) => {
        if (req.method !== 'GET' || req.url !== '/client-metadata.json') {
            res.writeHead(404).end();
            return;
        }
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify({
            client_id: cimd.url,
            client_name: 'MCPJam peer judge (mcp-auth-conformance)',
            redirect_uris: ['http://127.0.0.1/callback'],
            grant_types: ['authorization_code'],
            response_types: ['code'],
            token_endpoint_auth_method: 'none',
        }));
    });
    await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
    });
    server.unref();
    cimd = { server, url: `https://${CIMD_HOST}:${server.address().port}/client-metadata.json` };
    return cimd;
}

function strategyConfig(strategy, serverUrl, opts, cimdUrl) {
    const config = {
        serverUrl,
        protocolVersion: '2025-11-25',
        registrationStrategy: strategy,
        auth: { mode: 'headless' },
        oauthConformanceChecks: true,
        stepTimeout: opts.timeoutMs,
        verification: {
            listTools: true,
            ...(opts.callTool ? { callTool: { name: opts.callTool, params: {} } } : {}),
            timeout: opts.timeoutMs,
        },
    };
    if (strategy === 'cimd') config.client = { clientIdMetadataUrl: cimdUrl };
    if (strategy === 'preregistered') config.client = { preregistered: { clientId: PREREGISTERED_CLIENT_ID } };
    return config;
}

async function runStrategy(strategy, serverUrl, opts) {
    const started = Date.now();
    let result;
    try {
        const cimdUrl = strategy === 'cimd' ? (await cimdServer()).url : undefined;
        result = await new sdk.OAuthConformanceTest(strategyConfig(strategy, serverUrl, opts, cimdUrl)).run();
    } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return { strategy, passed: false, crashed: true, summary: clean(message, new Set()), duration_ms: Date.now() - started, steps: [] };
    }
    const secrets = collectSecrets(result);
    const steps = (result.steps ?? []).slice(0, MAX_STEPS).map((s) => ({
        step: String(s.step),
        status: String(s.status),
        ...(s.error?.message ? { error: clean(s.error.message, secrets) } : {}),
    }));
    return {
        strategy,
        passed: result.passed === true,
        summary: clean(result.summary ?? '', secrets),
        duration_ms: Date.now() - started,
        steps,
        ...((result.steps ?? []).length > MAX_STEPS ? { steps_cut: result.steps.length - MAX_STEPS } : {}),
    };
}

async function judge(serverUrl, opts) {
    const offLoopback = new Set();
    return refused.run(offLoopback, () => judgeIn(serverUrl, opts, offLoopback));
}

async function judgeIn(serverUrl, opts, offLoopback) {
    const started = Date.now();
    const flows = [];
    // One strategy after another: MCPJam's own suite runs its flows sequentially too.
    for (const strategy of opts.strategies) flows.push(await runStrategy(strategy, serverUrl, opts));
    return {
        judge: `@mcpjam/sdk ${SDK_VERSION} OAuthConformanceTest`,
        server_url: cut(serverUrl),
        passed: flows.every((f) => f.passed),
        duration_ms: Date.now() - started,
        flows,
        off_loopback: [...offLoopback].sort(),
    };
}

// ---- main ---------------------------------------------------------------------------------------------------------

const opts = parseArgs(process.argv.slice(2));
if (!opts.serve) {
    const result = await judge(opts.url, opts);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(result.passed ? 0 : 1);
}

const pending = [];
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
    if (!line.trim()) continue;
    let job;
    try {
        job = JSON.parse(line);
    } catch {
        process.stdout.write(`${JSON.stringify({ id: null, error: 'judge: a job line is not JSON' })}\n`);
        continue;
    }
    const id = typeof job.id === 'string' ? job.id.slice(0, 200) : null;
    const strategies = Array.isArray(job.strategies) ? job.strategies.filter((s) => STRATEGIES.includes(s)) : [];
    const jobOpts = strategies.length > 0 ? { ...opts, strategies } : opts;
    pending.push(
        judge(String(job.serverUrl ?? ''), jobOpts)
            .then((result) => ({ id, ...result }))
            .catch((error) => ({ id, error: cut(`judge: ${error instanceof Error ? error.message : String(error)}`) }))
            .then((out) => process.stdout.write(`${JSON.stringify(out)}\n`)),
    );
}
await Promise.all(pending);
process.exit(0);
