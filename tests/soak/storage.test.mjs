// The database when the disk is full or the file is read-only (issue 8):
// writes answer 503 (JSON error "storage_unavailable", Retry-After), reads
// keep working, and writes work again as soon as space or permission is
// back, without a restart of the app; nothing is corrupted.
//
// A full disk is a file size limit on the running app (prlimit
// RLIMIT_FSIZE: every write past 4 KiB of any file fails, as on a full
// disk; the app ignores SIGXFSZ). Read-only is chmod 0444 on the database
// files and a restart of the app (an open file stays writable), run without
// the capability that lets root ignore file modes (setpriv) when the tests
// run as root.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from '../lib/server.mjs';
import { appPids, waitHealthy, waitGone, dbRows } from '../lib/load.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const has = (cmd) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** fetch with a bearer token and JSON; {status, json, headers}. */
async function call(srv, method, p, token, json, cookie) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (cookie) headers.cookie = cookie;
  if (json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(srv.url + p, { method, headers, body: json === undefined ? undefined : JSON.stringify(json), redirect: 'manual' });
  const text = await res.text();
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* a page */
  }
  return { status: res.status, json: parsed, text, headers: res.headers };
}

/** Every write the check makes, each answered 503 storage_unavailable. */
async function assertWritesRefused(srv, runtime, operator, sid, key) {
  const writes = [
    ['POST', `/api/v1/sessions/${sid}/events`, runtime, { id: key, type: 'thought', content: 'while the disk is unusable' }],
    ['POST', '/api/v1/sessions', runtime, { id: `${sid}-new`, agent: 'storage' }],
    ['POST', `/api/v1/sessions/${sid}/pause`, operator, undefined],
    ['POST', `/api/v1/sessions/${sid}/logs`, runtime, { body: 'a log line' }],
  ];
  for (const [m, p, tok, body] of writes) {
    const r = await call(srv, m, p, tok, body);
    assert.equal(r.status, 503, `${m} ${p}: ${r.status} ${r.text}`);
    assert.equal(r.json?.error?.code, 'storage_unavailable', `${m} ${p}: ${r.text}`);
    assert.ok(Number(r.headers.get('retry-after')) > 0, `${m} ${p}: Retry-After`);
    assert.match(r.headers.get('content-type'), /application\/json/);
  }
}

/** Reads that must keep working: the API, a page, health. */
async function assertReadsWork(srv, viewer, cookie, sid, nEvents) {
  const s = await call(srv, 'GET', `/api/v1/sessions/${sid}`, viewer);
  assert.equal(s.status, 200, s.text);
  assert.equal(s.json.status, 'running');
  const ev = await call(srv, 'GET', `/api/v1/sessions/${sid}/events?limit=1000`, viewer);
  assert.equal(ev.status, 200, ev.text);
  assert.equal(ev.json.data.length, nEvents);
  const page = await call(srv, 'GET', `/sessions/${sid}?tab=activity`, null, undefined, cookie);
  assert.equal(page.status, 200, page.text.slice(0, 300));
  const list = await call(srv, 'GET', '/sessions', null, undefined, cookie);
  assert.equal(list.status, 200);
  assert.equal((await call(srv, 'GET', '/healthz')).status, 200);
}

/** Retry a write until it succeeds (2xx) or ms pass; the last answer. */
async function until2xx(fn, ms = 10000) {
  const end = Date.now() + ms;
  let r;
  do {
    r = await fn();
    if (r.status >= 200 && r.status < 300) return r;
    await sleep(200);
  } while (Date.now() < end);
  return r;
}

async function setup(srv, label) {
  const [runtime, operator, viewer] = await Promise.all([srv.token('runtime'), srv.token('operator'), srv.token('viewer')]);
  const web = await srv.login('admin', srv.adminPassword);
  const sid = `storage-${label}`;
  assert.equal((await call(srv, 'POST', '/api/v1/sessions', runtime, { id: sid, agent: 'storage' })).status, 201);
  const events = Array.from({ length: 5 }, (_, i) => ({ id: `${label}-${i}`, type: 'thought', content: `before ${i}` }));
  assert.equal((await call(srv, 'POST', `/api/v1/sessions/${sid}/events`, runtime, { events })).status, 200);
  return { runtime, operator, viewer, cookie: web.jar.header('/sessions'), sid };
}

function integrity(srv) {
  return dbRows(srv.dbPath, 'PRAGMA integrity_check').map((r) => r.integrity_check).join('; ');
}

