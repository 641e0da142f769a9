// GET /metrics (issue 11): Prometheus text for admin tokens only; request
// counts and latency histograms per route that follow the traffic; events
// and spans ingested; sessions by status equal to the database's; the
// database's size; every line well-formed.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { startServer } from '../lib/server.mjs';
import { createSession, append } from '../lib/fixtures.mjs';
import { agentTrace, traceRequest } from '../lib/otlp.mjs';

/** {name{labels}: value} of a scrape; asserts the format line by line. */
function parse(text) {
  const out = new Map();
  const typed = new Set();
  for (const line of text.trimEnd().split('\n')) {
    if (line.startsWith('# HELP ')) continue;
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      assert.ok(['counter', 'gauge', 'histogram'].includes(type), line);
      typed.add(name);
      continue;
    }
    const m = line.match(/^([a-z_]+)(\{(?:[a-z_]+="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+]+)$/);
    assert.ok(m, `not a sample line: ${line}`);
    const base = m[1].replace(/_(bucket|sum|count)$/, '');
    assert.ok(typed.has(m[1]) || typed.has(base), `no TYPE for ${m[1]}`);
    out.set(m[1] + (m[2] || ''), Number(m[3]));
  }
  return out;
}

describe('GET /metrics', () => {
  let srv, admin, runtime, viewer;
  const scrape = async () => {
    const r = await srv.fetch('/metrics', { headers: { authorization: `Bearer ${admin}` } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    return parse(await r.text());
  };
  before(async () => {
    srv = await startServer();
    admin = await srv.token('admin');
    runtime = await srv.token('runtime');
    viewer = await srv.token('viewer');
  });
  after(async () => { await srv.stop(); });

  it('admin and metrics tokens only; a metrics token reads nothing else', async () => {
    assert.equal((await srv.fetch('/metrics')).status, 401);
    assert.equal((await srv.fetch('/metrics', { headers: { authorization: `Bearer ${viewer}` } })).status, 403);
    assert.equal((await srv.fetch('/metrics', { headers: { authorization: `Bearer ${runtime}` } })).status, 403);
    const scraper = await srv.token('metrics');
    const r = await srv.fetch('/metrics', { headers: { authorization: `Bearer ${scraper}` } });
    assert.equal(r.status, 200);
    assert.match(await r.text(), /^flightdeck_sessions\{status="running"\} \d+$/m);
    for (const p of ['/api/v1/sessions', '/api/v1/tasks', '/api/v1/openapi.json']) {
      const a = await srv.api('GET', p, { token: scraper });
      assert.ok(a.status === 403 || (p.endsWith('openapi.json') && a.status === 200), `${p}: ${a.status}`);
    }
    // Metrics cover every project: a grant on one is not enough.
    const scoped = await srv.token('metrics', { project: 'alpha' });
    assert.equal((await srv.fetch('/metrics', { headers: { authorization: `Bearer ${scoped}` } })).status, 403);
  });

  it('counts requests, latency, ingestion and sessions, and follows the traffic', async () => {
    const m0 = await scrape();
    const key = 'flightdeck_http_requests_total{route="/api/v1/sessions",method="GET",status="200"}';
    for (let i = 0; i < 5; i++) assert.equal((await srv.api('GET', '/api/v1/sessions', { token: viewer })).status, 200);
    const s = await createSession(srv, runtime, { agent: 'metered' });
    await append(srv, runtime, s.id, { events: [{ type: 'thought', content: 'a' }, { type: 'thought', content: 'b' }] });
    const t = agentTrace('ab');
    const o = await srv.fetch('/v1/traces', { method: 'POST', headers: { authorization: `Bearer ${runtime}`, 'content-type': 'application/json' }, body: JSON.stringify(traceRequest(t.spans)) });
    assert.equal(o.status, 200);
    await srv.fetch('/no/such/page');
    const m1 = await scrape();

    assert.equal(m1.get(key) - (m0.get(key) || 0), 5);
    const created = 'flightdeck_http_requests_total{route="/api/v1/sessions",method="POST",status="201"}';
    assert.equal(m1.get(created) - (m0.get(created) || 0), 1);
    assert.ok(m1.get('flightdeck_http_requests_total{route="(none)",method="",status="404"}') >= 1);
    // A histogram: cumulative buckets, +Inf = count, a sum.
    const h = 'flightdeck_http_request_duration_seconds';
    const lbl = 'route="/api/v1/sessions",method="GET"';
    const buckets = [...m1].filter(([k]) => k.startsWith(`${h}_bucket{${lbl},`)).map(([, v]) => v);
    assert.ok(buckets.length >= 10);
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i] >= buckets[i - 1], 'cumulative');
    assert.equal(buckets.at(-1), m1.get(`${h}_count{${lbl}}`));
    assert.ok(m1.get(`${h}_sum{${lbl}}`) > 0);
    // Ingestion.
    const d = (k) => m1.get(`flightdeck_ingested_total{kind="${k}"}`) - m0.get(`flightdeck_ingested_total{kind="${k}"}`);
    assert.equal(d('events'), 2);
    assert.equal(d('spans'), 4);
    // Sessions by status, as the database has them.
    const rows = execFileSync('sqlite3', [srv.dbPath, 'SELECT status, count(*) FROM sessions GROUP BY status'], { encoding: 'utf8' })
      .trim().split('\n').filter(Boolean).map((l) => l.split('|'));
    for (const [status, n] of rows) assert.equal(m1.get(`flightdeck_sessions{status="${status}"}`), Number(n), status);
    assert.equal(m1.get('flightdeck_sessions{status="completed"}'), 1, 'the OTLP session');
    assert.ok(m1.get('flightdeck_database_bytes') > 100000);
    assert.ok(m1.get('flightdeck_database_free_bytes') >= 0);
    assert.equal(m1.get('flightdeck_longpolls_waiting'), 0);
    // The shared connections: this scrape holds one of the default four.
    assert.equal(m1.get('flightdeck_db_connections{state="in_use"}'), 1);
    assert.equal(m1.get('flightdeck_db_connections{state="idle"}'), 3);
    // The WAL as the last commit left it: these appends wrote frames, which
    // the file holds (4 KiB pages, 24-byte frame headers, a 32-byte header).
    const frames = m1.get('flightdeck_wal_frames');
    assert.ok(frames > 0, 'frames after commits');
    assert.ok(fs.statSync(`${srv.dbPath}-wal`).size >= 32 + frames * (4096 + 24));
    assert.ok(m1.get('flightdeck_wal_checkpoints_total{mode="passive"}') >= 0);
    assert.ok(m1.get('flightdeck_wal_checkpoints_total{mode="restart"}') >= 0);
    assert.ok(m1.get('flightdeck_start_time_seconds') > 1.7e9);
  });
});
