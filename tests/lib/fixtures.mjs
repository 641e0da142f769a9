// Small helpers over the JSON API shared by the HTTP and browser tests.
import assert from 'node:assert/strict';

/** POST /api/v1/sessions; asserts 201 and returns the session JSON. */
export async function createSession(srv, token, body = {}) {
  const r = await srv.api('POST', '/api/v1/sessions', { token, json: body });
  assert.equal(r.status, 201, `create session: ${r.status} ${r.text}`);
  return r.json;
}

/** POST /api/v1/sessions/{id}/events with one event or {events:[...]}; asserts 200. */
export async function append(srv, token, id, body) {
  const r = await srv.api('POST', `/api/v1/sessions/${encodeURIComponent(id)}/events`, { token, json: body });
  assert.equal(r.status, 200, `append ${JSON.stringify(body).slice(0, 200)}: ${r.status} ${r.text}`);
  return r.json;
}

/** Every session the token can read (up to 200), newest first. */
export async function listSessions(srv, token) {
  const r = await srv.api('GET', '/api/v1/sessions?limit=200', { token });
  assert.equal(r.status, 200, `list sessions: ${r.status} ${r.text}`);
  assert.ok(Array.isArray(r.json.data), 'list has data[]');
  return r.json.data;
}

/** Every event of a session (hidden ones too), in order. */
export async function listEvents(srv, token, id) {
  const r = await srv.api('GET', `/api/v1/sessions/${encodeURIComponent(id)}/events?limit=1000&include_hidden=1`, { token });
  assert.equal(r.status, 200, `list events: ${r.status} ${r.text}`);
  assert.ok(Array.isArray(r.json.data), 'events list has data[]');
  return r.json.data;
}

/** GET /api/v1/sessions/{id}; asserts 200. */
export async function getSession(srv, token, id, query = '') {
  const r = await srv.api('GET', `/api/v1/sessions/${encodeURIComponent(id)}${query}`, { token });
  assert.equal(r.status, 200, `get session: ${r.status} ${r.text}`);
  return r.json;
}

/** POST /api/v1/sessions/{id}/pause|resume|cancel as `token`; asserts 200, returns the answer. */
export async function act(srv, token, id, action) {
  const r = await srv.api('POST', `/api/v1/sessions/${encodeURIComponent(id)}/${action}`, { token });
  assert.equal(r.status, 200, `${action} ${id}: ${r.status} ${r.text}`);
  assert.equal(r.json.id, id);
  return r.json;
}

/** The ids of /sessions/{id} links in the order a page shows them (tbody rows). */
export function sessionLinks(html) {
  const body = html.slice(Math.max(0, html.indexOf('<tbody')));
  const ids = [];
  for (const m of body.matchAll(/href="\/sessions\/([A-Za-z0-9_-]+)"/g)) {
    if (!ids.includes(m[1])) ids.push(m[1]);
  }
  return ids;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Poll fn (may be async) every 50 ms until it returns something truthy, or
 *  ms pass: its last value (falsy on time-out, for the caller to assert). */
export async function until(fn, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > end) return v;
    await sleep(50);
  }
}

// ------------------------------------------------------------ lifecycle
// Helpers for the lifecycle tests (tests/http/lifecycle*.test.mjs, tasks,
// races, longpoll; tests/browser/actions.test.mjs). (Imports are hoisted.)
import { execFileSync } from 'node:child_process';

/** POST /api/v1/sessions/{id}/events without asserting the answer. */
export function sendEvents(srv, token, id, body) {
  return srv.api('POST', `/api/v1/sessions/${encodeURIComponent(id)}/events`, { token, json: body });
}

/** An operator action without asserting: pause|resume|cancel (POST) or delete (DELETE). */
export function tryAction(srv, token, id, action) {
  const p = `/api/v1/sessions/${encodeURIComponent(id)}`;
  return action === 'delete' ? srv.api('DELETE', p, { token }) : srv.api('POST', `${p}/${action}`, { token });
}

/** Rows of `sql` from the test server's database, opened read-only with the
 *  sqlite3 CLI (WAL: sees every committed write). Values are inlined with q(). */