describe('storage trouble', () => {
  it('a full disk (file size limit): writes 503, reads work, writes again without a restart', { skip: !has('prlimit') && 'no prlimit' }, async () => {
    const srv = await startServer();
    try {
      const { runtime, operator, viewer, cookie, sid } = await setup(srv, 'full');
      const [app] = appPids(srv);
      execFileSync('prlimit', ['--pid', String(app), '--fsize=4096:unlimited']);
      await assertWritesRefused(srv, runtime, operator, sid, 'full-key');
      await assertReadsWork(srv, viewer, cookie, sid, 6); // the first event started it: + 1 lifecycle
      assert.deepEqual(appPids(srv), [app], 'the app is still the same process (SIGXFSZ did not kill it)');

      execFileSync('prlimit', ['--pid', String(app), '--fsize=unlimited:unlimited']);
      const r = await until2xx(() => call(srv, 'POST', `/api/v1/sessions/${sid}/events`, runtime, { id: 'full-key', type: 'thought', content: 'after' }));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.accepted, 1);
      assert.equal((await call(srv, 'POST', '/api/v1/sessions', runtime, { id: `${sid}-new`, agent: 'storage' })).status, 201);
      assert.equal((await call(srv, 'POST', `/api/v1/sessions/${sid}/pause`, operator)).status, 200);
      assert.deepEqual(appPids(srv), [app], 'recovered without a restart');
      assert.equal(integrity(srv), 'ok');
      const keys = dbRows(srv.dbPath, `SELECT client_id FROM events WHERE session_id = '${sid}' AND client_id = 'full-key'`);
      assert.equal(keys.length, 1, 'the refused event was recorded once, by its retry');
    } finally {
      await srv.stop();
    }
  });

  it('a read-only database: writes 503, reads work, writes again without a restart once it is writable', async (t) => {
    const root = process.getuid?.() === 0;
    if (root && !has('setpriv')) return t.skip('root without setpriv: chmod cannot stop root');
    // The app without CAP_DAC_OVERRIDE when we are root, so file modes apply to it.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flightdeck-ro-'));
    const wrapper = path.join(dir, 'app.sh');
    fs.writeFileSync(
      wrapper,
      '#!/bin/sh\nif [ "$(id -u)" = 0 ]; then exec setpriv --bounding-set=-dac_override,-dac_read_search -- "$FD_REAL_APP"; fi\nexec "$FD_REAL_APP"\n',
      { mode: 0o755 },
    );
    const real = path.resolve(process.env.FD_APP || path.join(import.meta.dirname, '..', '..', 'build/san/flightdeck.fcgi'));
    const srv = await startServer({ env: { FD_APP: wrapper, FD_REAL_APP: real } });
    const files = () => ['', '-wal', '-shm'].map((s) => srv.dbPath + s).filter((f) => fs.existsSync(f));
    try {
      const { runtime, operator, viewer, cookie, sid } = await setup(srv, 'ro');
      for (const f of files()) fs.chmodSync(f, 0o444);
      // An open file stays writable: start the app again (lighttpd does).
      const old = appPids(srv);
      for (const p of old) process.kill(p, 'SIGKILL');
      assert.ok(await waitGone(old));
      assert.ok(await waitHealthy(srv), 'the app starts on a read-only database');
      const [app] = appPids(srv);
      assert.ok(app && !old.includes(app), 'a new app process');
      await assertWritesRefused(srv, runtime, operator, sid, 'ro-key');
      await assertReadsWork(srv, viewer, cookie, sid, 6);

      for (const f of files()) fs.chmodSync(f, 0o644);
      const r = await until2xx(() => call(srv, 'POST', `/api/v1/sessions/${sid}/events`, runtime, { id: 'ro-key', type: 'thought', content: 'after' }));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.accepted, 1);
      // Every worker reopens its connection on its next request.
      for (let i = 0; i < 40; i++) {
        const c = await until2xx(() => call(srv, 'POST', `/api/v1/sessions/${sid}/events`, runtime, { id: `ro-after-${i}`, type: 'thought', content: `after ${i}` }), 5000);
        assert.equal(c.status, 200, c.text);
      }
      assert.equal((await call(srv, 'POST', `/api/v1/sessions/${sid}/pause`, operator)).status, 200);
      assert.deepEqual(appPids(srv), [app], 'recovered without a restart');
      assert.equal(integrity(srv), 'ok');
    } finally {
      for (const f of files()) fs.chmodSync(f, 0o644);
      await srv.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
