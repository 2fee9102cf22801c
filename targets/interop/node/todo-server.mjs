// The seed To-Do MCP server on the real TypeScript SDK (@modelcontextprotocol/sdk 1.32.2), as an interop target
// for mcp-auth-conformance. Configured only by the suite's server-target env contract (README "Testing your MCP
// server"): MCP_CONFORMANCE_ISSUER, MCP_CONFORMANCE_JWKS_URI, MCP_CONFORMANCE_RESOURCE, PORT.
//
//   node todo-server.mjs --variant documented   # the SDK example's way (simpleStreamableHttp.ts --oauth):
//                                                # the verifier reports the token's audience in AuthInfo.resource
//                                                # but nothing compares it (expectedResource unset, as in the
//                                                # example without --oauth-strict); jose checks signature, exp/nbf
//                                                # and the issuer.
//   node todo-server.mjs --variant hardened     # jwtVerify with issuer, audience = resource, typ at+jwt.
//
// Tools: list_todos (todo:read), create_todo {title} and delete_todo {id} (todo:write); one shared in-memory list.
// Transport: Streamable HTTP at /mcp, stateless (the SDK's simpleStatelessStreamableHttp example).
// This file measures the SDK: it adds no protection the SDK docs/examples do not show.

import { randomUUID } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, errors as joseErrors } from 'jose';
import * as z from 'zod/v4';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { getOAuthProtectedResourceMetadataUrl, mcpAuthMetadataRouter } from '@modelcontextprotocol/sdk/server/auth/router.js';
import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';

// ---- configuration -------------------------------------------------------------------------------------------

function argValue(name) {
    const i = process.argv.indexOf(name);
    if (i !== -1) return process.argv[i + 1];
    const eq = process.argv.find(a => a.startsWith(`${name}=`));
    return eq ? eq.slice(name.length + 1) : undefined;
}

function requireEnv(name) {
    const v = process.env[name];
    if (!v) {
        console.error(`todo-server: ${name} is not set (see the suite's server-target env contract)`);
        process.exit(2);
    }
    return v;
}

const variant = argValue('--variant') ?? 'hardened';
if (variant !== 'documented' && variant !== 'hardened') {
    console.error(`todo-server: --variant must be documented or hardened, not ${variant}`);
    process.exit(2);
}
const ISSUER = requireEnv('MCP_CONFORMANCE_ISSUER');
const JWKS_URI = requireEnv('MCP_CONFORMANCE_JWKS_URI');
const PORT = Number.parseInt(requireEnv('PORT'), 10);
const RESOURCE = process.env.MCP_CONFORMANCE_RESOURCE || `http://127.0.0.1:${PORT}/mcp`;
const HOST = '127.0.0.1';
const READ = 'todo:read';
const WRITE = 'todo:write';

const mcpServerUrl = new URL(RESOURCE);

// ---- authorization-server metadata (for mcpAuthMetadataRouter) ------------------------------------------------

// RFC 8414 §3.1 (and OpenID Connect Discovery as the MCP-spec fallback): the well-known segment goes between the
// host and the issuer's path.
function asMetadataUrls(issuer) {
    const u = new URL(issuer);
    const path = u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '');
    return [
        new URL(`/.well-known/oauth-authorization-server${path}`, u.origin).href,
        new URL(`/.well-known/openid-configuration${path}`, u.origin).href
    ];
}

async function fetchOAuthMetadata() {
    let lastError;
    for (let attempt = 0; attempt < 20; attempt++) {
        for (const url of asMetadataUrls(ISSUER)) {
            try {
                const res = await fetch(url, { headers: { accept: 'application/json' } });
                if (res.ok) return await res.json();
                lastError = new Error(`${url} answered HTTP ${res.status}`);
            } catch (e) {
                lastError = e;
            }
        }
        await new Promise(r => setTimeout(r, 250));
    }
    throw new Error(`cannot fetch authorization-server metadata: ${lastError?.message ?? lastError}`);
}

// ---- token verifier (jose) ------------------------------------------------------------------------------------

const JWKS = createRemoteJWKSet(new URL(JWKS_URI));

// The SDK example's mapping of `aud` to AuthInfo.resource: the entry on this server's origin, if any.
function resourceFromAudience(aud) {
    const audience = [aud ?? []].flat().find(a => typeof a === 'string' && URL.canParse(a) && new URL(a).origin === mcpServerUrl.origin);
    return audience ? new URL(audience) : undefined;
}

const verifyOptions =
    variant === 'hardened'
        ? { issuer: ISSUER, audience: RESOURCE, typ: 'at+jwt' }
        : { issuer: ISSUER };

