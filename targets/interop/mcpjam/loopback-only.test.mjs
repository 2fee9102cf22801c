// The MCPJam client adapter contacts nothing off loopback: `node --test targets/interop/mcpjam/` (run by
// targets/interop/run.sh before the mcpjam-client product). Needs the suite binary: MCP_SUITE_BIN, else
// target/debug/mcp-auth-conformance (cargo build -p mcp-auth-conformance), and `targets/interop/install-node.sh`.
//
// record-connections.mjs is preloaded into the client process: it records every TCP/TLS connect, DNS lookup and
// fetch, and refuses those off loopback (so a leak is seen, not made). The first test shows the recorder catches
// each channel; the second runs the adapter through every world of the suite's client role.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const recorder = path.join(here, 'record-connections.mjs');
const suite = process.env.MCP_SUITE_BIN ?? path.join(root, 'target/debug/mcp-auth-conformance');

function run(file, args, env, timeout) {
    return new Promise(resolve => {
        execFile(file, args, { cwd: root, env: { ...process.env, ...env }, timeout, maxBuffer: 16 << 20 },
            (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr }));
    });
}

function records(file) {
    if (!fs.existsSync(file)) return [];
    return fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map(l => JSON.parse(l));
}

function tempFile(name) {
    return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mcpjam-loopback-')), name);
}

test('the recorder sees and refuses an attempt off loopback on every channel', async () => {
    const file = tempFile('connections.jsonl');
    const probe = `
        import net from 'node:net'; import dns from 'node:dns';
        await fetch('http://192.0.2.1:9/').catch(() => {});
        await new Promise(r => net.connect(9, '192.0.2.2').on('error', r).on('connect', r));
        await new Promise(r => dns.lookup('telemetry.example', () => r()));
        await dns.promises.lookup('telemetry2.example').catch(() => {});
        await new Promise(r => net.connect(9, '127.0.0.1').on('error', r).on('connect', r));`;
    const out = await run(process.execPath, ['--import', recorder, '--input-type=module', '-e', probe],
        { MCPJAM_RECORD_CONNECTIONS: file }, 10_000);
    assert.equal(out.code, 0, out.stderr);
    const offLoopback = records(file).filter(r => !r.loopback).map(r => `${r.via} ${r.host}`);
    assert.deepEqual(offLoopback.sort(), ['dns telemetry.example', 'dns telemetry2.example', 'fetch 192.0.2.1', 'socket 192.0.2.2']);
    assert.ok(records(file).some(r => r.loopback && r.via === 'socket' && r.host === '127.0.0.1'));
});

test('the MCPJam client adapter contacts nothing off loopback in any world of the client role', async () => {
    assert.ok(fs.existsSync(suite), `suite binary ${suite} missing: cargo build -p mcp-auth-conformance or set MCP_SUITE_BIN`);
    const file = tempFile('connections.jsonl');
    // run.sh keeps this run's report (MCPJAM_LOOPBACK_REPORT_DIR) and compares it with the expectations too.
    const reportDir = process.env.MCPJAM_LOOPBACK_REPORT_DIR || path.join(path.dirname(file), 'report');
    // Telemetry is left to the adapter: the two switches it sets itself are removed from the environment here.
    const env = { MCPJAM_RECORD_CONNECTIONS: file, MCPJAM_TELEMETRY_DISABLED: '', DO_NOT_TRACK: '' };
    const command = `node --import ${recorder} ${path.join(here, 'client.mjs')}`;
    // The adapter's own CIMD document, as run.sh gives it, so this run's report is comparable with the others.
    const metadata = path.join(here, 'client-metadata.json');
    const out = await run(suite, ['client', '--command', command, '--seed', '1', '--client-metadata', metadata,
        '--report-dir', reportDir, '--color', 'never', '--quiet'], env, 300_000);
    assert.ok(fs.existsSync(path.join(reportDir, 'report.json')), `no report (exit ${out.code}): ${out.stderr}`);
    const seen = records(file);
    // The run reached the worlds: every client process connected to its world's servers.
    assert.ok(seen.filter(r => r.via === 'socket').length >= 16, `only ${seen.length} attempts recorded`);
    const offLoopback = [...new Set(seen.filter(r => !r.loopback).map(r => `${r.via} ${r.host}`))];
    assert.deepEqual(offLoopback, [], `attempts off loopback: ${offLoopback.join(', ')}`);
});