export function sql(srv, query) {
  const out = execFileSync('sqlite3', ['-readonly', '-json', '-cmd', '.timeout 5000', srv.dbPath, query], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return out.trim() ? JSON.parse(out) : [];
}

/** An SQL string literal. */
export function q(s) {
  return `'${String(s).replace(/'/g, "''")}'`;
}

/** Terminal statuses (DESIGN.md section 4). */
export const TERMINAL = ['completed', 'failed', 'canceled'];
export const STATUSES = ['pending', 'running', 'retrying', 'pausing', 'paused', 'canceling', 'canceled', 'completed', 'failed'];

/** The transition table of DESIGN.md section 4 as edges action -> [[from, to]]
 *  (the names are those lifecycle events carry in body.action). */
export const LIFECYCLE_EDGES = (() => {
  const e = {
    start: [['pending', 'running']],
    pause: [],
    resume: [['paused', 'running']],
    cancel: [],
    retry: [['running', 'retrying']],
    recover: [['retrying', 'running']],
    complete: ['running', 'retrying', 'pausing'].map((f) => [f, 'completed']),
    fail: STATUSES.filter((s) => !TERMINAL.includes(s)).map((f) => [f, 'failed']),
    settle: [['pausing', 'paused'], ['canceling', 'canceled']],
    continue: [['completed', 'running'], ['failed', 'running']],
  };
  for (const f of ['running', 'retrying']) e.pause.push([f, 'pausing'], [f, 'paused']);
  for (const f of ['pending', 'running', 'retrying', 'paused']) e.cancel.push([f, 'canceling'], [f, 'canceled']);
  return e;
})();

/** Is (action, from, to) an edge of the table? */
export function legalStep(action, from, to) {
  return (LIFECYCLE_EDGES[action] || []).some(([f, t]) => f === from && t === to);
}

/** The lifecycle events of an event list as [{seq, action, from, to, actor, detail}]. */
export function lifecycleSteps(events) {
  return events
    .filter((e) => e.type === 'lifecycle')
    .map((e) => ({ seq: e.seq, action: e.data.action, from: e.data.from, to: e.data.to, actor: e.data.actor, detail: e.data.detail }));
}

/** Assert the lifecycle steps are a legal walk of the table from `pending`
 *  that ends in `finalStatus`. `label` names the session in messages. */
export function assertLegalWalk(steps, finalStatus, label = '') {
  const path = steps.map((s) => `${s.from} -${s.action}-> ${s.to}`).join(', ');
  let cur = 'pending';
  for (const s of steps) {
    assert.equal(s.from, cur, `${label}: a step starts where the previous ended: ${path}`);
    assert.ok(legalStep(s.action, s.from, s.to), `${label}: illegal step ${s.from} -${s.action}-> ${s.to} in: ${path}`);
    cur = s.to;
  }
  assert.equal(cur, finalStatus, `${label}: the walk ends in the final status: ${path}`);
}

/** Assert the audit rows of a session (other than create/delete) say exactly
 *  what its lifecycle events say, in the same order. */
export function assertAuditMatches(srv, id, steps, label = '') {
  const rows = sql(srv, `SELECT action, from_status, to_status, actor FROM audit WHERE session_id = ${q(id)} AND action NOT IN ('create','delete') ORDER BY id`);
  assert.deepEqual(
    rows.map((r) => [r.action, r.from_status, r.to_status, r.actor]),
    steps.map((s) => [s.action, s.from, s.to, s.actor]),
    `${label}: audit rows match the lifecycle events`,
  );
}

/** The status in effect when each event was recorded (from the lifecycle
 *  events before it): [{event, status}]. */
export function statusAtEachEvent(events) {
  let cur = 'pending';
  const out = [];
  for (const e of events) {
    out.push({ event: e, status: cur });
    if (e.type === 'lifecycle') cur = e.data.to;
  }
  return out;
}

/**
 * A new session brought to `status` through the real protocol: runtime
 * events and status events, operator actions, and (for pausing/canceling)
 * a server tool call left executing, id `inflight`. Returns the session id.
 */
export async function reachStatus(srv, runtime, operator, status, body = {}) {
  const s = await createSession(srv, runtime, { agent: 'lifecycle-test', name: `reach ${status}`, ...body });
  const id = s.id;
  const ev = (b) => append(srv, runtime, id, b);
  const start = () => ev({ type: 'user_message', content: 'start' });
  switch (status) {
    case 'pending':
      break;
    case 'running':
      await start();
      break;
    case 'retrying':
      await start();
      await ev({ type: 'status', status: 'retrying', error: 'target unreachable' });
      break;
    case 'pausing':
    case 'canceling':
      await start();
      await ev({ type: 'tool_call', tool_call_id: 'inflight', tool: 'slow_tool', kind: 'server', arguments: { n: 1 } });
      assert.equal((await act(srv, operator, id, status === 'pausing' ? 'pause' : 'cancel')).status, status);
      break;
    case 'paused':
    case 'canceled':
      await start();
      assert.equal((await act(srv, operator, id, status === 'paused' ? 'pause' : 'cancel')).status, status);
      break;
    case 'completed':
      await start();
      await ev({ type: 'status', status: 'completed', response: 'done' });
      break;
    case 'failed':
      await start();
      await ev({ type: 'status', status: 'failed', error: 'boom', step: 'work' });
      break;
    default:
      throw new Error(`reachStatus: unknown status ${status}`);
  }
  assert.equal((await getSession(srv, operator, id)).status, status, `reached ${status}`);
  return id;
}

/** What a session looks like from outside: GET session (minus a live duration) and every event. */
export async function snapshot(srv, token, id) {
  const session = await getSession(srv, token, id);
  // The duration of a session that has not ended grows by the clock, not by writes.
  if (session.end_time === null) delete session.duration;
  return { session, events: await listEvents(srv, token, id) };
}
