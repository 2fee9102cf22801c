// oauth2-mock-server 9.3.0 as an authorization-server interop target for mcp-auth-conformance (`authz` role).
// Used exactly as its README's "Library Usage" shows: one generated RS256 key, server.start(port, host).
// Prints the issuer URL on stdout (one line) and stays up until SIGTERM/SIGINT.
//
//   node mock-as.mjs            # 127.0.0.1:9500
//   PORT=9600 node mock-as.mjs

import { OAuth2Server } from 'oauth2-mock-server';

const PORT = Number.parseInt(process.env.PORT ?? '9500', 10);
const HOST = '127.0.0.1';

const server = new OAuth2Server();
await server.issuer.keys.generate('RS256');
await server.start(PORT, HOST);
console.log(server.issuer.url);

let stopping = false;
async function shutdown(signal) {
    if (stopping) return;
    stopping = true;
    console.error(`mock-as: ${signal}, stopping`);
    try {
        await server.stop();
    } finally {
        process.exit(0);
    }
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
