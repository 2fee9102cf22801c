// Preloaded (`node --import ./record-connections.mjs …`) by loopback-only.test.mjs: records every outbound
// network attempt the process makes and refuses any that is not loopback, so the test can see a leak without
// causing one. Each attempt is one JSON line appended to the file named by MCPJAM_RECORD_CONNECTIONS:
//   {"via":"socket"|"dns"|"fetch","host":"…","port":…,"loopback":true|false,"pid":…}
// Channels: net.Socket.prototype.connect (every TCP/TLS connection, undici's fetch included), dns.lookup and
// dns.promises.lookup (name resolution, which leaves the machine even when no connection follows), and
// globalThis.fetch (the URL asked for, before undici resolves it). Unix-socket (IPC) connects are local: ignored.
import dns from 'node:dns';
import fs from 'node:fs';
import net from 'node:net';

const file = process.env.MCPJAM_RECORD_CONNECTIONS;
if (!file) throw new Error('record-connections.mjs: MCPJAM_RECORD_CONNECTIONS (a file path) is not set');

export function isLoopback(host) {
    if (host === undefined || host === null || host === '') return true; // Node's default host is localhost
    const h = String(host).replace(/^\[|\]$/g, '').toLowerCase();
    return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::ffff:127.0.0.1';
}

function record(via, host, port) {
    const loopback = isLoopback(host);
    fs.appendFileSync(file, JSON.stringify({ via, host: String(host ?? ''), port: port ?? null, loopback, pid: process.pid }) + '\n');
    return loopback;
}

const refusal = (host) => Object.assign(new Error(`record-connections: refused a connection off loopback (${host})`), { code: 'ECONNREFUSED' });

// TCP and TLS: net.connect, tls.connect and undici all end in Socket.prototype.connect.
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
    let opts = args[0];
    if (Array.isArray(opts)) opts = opts[0]; // internal normalized form [options, cb]
    let host;
    let port;
    if (opts !== null && typeof opts === 'object') {
        if (opts.path !== undefined) return connect.apply(this, args); // IPC
        host = opts.host;
        port = opts.port;
    } else if (typeof opts === 'string' && !/^\d+$/.test(opts)) {
        return connect.apply(this, args); // IPC path
    } else {
        port = opts;
        host = typeof args[1] === 'string' ? args[1] : undefined;
    }
    if (record('socket', host, port)) return connect.apply(this, args);
    process.nextTick(() => this.destroy(refusal(host)));
    return this;
};

// Name resolution.
const lookup = dns.lookup;
dns.lookup = function (hostname, ...rest) {
    if (record('dns', hostname)) return lookup.call(this, hostname, ...rest);
    const cb = rest[rest.length - 1];
    process.nextTick(() => cb(Object.assign(refusal(hostname), { code: 'ENOTFOUND' })));
    return {};
};
const promisesLookup = dns.promises.lookup;
dns.promises.lookup = async function (hostname, ...rest) {
    if (record('dns', hostname)) return promisesLookup.call(this, hostname, ...rest);
    throw Object.assign(refusal(hostname), { code: 'ENOTFOUND' });
};

// fetch: the URL as asked for.
const fetch = globalThis.fetch;
globalThis.fetch = function (input, init) {
    let url;
    try {
        url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    } catch {
        return fetch.call(this, input, init);
    }
    if (record('fetch', url.hostname, url.port || null)) return fetch.call(this, input, init);
    return Promise.reject(new TypeError('fetch failed', { cause: refusal(url.hostname) }));
};
