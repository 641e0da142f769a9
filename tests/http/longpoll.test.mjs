// The control long-poll (DESIGN.md section 5; README "GET .../control"): a
// runtime learns of a pause, resume or cancel within two seconds; the poll
// answers at once when the status it knows is already stale; the wait is
// capped (25 s); and many waiting runtimes never starve browser requests:
// with FLIGHTDECK_WORKERS=8 and 100 long-polls at once, pages and /healthz
// still answer quickly, the polls beyond the slot limit are answered at once
// with Retry-After: 1, and every poll ends with a 200.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { createSession, append, act, reachStatus, sleep } from '../lib/fixtures.mjs';

const CAP_S = 25; // CONTROL_MAX_S in cgi/h_actions.c, documented in the README

/** GET control as `token`; resolves {status, json, headers, ms} (ms from the call). */
async function control(srv, token, id, query, { timeoutMs = 35000 } = {}) {
  const t0 = Date.now();
  const res = await srv.fetch(`/api/v1/sessions/${id}/control${query ? `?${query}` : ''}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers, ms: Date.now() - t0, end: Date.now() };
}

describe('control long-poll', () => {
  let srv, runtime, operator, admin, viewer;
  let capPoll, capSession; // the 25 s cap runs alongside the other tests

  before(async () => {
    srv = await startServer();
    runtime = await srv.token('runtime');
    operator = await srv.token('operator');
    admin = await srv.token('admin');
    viewer = await srv.token('viewer');
    capSession = await reachStatus(srv, runtime, operator, 'running');
    // Nobody touches this session: the poll can only end by the cap.
    capPoll = control(srv, runtime, capSession, 'status=running&wait=3600', { timeoutMs: (CAP_S + 10) * 1000 });
  });
  after(async () => {
    await capPoll?.catch(() => {});
    await srv?.stop();
  });

  it('without a known status: answers at once with status, seq and whether tool calls may start', async () => {
    const id = await reachStatus(srv, runtime, operator, 'running');
    const r = await control(srv, runtime, id, 'wait=10');
    assert.equal(r.status, 200, r.text);
    assert.ok(r.ms < 1000, `${r.ms} ms`);
    assert.equal(r.json.status, 'running');
    assert.equal(typeof r.json.seq, 'number');
    assert.equal(r.json.tool_calls_allowed, true);
  });

  it('returns within 2 s of an operator pausing (status=running&wait=10)', async () => {
    const id = await reachStatus(srv, runtime, operator, 'running');
    const poll = control(srv, runtime, id, 'status=running&wait=10');
    await sleep(400); // the poll is waiting now
    const tPause = Date.now();
    await act(srv, operator, id, 'pause');
    const r = await poll;
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'paused');
    assert.equal(r.json.tool_calls_allowed, false);
    const lag = r.end - tPause;
    assert.ok(lag < 2000, `answered ${lag} ms after the pause`);
    assert.ok(r.ms >= 350, `it waited for the change (${r.ms} ms)`);
    // ... and the same for resume and for cancel.
    for (const [action, known, want] of [['resume', 'paused', 'running'], ['cancel', 'running', 'canceled']]) {
      const p = control(srv, runtime, id, `status=${known}&wait=10`);
      await sleep(300);
      const t = Date.now();
      await act(srv, operator, id, action);
      const x = await p;
      assert.equal(x.json.status, want);
      assert.ok(x.end - t < 2000, `${action}: ${x.end - t} ms`);
    }
  });

  it('returns at once when the status it knows is stale', async () => {
    const id = await reachStatus(srv, runtime, operator, 'paused');
    for (const known of ['running', 'pausing', 'pending']) {
      const r = await control(srv, runtime, id, `status=${known}&wait=10`);
      assert.equal(r.status, 200);
      assert.equal(r.json.status, 'paused');
      assert.ok(r.ms < 1000, `status=${known}: ${r.ms} ms`);
    }
    // A seq older than the newest event is stale too.
    const r = await control(srv, runtime, id, 'status=paused&seq=0&wait=10');
    assert.ok(r.ms < 1000, `seq=0: ${r.ms} ms`);
    assert.ok(r.json.seq > 0);
  });

  it('wakes on a new event (a completed task) when it knows the seq', async () => {
    const id = await reachStatus(srv, runtime, operator, 'running');
    const a = await append(srv, runtime, id, { type: 'tool_call', tool_call_id: 'm', tool: 'approve', kind: 'manual' });
    const seq = a.events[0].seq;
    const poll = control(srv, runtime, id, `status=running&seq=${seq}&wait=10`);
    await sleep(300);
    const t = Date.now();
    const done = await srv.api('POST', `/api/v1/tasks/${a.events[0].id}/complete`, { token: operator, json: { result: 'yes' } });
    assert.equal(done.status, 200, done.text);
    const r = await poll;
    assert.equal(r.json.status, 'running');
    assert.ok(r.json.seq > seq, 'a newer event exists');
    assert.ok(r.end - t < 2000, `${r.end - t} ms`);
  });

  it('waits the whole wait when nothing changes, and answers 404 when the session is deleted meanwhile', async () => {
    const id = await reachStatus(srv, runtime, operator, 'completed');
    const r = await control(srv, runtime, id, 'status=completed&wait=1');
    assert.equal(r.status, 200);
    assert.equal(r.json.status, 'completed');
    assert.ok(r.ms >= 900 && r.ms < 3000, `wait=1 took ${r.ms} ms`);
    assert.equal(r.headers.get('retry-after'), null, 'it held a slot (slots are released)');
    const poll = control(srv, runtime, id, 'status=completed&wait=10');
    await sleep(300);
    const t = Date.now();
    assert.equal((await srv.api('DELETE', `/api/v1/sessions/${id}`, { token: admin })).status, 204);
    const g = await poll;
    assert.equal(g.status, 404, g.text);
    assert.ok(g.end - t < 2000, `${g.end - t} ms`);
  });

  it('bad parameters: 400; a viewer: 403; an unknown session: 404', async () => {
    const id = await reachStatus(srv, runtime, operator, 'running');
    for (const qy of ['wait=-1', 'wait=abc', 'wait=1.5', 'status=running&seq=x']) {
      const r = await control(srv, runtime, id, qy);
      assert.equal(r.status, 400, `${qy}: ${r.text}`);
      assert.equal(r.json.error.code, 'invalid_parameter');
    }
    assert.equal((await control(srv, viewer, id, 'wait=1')).status, 403);
    assert.equal((await control(srv, runtime, 'ses_missing', 'wait=1')).status, 404);
  });

  it('100 long-polls on FLIGHTDECK_WORKERS=8: pages and /healthz answer quickly; polls past the slots get Retry-After: 1; all end 200', async (t) => {
    // A server of its own, with 8 workers (so 4 long-poll slots).
    const srv = await startServer({ env: { FLIGHTDECK_WORKERS: '8' } });
    try {
      await hundredPolls(srv, t);
    } finally {
      await srv.stop();
    }
  });

  it('db_connections=1: waiting long-polls hold no database connection; every other request still gets the one there is', async () => {
    const srv = await startServer({ env: { FLIGHTDECK_WORKERS: '8', FLIGHTDECK_DB_CONNECTIONS: '1' } });
    try {
      await parkedPolls(srv);
    } finally {
      await srv.stop();
    }
  });

  it(`caps the wait at ${CAP_S} s (wait=3600 on a session nobody touches)`, async () => {
    const r = await capPoll;
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'running');
    assert.ok(r.ms >= (CAP_S - 1) * 1000 && r.ms < (CAP_S + 4) * 1000, `answered after ${r.ms} ms`);
  });
});

/** The 100-poll scenario against `srv` (FLIGHTDECK_WORKERS=8). */
async function hundredPolls(srv, t) {
  const runtime = await srv.token('runtime');
  const operator = await srv.token('operator');
  const web = await srv.login('admin', srv.adminPassword);
  const ids = [];
  for (let i = 0; i < 10; i++) {
    const s = await createSession(srv, runtime, { agent: 'poller', name: `poller ${i}`, status: 'running' });
    ids.push(s.id);
  }
  const N = 100;
  const polls = Array.from({ length: N }, (_, i) => control(srv, runtime, ids[i % ids.length], 'status=running&wait=20', { timeoutMs: 30000 }));
  await sleep(700); // let them arrive and take their slots

  // Pages and health, one after another and a few at once.
  const timed = async (f) => {
    const t0 = Date.now();
    const r = await f();
    return { status: r.status, ms: Date.now() - t0 };
  };
  const checks = [];
  for (let k = 0; k < 3; k++) {
    checks.push(['GET /sessions', await timed(() => web.get('/sessions'))]);
    checks.push(['GET /healthz', await timed(() => srv.fetch('/healthz'))]);
  }
  const together = await Promise.all([
    timed(() => web.get('/sessions')),
    timed(() => web.get(`/sessions/${ids[0]}`)),
    timed(() => srv.fetch('/healthz')),
    timed(() => srv.api('GET', '/api/v1/sessions', { token: operator })),
  ]);
  checks.push(...together.map((x, i) => [['GET /sessions', 'GET /sessions/{id}', 'GET /healthz', 'GET /api/v1/sessions'][i], x]));
  for (const [what, r] of checks) {
    assert.equal(r.status, 200, what);
    assert.ok(r.ms < 1000, `${what} took ${r.ms} ms with ${N} long-polls waiting`);
  }
  t.diagnostic(`slowest page/health answer: ${Math.max(...checks.map(([, r]) => r.ms))} ms`);

  // Wake the held ones: pause every session.
  const tPause = Date.now();
  for (const id of ids) await act(srv, operator, id, 'pause');
  const rs = await Promise.all(polls);
  for (const r of rs) assert.equal(r.status, 200, r.text);
  const immediate = rs.filter((r) => r.headers.get('retry-after') === '1');
  const held = rs.filter((r) => r.headers.get('retry-after') === null);
  t.diagnostic(`${immediate.length} answered at once with Retry-After: 1, ${held.length} held`);
  assert.ok(immediate.length >= N - 8, `most polls were answered at once (${immediate.length})`);
  assert.ok(held.length >= 1 && held.length <= 4, `at most FLIGHTDECK_WORKERS/2 = 4 held a slot (${held.length})`);
  for (const r of immediate) {
    assert.equal(r.json.status, 'running', 'answered before the pause, with the status as it was');
    assert.ok(r.end < tPause, 'answered before the pause');
  }
  for (const r of held) {
    assert.equal(r.json.status, 'paused', 'the held polls saw the pause');
    assert.ok(r.end - tPause < 2000, `held poll answered ${r.end - tPause} ms after the pauses began`);
  }
  // The slots were given back: a new poll holds again.
  const again = await control(srv, runtime, ids[0], 'status=paused&wait=1');
  assert.equal(again.headers.get('retry-after'), null, 'slots released');
  assert.ok(again.ms >= 900, `${again.ms} ms`);
}

/** Three control long-polls and a /changes long-poll wait on a server with
 * one database connection (dbpool.h); while they wait, reads, metrics and
 * an append are answered, which they could not be if a waiting poll kept
 * the connection; then every poll ends with a 200. */
async function parkedPolls(srv) {
  const runtime = await srv.token('runtime');
  const operator = await srv.token('operator');
  const admin = await srv.token('admin');
  const web = await srv.login('admin', srv.adminPassword);
  const ids = [];
  for (let i = 0; i < 4; i++) {
    const s = await createSession(srv, runtime, { agent: 'parked', name: `parked ${i}`, status: 'running' });
    ids.push(s.id);
  }
  const settled = new Set();
  const track = (name, p) => p.then((r) => { settled.add(name); return r; });
  const polls = ids.slice(0, 3).map((id, i) => track(`control ${i}`, control(srv, runtime, id, 'status=running&wait=20', { timeoutMs: 30000 })));
  const tok = JSON.parse((await web.get('/changes')).text).token;
  const changes = track('changes', web.get(`/changes?since=${encodeURIComponent(tok)}&wait=20`));
  await sleep(700); // all four are waiting now

  const m = await srv.fetch('/metrics', { headers: { authorization: `Bearer ${admin}` } });
  const text = await m.text();
  assert.equal(m.status, 200, text);
  const metric = (name) => Number(new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
  assert.equal(metric('flightdeck_longpolls_waiting'), 4, 'four polls wait');
  assert.equal(metric('flightdeck_db_connections{state="in_use"}'), 1, 'the one connection is this scrape\'s');
  assert.equal(metric('flightdeck_db_connections{state="idle"}'), 0);
  for (const [what, f] of [
    ['GET /api/v1/sessions', () => srv.api('GET', '/api/v1/sessions', { token: operator })],
    ['GET /sessions', () => web.get('/sessions')],
    ['GET /healthz', () => srv.fetch('/healthz')],
  ]) {
    const r = await f();
    assert.equal(r.status, 200, what);
  }
  // (Any commit, a token's first use included, may end the /changes wait;
  // the control polls end only on their session's change.)
  assert.deepEqual([...settled].filter((n) => n.startsWith('control')), [], 'the control polls still wait');
  const a = await append(srv, runtime, ids[3], { type: 'thought', content: 'while the polls wait' });
  assert.equal(a.accepted, 1);
  const ch = await changes;
  assert.equal(ch.status, 200);
  assert.equal(JSON.parse(ch.text).changed, true, 'the append ended the /changes wait at the latest');
  for (const id of ids.slice(0, 3)) await act(srv, operator, id, 'pause');
  for (const r of await Promise.all(polls)) {
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'paused', 'each poll came back on a connection and read the pause');
  }
}