const tokenVerifier = {
    verifyAccessToken: async token => {
        let payload;
        try {
            ({ payload } = await jwtVerify(token, JWKS, verifyOptions));
        } catch (e) {
            // jose's verification failures are token errors (401); anything else (JWKS unreachable…) is left to the
            // middleware, which answers 500.
            if (e instanceof joseErrors.JOSEError && !(e instanceof joseErrors.JWKSTimeout)) {
                throw new InvalidTokenError(`Invalid token: ${e.code ?? e.name}`);
            }
            throw e;
        }
        return {
            token,
            clientId: typeof payload.client_id === 'string' ? payload.client_id : (payload.azp ?? payload.sub ?? ''),
            scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
            expiresAt: payload.exp,
            resource: variant === 'hardened' ? new URL(RESOURCE) : resourceFromAudience(payload.aud),
            extra: { sub: payload.sub }
        };
    }
};

// ---- the To-Do MCP server -------------------------------------------------------------------------------------

const todos = []; // one shared in-memory list: { id, title }

function insufficientScope(extra, scope) {
    const scopes = extra.authInfo?.scopes ?? [];
    if (scopes.includes(scope)) return undefined;
    return {
        isError: true,
        content: [{ type: 'text', text: `insufficient_scope: this tool needs the ${scope} scope` }]
    };
}

const text = value => ({ content: [{ type: 'text', text: JSON.stringify(value) }] });

function getServer() {
    const server = new McpServer({ name: 'todo-server-ts-sdk', version: '1.32.2' });

    server.registerTool(
        'list_todos',
        { description: `List all to-dos (needs ${READ})`, inputSchema: {} },
        async (_args, extra) => insufficientScope(extra, READ) ?? text(todos)
    );

    server.registerTool(
        'create_todo',
        { description: `Create a to-do (needs ${WRITE})`, inputSchema: { title: z.string().describe('The to-do title') } },
        async ({ title }, extra) => {
            const refused = insufficientScope(extra, WRITE);
            if (refused) return refused;
            const todo = { id: randomUUID(), title };
            todos.push(todo);
            return text(todo);
        }
    );

    server.registerTool(
        'delete_todo',
        { description: `Delete a to-do by id (needs ${WRITE})`, inputSchema: { id: z.string().describe('The to-do id') } },
        async ({ id }, extra) => {
            const refused = insufficientScope(extra, WRITE);
            if (refused) return refused;
            const i = todos.findIndex(t => t.id === id);
            if (i === -1) return { isError: true, content: [{ type: 'text', text: `no to-do with id ${id}` }] };
            const [removed] = todos.splice(i, 1);
            return text(removed);
        }
    );

    return server;
}

// ---- HTTP ---------------------------------------------------------------------------------------------------------

const oauthMetadata = await fetchOAuthMetadata();

const app = createMcpExpressApp({ host: HOST });

app.use(
    mcpAuthMetadataRouter({
        oauthMetadata,
        resourceServerUrl: mcpServerUrl,
        scopesSupported: [READ, WRITE],
        resourceName: 'To-Do MCP server (TypeScript SDK 1.32.2)'
    })
);

const authMiddleware = requireBearerAuth({
    verifier: tokenVerifier,
    requiredScopes: [], // per-tool checks below: list_todos needs todo:read, the writes todo:write
    resourceMetadataUrl: getOAuthProtectedResourceMetadataUrl(mcpServerUrl)
});

const mcpPath = mcpServerUrl.pathname;

app.post(mcpPath, authMiddleware, async (req, res) => {
    const server = getServer();
    try {
        const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
        await server.connect(transport);
        await transport.handleRequest(req, res, req.body);
        res.on('close', () => {
            transport.close();
            server.close();
        });
    } catch (error) {
        console.error('todo-server: error handling MCP request:', error);
        if (!res.headersSent) {
            res.status(500).json({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal server error' }, id: null });
        }
    }
});

const methodNotAllowed = (_req, res) => {
    res.writeHead(405).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null }));
};
app.get(mcpPath, authMiddleware, methodNotAllowed);
app.delete(mcpPath, authMiddleware, methodNotAllowed);

const httpServer = app.listen(PORT, HOST, error => {
    if (error) {
        console.error('todo-server: failed to start:', error);
        process.exit(1);
    }
    console.log(`todo-server (${variant}) listening on http://${HOST}:${PORT}${mcpPath} as ${RESOURCE}, trusting ${ISSUER}`);
});

function shutdown(signal) {
    console.log(`todo-server: ${signal}, shutting down`);
    httpServer.close(() => process.exit(0));
    httpServer.closeAllConnections?.();
    setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
