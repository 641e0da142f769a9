// The access matrix (DESIGN.md section 7), generated: every route that
// `flightdeck routes` prints x every principal x {own project, other project}.
//
// Principals: nobody; a viewer, an operator, an admin and a runtime whose one
// grant is project "alpha"; a metrics scraper and an admin on all projects. API routes are
// called with each principal's API token, page routes with a signed-in user
// of the same role and grant (and its CSRF token on forms).
//
// The expected answer of each cell is derived from ROLE_PERMS below, written
// here independently of cgi/auth.c:
//   no credentials     API 401; page GET 303 to /login; page POST 401
//   role lacks it      403 (permission "admin" needs a grant on all projects:
//                      the admin pages manage every project)
//   session elsewhere  404 where the session (or task) lies in a project the
//                      principal cannot read, even when its role has the
//                      permission (pause/cancel/delete also need read access)
//   otherwise          allowed: not 401/403/404, and the route's own check
//                      (what it answers, what it changed) holds.
// A denied cell must change nothing (checked in the database). Destructive
// cells act on throwaway objects. A route this file has no recipe for is
// still covered by a generic recipe (fill {id} with a session of the
// project, empty body); a permission name the table does not know fails.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, hiddenValue, ROOT } from '../lib/server.mjs';
import { createSession, append, reachStatus, sql, q } from '../lib/fixtures.mjs';

// ------------------------------------------------------------ the model

/** What each role may do (README "Access", docs/decisions.md). */
const ALL_PERMS = ['none', 'pages', 'read', 'write', 'pause', 'cancel', 'delete', 'input', 'runtime', 'admin', 'metrics'];
const ROLE_PERMS = {
  viewer: ['pages', 'read'],
  operator: ['pages', 'read', 'write', 'pause', 'cancel', 'input'],
  admin: ALL_PERMS.filter((p) => p !== 'none'),
  runtime: ['read', 'runtime', 'input'],
  metrics: ['metrics'],
};
/** Permissions that are not about one project: they need an all-projects grant. */
const GLOBAL_PERMS = ['admin', 'metrics'];

const PROJECTS = ['alpha', 'beta'];
const PRINCIPALS = [
  { name: 'none' },
  { name: 'viewer', role: 'viewer', project: 'alpha' },
  { name: 'operator', role: 'operator', project: 'alpha' },
  { name: 'admin@alpha', role: 'admin', project: 'alpha' },
  { name: 'runtime', role: 'runtime', project: 'alpha' },
  { name: 'metrics', role: 'metrics', project: null },
  { name: 'admin@all', role: 'admin', project: null },
];

const roleHas = (p, perm) => perm === 'none' || (!!p.role && ROLE_PERMS[p.role].includes(perm));
const canOn = (p, perm, project) => roleHas(p, perm) && (perm === 'none' || p.project === null || p.project === project);
const canRoute = (p, perm) => roleHas(p, perm) && (perm === 'none' || !GLOBAL_PERMS.includes(perm) || p.project === null);

/** The route table, as the CLI prints it (read when this file loads, so
 *  every route gets its own test). */
const CLI = path.resolve(ROOT, process.env.FD_CLI || 'build/san/flightdeck');
let ROUTES = [];
let routesError = null;
try {
  ROUTES = JSON.parse(execFileSync(CLI, ['routes'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
} catch (e) {
  routesError = e;
}
const keyOf = (r) => `${r.method} ${r.pattern}`;

/** The expected answer of one cell: 'allowed', 401, 'login', 403, 404, or
 *  'item404' / 'item403' (bulk: 200 with that per-id error). */
function expected(route, recipe, p, T) {
  const perms = [route.permission, ...(recipe.extraPerms || [])];
  if (perms.every((x) => x === 'none')) return 'allowed';
  if (!p.role) return route.kind === 'api' || route.method !== 'GET' ? 401 : 'login';
  if (!perms.every((x) => canRoute(p, x))) return 403;
  if (recipe.scope === 'session') {
    if (!canOn(p, 'read', T)) return 404;
    if (!perms.every((x) => canOn(p, x, T))) return 403;
  }
  if (recipe.scope === 'bulk') {
    if (!canOn(p, 'read', T)) return 'item404';
    if (!perms.every((x) => canOn(p, x, T))) return 'item403';
  }
  if (recipe.scope === 'create' && !canOn(p, 'runtime', T)) return 403;
  return 'allowed';
}

// ------------------------------------------------------------ the test

describe('access matrix: every route x principal x project', () => {
  let srv;
  let rt; // runtime token on all projects (fixtures)
  let op; // operator token on all projects (fixtures)
  let targetId; // a throwaway user the admin routes act on
  let adminAll; // the admin@all principal
  const base = {}; // project -> a running session, agent matrix-agent
  const data = {}; // project -> {eid, aid}: base's tool call event and artifact
  const marker = {}; // project -> {id, task}: a task that stays open
  const tmpl = {}; // admin template -> existed when the server started
  let seq = 0;

  const PW = (n) => `pw-${n}-0123456789`;
  /** The CSRF token of a signed-in client, from a page it gets (a runtime
   *  user may not open /sessions, but its 403 page, like every page of a
   *  signed-in user, carries the sign-out form). */
  async function csrfOf(c) {
    const v = hiddenValue((await c.get('/sessions')).text, 'csrf');
    assert.ok(v, 'a signed-in page carries the csrf field');
    return v;
  }

  before(async () => {
    srv = await startServer();
    for (const t of ['admin_users', 'admin_tokens', 'admin_audit']) {
      tmpl[t] = fs.existsSync(path.join(ROOT, 'templates', `${t}.mustache`));
    }
    rt = await srv.token('runtime');
    op = await srv.token('operator');
    await srv.addUser('m-login', PW('m-login'), 'viewer', { project: 'alpha' });
    await srv.addUser('m-target', PW('m-target'), 'viewer', { project: 'alpha' });
    targetId = sql(srv, "SELECT id FROM users WHERE username = 'm-target'")[0].id;
    for (const p of PRINCIPALS) {
      if (!p.role) continue;
      if (p.name === 'admin@all') {
        p.user = 'admin';
        p.pw = srv.adminPassword;
        p.token = await srv.token('admin', { name: 'm-admin-all' });
      } else {
        p.user = `m-${p.role}`;
        p.pw = PW(p.user);
        await srv.addUser(p.user, p.pw, p.role, { project: p.project });
        p.token = await srv.token(p.role, { project: p.project, name: `m-${p.role}-token` });
      }
      p.client = await srv.login(p.user, p.pw);
      p.csrf = await csrfOf(p.client);
    }
    adminAll = PRINCIPALS.find((p) => p.name === 'admin@all');
    for (const T of PROJECTS) {
      base[T] = (await createSession(srv, rt, { project: T, agent: 'matrix-agent', name: `matrix base ${T}`, status: 'running' })).id;
      const s = await createSession(srv, rt, { project: T, agent: 'matrix-tasks', name: `matrix marker ${T}`, status: 'running' });
      const r = await append(srv, rt, s.id, { type: 'tool_call', tool_call_id: 'marker', tool: 'approve', kind: 'manual', arguments: {} });
      marker[T] = { id: s.id, task: r.events[0].id };
      // The base session's data: a tool call with arguments and result, an
      // artifact, a report, an eval run, a log line.
      const tc = await append(srv, rt, base[T], { type: 'tool_call', tool_call_id: 'data-1', tool: 'lookup', kind: 'server', arguments: { q: `matrix ${T}` } });
      await append(srv, rt, base[T], { type: 'tool_result', tool_call_id: 'data-1', result: { rows: [T] } });
      const art = await srv.api('POST', `/api/v1/sessions/${base[T]}/artifacts`, { token: rt, json: { name: `matrix-${T}.txt`, media_type: 'text/plain', content_base64: Buffer.from(`artifact of ${T}`).toString('base64') } });
      assert.equal(art.status, 201, JSON.stringify(art.json));
      const rep = await srv.api('PUT', `/api/v1/sessions/${base[T]}/report`, { token: rt, json: { title: `Report ${T}`, summary: `matrix report of ${T}` } });
      assert.equal(rep.status, 200, JSON.stringify(rep.json));
      data[T] = { eid: tc.events[0].id, aid: art.json.id };
    }
  });

  after(async () => {
    await srv?.stop();
  });

  // -------------------------------------------------------- helpers

  const fresh = (T, status) => reachStatus(srv, rt, op, status, { project: T, agent: 'matrix-fresh', name: `matrix ${status} ${++seq}` });
  const statusOf = (id) => sql(srv, `SELECT status FROM sessions WHERE id = ${q(id)}`)[0]?.status ?? 'gone';
  const eventCount = (id) => sql(srv, `SELECT count(*) AS n FROM events WHERE session_id = ${q(id)}`)[0].n;
  async function freshTask(T) {
    const id = await fresh(T, 'running');
    const tcid = `task${++seq}`;
    const r = await append(srv, rt, id, { type: 'tool_call', tool_call_id: tcid, tool: 'approve', kind: 'manual', arguments: { n: seq } });
    return { id, tcid, task: r.events[0].id };
  }
  const taskState = (c) => sql(srv, `SELECT state FROM tool_calls WHERE session_id = ${q(c.id)} AND id = ${q(c.tcid)}`)[0]?.state;
  const userRow = (id) => sql(srv, `SELECT username, password_hash, disabled FROM users WHERE id = ${id}`)[0];
  /** The kind of the flash cookie a response set ("ok", "error"), or undefined. */
  function flashKind(res) {
    const sc = res.headers.getSetCookie().find((c) => c.startsWith('fd_flash=') && !c.startsWith('fd_flash=;'));
    return sc ? decodeURIComponent(sc.slice('fd_flash='.length).split(';')[0]).split('.')[0] : undefined;
  }
  const flashOk = (res) => {
    assert.equal(res.status, 303, 'a form answers 303');
    assert.equal(flashKind(res), 'ok', `flash is ok (got ${flashKind(res)})`);
  };
  /** Is a session cookie value signed in (a page does not send it to /login)? */
  async function cookieSignedIn(value) {
    const c = srv.client();
    c.jar.set('fd_session', value);
    const r = await c.get('/sessions');
    return !(r.status === 303 && /^\/login/.test(r.location || ''));
  }
  /** Admin page answers: 200 HTML; while its template is still missing, the
   *  app can only answer 500 (then only the access decision is checked). */
  function adminPage(res, t, status = 200) {
    if (!tmpl[t] && res.status === 500) return;
    assert.equal(res.status, status);
    assert.match(res.headers.get('content-type') || '', /^text\/html/);
  }
  async function adminPost(p, form) {
    const r = await adminAll.client.post(p, { ...form, csrf: adminAll.csrf });
    assert.equal(flashKind(r), 'ok', `setup ${p}: ${r.status} ${flashKind(r)}`);
  }
  const pathOf = (route, id) => route.pattern.replace(/\{[^}]+\}/g, encodeURIComponent(String(id)));

  // -------------------------------------------------------- recipes
  // scope: none (no project involved), list (T picks which session must show
  // or not), session (the {id} lies in project T), create (project T in the
  // body), bulk (per-id answers). setup -> ctx; request(ctx) -> {path, json,
  // form}; allowed(res, ctx, p, T) checks an allowed cell; snap(ctx) is the
  // state a denied cell must leave as it was.

  const sessionGet = (check) => ({
    scope: 'session',
    setup: ({ T }) => ({ id: base[T] }),
    allowed: check,
  });
  const apiAction = (status, action, to) => ({
    scope: 'session',
    setup: async ({ T }) => ({ id: await fresh(T, status) }),
    snap: (c) => statusOf(c.id),
    allowed: (res, c) => {
      if (action === 'delete') assert.equal(res.status, 204);
      else {
        assert.equal(res.status, 200);
        assert.equal(res.json.status, to);
      }
      assert.equal(statusOf(c.id), to);
    },
  });
  const pageAction = (status, to) => ({
    scope: 'session',
    setup: async ({ T }) => ({ id: await fresh(T, status) }),
    request: (c, route) => ({ path: pathOf(route, c.id), form: { return_to: '/sessions' } }),
    snap: (c) => statusOf(c.id),
    allowed: (res, c) => {
      flashOk(res);
      assert.equal(res.location, '/sessions');
      assert.equal(statusOf(c.id), to);
    },
  });

  /** A GET under base[T] whose path also names one of its objects. */
  const baseGet = (fill, check) => ({
    scope: 'session',
    setup: ({ T }) => ({ id: base[T], T }),
    request: (c, route) => ({ path: fill(route.pattern.replace('{id}', c.id), c.T) }),
    allowed: check,
  });
  const countOf = (table, id) => sql(srv, `SELECT count(*) AS n FROM ${table} WHERE session_id = ${q(id)}`)[0].n;
  const eventRow = (eid) => sql(srv, `SELECT count(*) AS n, max(hide_reason) AS hide_reason FROM events WHERE id = ${Number(eid)}`)[0];
  /** A fresh running session of project T with one thought: {id, eid}. */
  async function thoughtOf(T) {
    const id = await fresh(T, 'running');
    const r = await append(srv, rt, id, { type: 'thought', content: `matrix thought ${++seq}` });
    return { id, eid: r.events[0].id };
  }
  const shareCount = (id) => sql(srv, `SELECT count(*) AS n FROM share_links WHERE session_id = ${q(id)}`)[0].n;
  /** A share link of base[T] made by the admin, as {token, lid}. */
  async function shareOf(T, expires = '24h') {
    await adminPost(`/sessions/${base[T]}/share`, { expires, return_to: `/sessions/${base[T]}` });
    const lid = sql(srv, `SELECT max(id) AS id FROM share_links WHERE session_id = ${q(base[T])}`)[0].id;
    const page = await adminAll.client.get(`/sessions/${base[T]}`);
    const m = new RegExp(`/share/([A-Za-z0-9_.-]+)`).exec(page.text);
    assert.ok(m, 'the share panel lists the link');
    return { token: m[1], lid };
  }
  const shareGet = (suffix, check) => ({
    // The link is the credential: everyone (signed in or not) gets the same.
    scope: 'none',
    setup: async () => ({ share: await shareOf('alpha') }),
    request: (c) => ({ path: `/share/${c.share.token}${suffix(c)}` }),
    allowed: check,
  });

  const RECIPES = {
    'GET /sessions/{id}/artifacts/{aid}': baseGet((p, T) => p.replace('{aid}', data[T].aid), (res, c) => {
      assert.equal(res.status, 200);
      assert.equal(res.text, `artifact of ${c.T}`);
      assert.match(res.headers.get('content-disposition') || '', /^attachment/);
    }),
    'GET /api/v1/sessions/{id}/artifacts/{aid}': baseGet((p, T) => p.replace('{aid}', data[T].aid), (res, c) => {
      assert.equal(res.status, 200);
      assert.equal(Buffer.from(res.json.content_base64, 'base64').toString(), `artifact of ${c.T}`);
    }),
    'GET /api/v1/sessions/{id}/artifacts/{aid}/download': baseGet((p, T) => p.replace('{aid}', data[T].aid), (res, c) => {
      assert.equal(res.status, 200);
      assert.equal(res.text, `artifact of ${c.T}`);
    }),
    'GET /sessions/{id}/events/{eid}/result': baseGet((p, T) => p.replace('{eid}', data[T].eid), (res, c) => {
      assert.equal(res.status, 200);
      assert.deepEqual(JSON.parse(res.text), { rows: [c.T] });
    }),
    'GET /sessions/{id}/events/{eid}/arguments': baseGet((p, T) => p.replace('{eid}', data[T].eid), (res, c) => {
      assert.equal(res.status, 200);
      assert.deepEqual(JSON.parse(res.text), { q: `matrix ${c.T}` });
    }),
    'GET /sessions/{id}/report': baseGet((p) => `${p}?format=md`, (res, c) => {
      assert.equal(res.status, 200);
      assert.match(res.text, new RegExp(`matrix report of ${c.T}`));
    }),
    'GET /api/v1/sessions/{id}/report': baseGet((p) => p, (res, c) => {
      assert.equal(res.status, 200);
      assert.equal(res.json.summary, `matrix report of ${c.T}`);
    }),
    'POST /sessions/{id}/share': {
      scope: 'session',
      setup: ({ T }) => ({ id: base[T] }),
      request: (c, route) => ({ path: pathOf(route, c.id), form: { expires: '1h', return_to: `/sessions/${c.id}` } }),
      snap: (c) => shareCount(c.id),
      allowed: (res, c) => {
        flashOk(res);
        assert.equal(res.location, `/sessions/${c.id}`);
      },
    },
    'POST /sessions/{id}/share/{lid}/revoke': {
      // The admin's link: its creator or an admin of the project may revoke
      // it, so in a project it may read, a non-admin is refused by the
      // handler (flash error, nothing changed).
      scope: 'session',
      setup: async ({ T }) => ({ id: base[T], ...(await shareOf(T)) }),
      request: (c) => ({ path: `/sessions/${c.id}/share/${c.lid}/revoke`, form: { return_to: `/sessions/${c.id}` } }),
      snap: (c) => sql(srv, `SELECT revoked_at FROM share_links WHERE id = ${c.lid}`)[0].revoked_at,
      allowed: (res, c, p) => {
        assert.equal(res.status, 303);
        const revoked = sql(srv, `SELECT revoked_at FROM share_links WHERE id = ${c.lid}`)[0].revoked_at;
        if (p.role === 'admin') {
          flashOk(res);
          assert.ok(revoked, 'revoked');
        } else {
          assert.equal(flashKind(res), 'error');
          assert.equal(revoked, null, 'not revoked by someone else');
        }
      },
    },
    // ---- API v1 (issue 7): one event, PATCH, logs, data uploads
    'PATCH /api/v1/sessions/{id}': {
      scope: 'session',
      setup: async ({ T }) => ({ id: await fresh(T, 'running'), text: `matrix description ${++seq}` }),
      request: (c, route) => ({ path: pathOf(route, c.id), json: { description: c.text } }),
      snap: (c) => sql(srv, `SELECT description FROM sessions WHERE id = ${q(c.id)}`)[0].description,
      allowed: (res, c) => {
        assert.equal(res.status, 200, res.text);
        assert.equal(res.json.description, c.text);
      },
    },
    'GET /api/v1/sessions/{id}/events/{eid}': baseGet((p, T) => p.replace('{eid}', data[T].eid), (res, c) => {
      assert.equal(res.status, 200);
      assert.equal(res.json.id, data[c.T].eid);
    }),
    'DELETE /api/v1/sessions/{id}/events/{eid}': {
      scope: 'session',
      setup: ({ T }) => thoughtOf(T),
      request: (c) => ({ path: `/api/v1/sessions/${c.id}/events/${c.eid}` }),
      snap: (c) => eventRow(c.eid).n,
      allowed: (res, c) => {
        assert.equal(res.status, 204);
        assert.equal(eventRow(c.eid).n, 0, 'the event is gone');
      },
    },
    'POST /api/v1/sessions/{id}/events/{eid}/hide': {
      scope: 'session',
      setup: ({ T }) => thoughtOf(T),
      request: (c) => ({ path: `/api/v1/sessions/${c.id}/events/${c.eid}/hide`, json: {} }),
      snap: (c) => eventRow(c.eid).hide_reason,
      allowed: (res, c) => {
        assert.equal(res.status, 200);
        assert.equal(eventRow(c.eid).hide_reason, 'manual');
      },
    },
    'POST /api/v1/sessions/{id}/events/{eid}/unhide': {
      scope: 'session',
      setup: async ({ T }) => {
        const c = await thoughtOf(T);
        const h = await srv.api('POST', `/api/v1/sessions/${c.id}/events/${c.eid}/hide`, { token: op });
        assert.equal(h.status, 200);
        return c;
      },
      request: (c) => ({ path: `/api/v1/sessions/${c.id}/events/${c.eid}/unhide`, json: {} }),
      snap: (c) => eventRow(c.eid).hide_reason,
      allowed: (res, c) => {
        assert.equal(res.status, 200);
        assert.equal(eventRow(c.eid).hide_reason, null);
      },
    },
    'POST /api/v1/sessions/{id}/logs': {
      scope: 'session',
      setup: ({ T }) => ({ id: base[T] }),
      request: (c, route) => ({ path: pathOf(route, c.id), json: { severity: 'info', body: 'matrix log line' } }),
      snap: (c) => countOf('logs', c.id),
      allowed: (res) => {
        assert.equal(res.status, 201);
        assert.equal(res.json.accepted, 1);
      },
    },
    'POST /api/v1/sessions/{id}/artifacts': {
      scope: 'session',
      setup: ({ T }) => ({ id: base[T] }),
      request: (c, route) => ({ path: pathOf(route, c.id), json: { name: 'matrix.bin', content_base64: 'AAEC' } }),
      snap: (c) => countOf('artifacts', c.id),
      allowed: (res) => assert.equal(res.status, 201),
    },
    'POST /api/v1/sessions/{id}/evals': {
      scope: 'session',
      setup: ({ T }) => ({ id: base[T] }),
      request: (c, route) => ({ path: pathOf(route, c.id), json: { eval_id: 'matrix-eval', state: 'passed' } }),
      snap: (c) => countOf('eval_runs', c.id),
      allowed: (res) => assert.equal(res.status, 201),
    },
    'PUT /api/v1/sessions/{id}/report': {
      scope: 'session',
      setup: ({ T }) => ({ id: base[T], text: `matrix report of ${T}` }),
      request: (c, route) => ({ path: pathOf(route, c.id), json: { title: `Report`, summary: c.text } }),
      snap: (c) => sql(srv, `SELECT report FROM sessions WHERE id = ${q(c.id)}`)[0].report,
      allowed: (res) => assert.equal(res.status, 200),
    },
    'GET /api/v1/sessions/{id}/artifacts': sessionGet((res) => {
      assert.equal(res.status, 200);
      assert.ok(res.json.data.length >= 1);
    }),
    'GET /api/v1/sessions/{id}/logs': sessionGet((res) => {
      assert.equal(res.status, 200);
      assert.ok(Array.isArray(res.json.data));
    }),
    'GET /api/v1/sessions/{id}/evals': sessionGet((res) => {
      assert.equal(res.status, 200);
      assert.ok(Array.isArray(res.json.data));
    }),
    'GET /share/{token}': shareGet(() => '', (res) => {
      assert.equal(res.status, 200);
      assert.match(res.text, /matrix base alpha/);
      assert.doesNotMatch(res.text, /action="\/sessions\/[^"]*\/(pause|cancel|delete)"/, 'no actions on a share page');
    }),
    'GET /share/{token}/report': shareGet(() => '/report?format=md', (res) => {
      assert.equal(res.status, 200);
      assert.match(res.text, /matrix report of alpha/);
    }),
    'GET /share/{token}/artifacts/{aid}': shareGet(() => `/artifacts/${data.alpha.aid}`, (res) => {
      assert.equal(res.status, 200);
      assert.equal(res.text, 'artifact of alpha');
    }),
    'GET /share/{token}/events/{eid}/result': shareGet(() => `/events/${data.alpha.eid}/result`, (res) => {
      assert.equal(res.status, 200);
      assert.deepEqual(JSON.parse(res.text), { rows: ['alpha'] });
    }),
    'GET /share/{token}/events/{eid}/arguments': shareGet(() => `/events/${data.alpha.eid}/arguments`, (res) => {
      assert.equal(res.status, 200);
      assert.deepEqual(JSON.parse(res.text), { q: 'matrix alpha' });
    }),
    'GET /healthz': {
      scope: 'none',
      allowed: (res) => {
        assert.equal(res.status, 200);
        assert.equal(res.json.status, 'ok');
      },
    },
    'GET /': {
      scope: 'none',
      allowed: (res) => {
        assert.equal(res.status, 303);
        assert.equal(res.location, '/sessions');
      },
    },
    'GET /login': {
      scope: 'none',
      allowed: (res) => {
        assert.equal(res.status, 200);
        assert.match(res.text, /type="password"/);
      },
    },
    'POST /login': {
      // A real sign-in (as m-login) from a client carrying the principal's
      // cookie: the sign-in form needs no permission.
      scope: 'none',
      send: async (p) => {
        const c = srv.client();
        if (p.client) c.jar.set('fd_session', p.client.jar.get('fd_session'));
        const page = await c.get('/login');
        const old = c.jar.get('fd_session');
        const r = await c.post('/login', { csrf: hiddenValue(page.text, 'csrf'), username: 'm-login', password: PW('m-login'), next: '/tasks' });
        return { ...r, old, now: c.jar.get('fd_session') };
      },
      allowed: (res) => {
        assert.equal(res.status, 303);
        assert.equal(res.location, '/tasks');
        assert.ok(res.now && res.now !== res.old, 'a new session cookie');
      },
    },
    'POST /logout': {
      // Each signed-in principal signs out a sign-in of its own made for
      // this cell, so the principal's client stays signed in.
      scope: 'none',
      setup: async ({ p }) => {
        if (!p.role) return {};
        const c = await srv.login(p.user, p.pw);
        return { c, csrf: await csrfOf(c), cookie: c.jar.get('fd_session') };
      },
      send: (p, c) => (c.c ? c.c.post('/logout', { csrf: c.csrf }) : srv.client().post('/logout', {})),
      snap: async (c) => (c.cookie ? cookieSignedIn(c.cookie) : null),
      allowed: async (res, c) => {
        assert.equal(res.status, 303);
        assert.equal(res.location, '/login');
        assert.equal(await cookieSignedIn(c.cookie), false, 'the old cookie no longer signs in');
      },
    },
    'GET /sessions': {
      scope: 'list',
      request: () => ({ path: '/sessions?agent=matrix-agent&limit=100' }),
      allowed: (res, c, p, T) => {
        assert.equal(res.status, 200);
        assert.equal(res.text.includes(`href="/sessions/${base[T]}"`), canOn(p, 'read', T), `the ${T} session is listed iff readable`);
      },
    },
    'GET /sessions/{id}': sessionGet((res, c) => {
      assert.equal(res.status, 200);
      assert.ok(res.text.includes(c.id));
    }),
    'POST /sessions/{id}/pause': pageAction('running', 'paused'),
    'POST /sessions/{id}/resume': pageAction('paused', 'running'),
    'POST /sessions/{id}/cancel': pageAction('running', 'canceled'),
    'POST /sessions/{id}/delete': pageAction('completed', 'gone'),
    'GET /tasks': {
      scope: 'list',
      allowed: (res, c, p, T) => {
        assert.equal(res.status, 200);
        assert.equal(res.text.includes(`/sessions/${marker[T].id}"`), canOn(p, 'read', T), `the ${T} task is listed iff readable`);
      },
    },
    'POST /tasks/{id}/complete': {
      scope: 'session',
      setup: ({ T }) => freshTask(T),
      request: (c, route) => ({ path: pathOf(route, c.task), form: { decision: 'complete', result: '{"ok":true}' } }),
      snap: taskState,
      allowed: (res, c) => {
        flashOk(res);
        assert.equal(taskState(c), 'succeeded');
      },
    },
    'GET /admin': {
      scope: 'none',
      allowed: (res) => {
        assert.equal(res.status, 303);
        assert.equal(res.location, '/admin/users');
      },
    },
    'GET /admin/users': { scope: 'none', allowed: (res) => adminPage(res, 'admin_users') },
    'POST /admin/users': {
      scope: 'none',
      setup: () => ({ name: `mx${++seq}` }),
      request: (c) => ({ path: '/admin/users', form: { username: c.name, password: 'throwaway-pw-1', role: 'viewer', project: 'alpha' } }),
      snap: (c) => sql(srv, `SELECT count(*) AS n FROM users WHERE username = ${q(c.name)}`)[0].n,
      allowed: (res, c) => {
        flashOk(res);
        assert.equal(sql(srv, `SELECT count(*) AS n FROM users WHERE username = ${q(c.name)}`)[0].n, 1);
      },
    },
    'POST /admin/users/{id}/password': {
      scope: 'none',
      setup: () => ({ id: targetId, pw: `new-pw-${++seq}-xyz` }),
      request: (c) => ({ path: `/admin/users/${c.id}/password`, form: { password: c.pw } }),
      snap: (c) => userRow(c.id).password_hash,
      allowed: (res, c) => {
        flashOk(res);
        assert.match(userRow(c.id).password_hash, /^\$argon2id\$/);
      },
    },
    'POST /admin/users/{id}/disable': {
      scope: 'none',
      setup: async () => {
        if (userRow(targetId).disabled) await adminPost(`/admin/users/${targetId}/enable`, {});
        assert.equal(userRow(targetId).disabled, 0);
        return { id: targetId };
      },
      snap: (c) => userRow(c.id).disabled,
      allowed: (res, c) => {
        flashOk(res);
        assert.equal(userRow(c.id).disabled, 1);
      },
    },
    'POST /admin/users/{id}/enable': {
      scope: 'none',
      setup: async () => {
        if (!userRow(targetId).disabled) await adminPost(`/admin/users/${targetId}/disable`, {});
        assert.equal(userRow(targetId).disabled, 1);
        return { id: targetId };
      },
      snap: (c) => userRow(c.id).disabled,
      allowed: (res, c) => {
        flashOk(res);
        assert.equal(userRow(c.id).disabled, 0);
      },
    },
    'POST /admin/users/{id}/grants': {
      scope: 'none',
      setup: () => ({ id: targetId, project: `g${++seq}` }),
      request: (c) => ({ path: `/admin/users/${c.id}/grants`, form: { role: 'viewer', project: c.project } }),
      snap: (c) => sql(srv, `SELECT count(*) AS n FROM grants WHERE user_id = ${c.id} AND project = ${q(c.project)}`)[0].n,
      allowed: (res, c) => {
        flashOk(res);
        assert.equal(sql(srv, `SELECT count(*) AS n FROM grants WHERE user_id = ${c.id} AND project = ${q(c.project)}`)[0].n, 1);
      },
    },
    'POST /admin/grants/{id}/revoke': {
      scope: 'none',
      setup: async () => {
        const project = `r${++seq}`;
        await srv.cli(['user', 'grant', 'm-target', '--role', 'viewer', '--project', project]);
        return { id: sql(srv, `SELECT id FROM grants WHERE user_id = ${targetId} AND project = ${q(project)}`)[0].id };
      },
      snap: (c) => sql(srv, `SELECT count(*) AS n FROM grants WHERE id = ${c.id}`)[0].n,
      allowed: (res, c) => {
        flashOk(res);
        assert.equal(sql(srv, `SELECT count(*) AS n FROM grants WHERE id = ${c.id}`)[0].n, 0);
      },
    },
    'GET /admin/tokens': { scope: 'none', allowed: (res) => adminPage(res, 'admin_tokens') },
    'POST /admin/tokens': {
      scope: 'none',
      setup: () => ({ name: `mt${++seq}` }),
      request: (c) => ({ path: '/admin/tokens', form: { name: c.name, role: 'viewer', project: 'alpha' } }),
      snap: (c) => sql(srv, `SELECT count(*) AS n FROM api_tokens WHERE name = ${q(c.name)}`)[0].n,
      allowed: (res, c) => {
        adminPage(res, 'admin_tokens', 201);
        if (res.status === 201) assert.match(res.text, /fdt_[A-Za-z0-9]{40}/, 'the new token is shown');
        assert.equal(sql(srv, `SELECT count(*) AS n FROM api_tokens WHERE name = ${q(c.name)}`)[0].n, 1);
      },
    },
    'POST /admin/tokens/{id}/revoke': {
      scope: 'none',
      setup: async () => {
        const name = `mr${++seq}`;
        await srv.token('viewer', { name });
        return { id: sql(srv, `SELECT id FROM api_tokens WHERE name = ${q(name)}`)[0].id };
      },
      snap: (c) => sql(srv, `SELECT revoked_at FROM api_tokens WHERE id = ${c.id}`)[0].revoked_at,
      allowed: (res, c) => {
        flashOk(res);
        assert.notEqual(sql(srv, `SELECT revoked_at FROM api_tokens WHERE id = ${c.id}`)[0].revoked_at, null);
      },
    },
    'GET /admin/retention': { scope: 'none', allowed: (res) => adminPage(res, 'admin_retention') },
    'POST /admin/retention': {
      scope: 'none',
      setup: () => ({ project: `rp${++seq}` }),
      request: (c) => ({ path: '/admin/retention', form: { project: c.project, keep_days: '30' } }),
      snap: (c) => sql(srv, `SELECT count(*) AS n FROM retention_rules WHERE project = ${q(c.project)}`)[0].n,
      allowed: (res, c) => {
        flashOk(res);
        assert.equal(sql(srv, `SELECT keep_days FROM retention_rules WHERE project = ${q(c.project)}`)[0].keep_days, 30);
      },
    },
    'POST /admin/retention/{project}/clear': {
      scope: 'none',
      setup: async () => {
        const project = `rc${++seq}`;
        await srv.cli(['retention', 'set', project, '--days', '3']);
        return { project };
      },
      request: (c) => ({ path: `/admin/retention/${c.project}/clear`, form: {} }),
      snap: (c) => sql(srv, `SELECT count(*) AS n FROM retention_rules WHERE project = ${q(c.project)}`)[0].n,
      allowed: (res, c) => {
        flashOk(res);
        assert.equal(sql(srv, `SELECT count(*) AS n FROM retention_rules WHERE project = ${q(c.project)}`)[0].n, 0);
      },
    },
    'GET /api/v1/retention': {
      scope: 'none',
      allowed: (res) => {
        assert.equal(res.status, 200);
        assert.ok(Array.isArray(JSON.parse(res.text).rules));
      },
    },
    'PUT /api/v1/retention/{project}': {
      scope: 'none',
      setup: () => ({ project: `ra${++seq}` }),
      request: (c) => ({ path: `/api/v1/retention/${c.project}`, json: { keep_days: 7 } }),
      snap: (c) => sql(srv, `SELECT count(*) AS n FROM retention_rules WHERE project = ${q(c.project)}`)[0].n,
      allowed: (res, c) => {
        assert.equal(res.status, 200);
        assert.equal(sql(srv, `SELECT keep_days FROM retention_rules WHERE project = ${q(c.project)}`)[0].keep_days, 7);
      },
    },
    'DELETE /api/v1/retention/{project}': {
      scope: 'none',
      setup: async () => {
        const project = `rd${++seq}`;
        await srv.cli(['retention', 'set', project, '--days', '3']);
        return { project };
      },
      request: (c) => ({ path: `/api/v1/retention/${c.project}` }),
      snap: (c) => sql(srv, `SELECT count(*) AS n FROM retention_rules WHERE project = ${q(c.project)}`)[0].n,
      allowed: (res, c) => {
        assert.equal(res.status, 204);
        assert.equal(sql(srv, `SELECT count(*) AS n FROM retention_rules WHERE project = ${q(c.project)}`)[0].n, 0);
      },
    },
    'GET /admin/audit': { scope: 'none', allowed: (res) => adminPage(res, 'admin_audit') },

    'POST /api/v1/sessions': {
      scope: 'create',
      setup: () => ({ agent: `matrix-created-${++seq}` }),
      request: (c, route, T) => ({ path: '/api/v1/sessions', json: { agent: c.agent, name: 'created by the matrix', project: T } }),
      snap: (c) => sql(srv, `SELECT count(*) AS n FROM sessions WHERE agent = ${q(c.agent)}`)[0].n,
      allowed: (res, c, p, T) => {
        assert.equal(res.status, 201);
        assert.equal(res.json.project, T);
        assert.equal(res.headers.get('location'), `/api/v1/sessions/${res.json.id}`);
      },
    },
    'GET /api/v1/sessions': {
      scope: 'list',
      request: () => ({ path: '/api/v1/sessions?agent=matrix-agent&limit=200' }),
      allowed: (res, c, p, T) => {
        assert.equal(res.status, 200);
        assert.equal(res.json.data.some((s) => s.id === base[T]), canOn(p, 'read', T), `the ${T} session is listed iff readable`);
        for (const s of res.json.data) assert.ok(canOn(p, 'read', s.project), `lists only readable projects (got ${s.project})`);
      },
    },
    'GET /api/v1/sessions/{id}': sessionGet((res, c) => {
      assert.equal(res.status, 200);
      assert.equal(res.json.id, c.id);
    }),
    'POST /api/v1/sessions/{id}/events': {
      scope: 'session',
      setup: ({ T }) => ({ id: base[T] }),
      request: (c, route) => ({ path: pathOf(route, c.id), json: { type: 'thought', content: 'matrix thought' } }),
      snap: (c) => eventCount(c.id),
      allowed: (res) => {
        assert.equal(res.status, 200);
        assert.equal(res.json.accepted, 1);
      },
    },
    'GET /api/v1/sessions/{id}/events': sessionGet((res) => {
      assert.equal(res.status, 200);
      assert.ok(Array.isArray(res.json.data));
    }),
    'DELETE /api/v1/sessions/{id}': apiAction('completed', 'delete', 'gone'),
    'POST /api/v1/sessions/{id}/pause': apiAction('running', 'pause', 'paused'),
    'POST /api/v1/sessions/{id}/resume': apiAction('paused', 'resume', 'running'),
    'POST /api/v1/sessions/{id}/cancel': apiAction('running', 'cancel', 'canceled'),
    'POST /api/v1/sessions/bulk': {
      // The route needs read; each id needs what its action needs (pause here).
      scope: 'bulk',
      extraPerms: ['pause'],
      setup: async ({ T }) => ({ id: await fresh(T, 'running') }),
      request: (c) => ({ path: '/api/v1/sessions/bulk', json: { action: 'pause', ids: [c.id] } }),
      snap: (c) => statusOf(c.id),
      allowed: (res, c) => {
        assert.equal(res.status, 200);
        assert.equal(res.json.results[0].ok, true, JSON.stringify(res.json));
        assert.equal(statusOf(c.id), 'paused');
      },
    },
    'GET /api/v1/sessions/{id}/control': sessionGet((res) => {
      assert.equal(res.status, 200);
      assert.equal(res.json.status, 'running');
    }),
    'POST /api/v1/sessions/{id}/input': {
      scope: 'session',
      setup: ({ T }) => ({ id: base[T] }),
      request: (c, route) => ({ path: pathOf(route, c.id), json: { type: 'message', content: 'matrix input' } }),
      snap: (c) => eventCount(c.id),
      allowed: (res) => {
        assert.equal(res.status, 200);
        assert.equal(res.json.accepted, 1);
      },
    },
    'GET /api/v1/sessions/{id}/client-tool-calls': sessionGet((res) => {
      assert.equal(res.status, 200);
      assert.ok(Array.isArray(res.json.data));
    }),
    'GET /api/v1/tasks': {
      scope: 'list',
      allowed: (res, c, p, T) => {
        assert.equal(res.status, 200);
        assert.equal(res.json.data.some((t) => t.id === marker[T].task), canOn(p, 'read', T), `the ${T} task is listed iff readable`);
      },
    },
    'POST /api/v1/tasks/{id}/complete': {
      scope: 'session',
      setup: ({ T }) => freshTask(T),
      request: (c, route) => ({ path: pathOf(route, c.task), json: { result: { ok: true } } }),
      snap: taskState,
      allowed: (res, c) => {
        assert.equal(res.status, 200);
        assert.equal(taskState(c), 'succeeded');
      },
    },
  };

  /** A route without a recipe: {id} is a session of the project, the body empty. */
  function genericRecipe(route) {
    const scoped = /\/sessions\/\{id\}/.test(route.pattern);
    return {
      generic: true,
      scope: scoped ? 'session' : 'none',
      setup: ({ T }) => ({ id: base[T] }),
      request: (c) => ({
        path: pathOf(route, scoped ? c.id : '1'),
        json: route.kind === 'api' && route.method !== 'GET' && route.method !== 'DELETE' ? {} : undefined,
        form: {},
      }),
    };
  }

  // -------------------------------------------------------- the runner

  async function send(route, p, req) {
    if (route.kind === 'api') {
      const r = await srv.api(route.method, req.path, { token: p.token, json: req.json });
      return { status: r.status, json: r.json, text: r.text, headers: r.headers, location: r.headers.get('location') };
    }
    const c = p.client || srv.client();
    const form = route.method === 'GET' ? undefined : { ...(req.form || {}), ...(p.csrf ? { csrf: p.csrf } : {}) };
    const r = await c.request(route.method, req.path, { form });
    let json;
    try {
      json = JSON.parse(r.text);
    } catch {
      json = undefined;
    }
    return { ...r, json };
  }

  function checkDenied(exp, res, route) {
    const code = res.json?.error?.code;
    switch (exp) {
      case 401:
        assert.equal(res.status, 401, 'status');
        if (route.kind === 'api') {
          assert.equal(code, 'unauthorized');
          assert.match(res.headers.get('www-authenticate') || '', /^Bearer/);
        }
        break;
      case 'login':
        assert.equal(res.status, 303, 'status');
        assert.match(res.location || '', /^\/login\?next=/);
        break;
      case 403:
        assert.equal(res.status, 403, 'status');
        if (route.kind === 'api') assert.equal(code, 'forbidden');
        break;
      case 404:
        assert.equal(res.status, 404, 'status');
        if (route.kind === 'api') assert.equal(code, 'not_found');
        break;
      case 'item404':
      case 'item403':
        assert.equal(res.status, 200, 'status');
        assert.equal(res.json.results[0].ok, false);
        assert.equal(res.json.results[0].error.code, exp === 'item404' ? 'not_found' : 'forbidden');
        break;
      default:
        assert.fail(`unknown expectation ${exp}`);
    }
  }

  /** What an answer says, shortly: the JSON error, or the error page's text. */
  function brief(res) {
    if (res.json?.error) return `${res.json.error.code}: ${res.json.error.message}`;
    const m = /<p class="error-text">([^<]*)</.exec(res.text || '');
    return m ? m[1] : (res.text || '').replace(/\s+/g, ' ').slice(0, 100);
  }

  /** One cell; '' when it behaved, else what went wrong. */
  async function cell(route, recipe, p, T) {
    const exp = expected(route, recipe, p, T);
    const ctx = recipe.setup ? await recipe.setup({ T, p, will: exp === 'allowed' }) : {};
    const before = recipe.snap ? await recipe.snap(ctx) : undefined;
    const req = recipe.request ? recipe.request(ctx, route, T) : { path: pathOf(route, ctx.id ?? '1') };
    const res = recipe.send ? await recipe.send(p, ctx) : await send(route, p, req);
    try {
      if (exp === 'allowed') {
        assert.ok(![401, 403].includes(res.status), `refused with ${res.status}`);
        if (recipe.scope === 'session') assert.notEqual(res.status, 404, 'a readable session answered 404');
        if (recipe.allowed) await recipe.allowed(res, ctx, p, T);
        else assert.ok(res.status !== 404 || recipe.generic, 'answered 404');
      } else {
        checkDenied(exp, res, route);
        if (recipe.snap) assert.deepEqual(await recipe.snap(ctx), before, 'a refused request changed something');
      }
      return '';
    } catch (e) {
      const body = brief(res);
      return `${p.name} / ${T}: expected ${exp}, got ${res.status}${res.location ? ` -> ${res.location}` : ''}: ${e.message.split('\n')[0]} [${body}]`;
    }
  }

  it('the route table is printed and every permission in it is in ROLE_PERMS', () => {
    assert.equal(routesError, null, `flightdeck routes failed: ${routesError?.message}`);
    assert.ok(ROUTES.length >= 30, `routes printed: ${ROUTES.length}`);
    for (const r of ROUTES) {
      assert.ok(ALL_PERMS.includes(r.permission), `${keyOf(r)} needs "${r.permission}", which this test's role table does not know: add it to ROLE_PERMS`);
      assert.ok(['api', 'page'].includes(r.kind), `${keyOf(r)}: kind ${r.kind}`);
      assert.equal(typeof r.form, 'boolean');
      // Page forms are what CSRF protects; the API never takes cookies.
      if (r.kind === 'api') assert.equal(r.form, false, `${keyOf(r)}: an API route is no form`);
    }
  });

  it('every recipe of this file names a route that exists', () => {
    const keys = new Set(ROUTES.map(keyOf));
    assert.deepEqual(Object.keys(RECIPES).filter((k) => !keys.has(k)), [], 'recipes for routes that are gone or renamed');
  });

  for (const route of ROUTES) {
    it(`${keyOf(route)} (${route.permission}, ${route.kind})`, async (t) => {
      const recipe = RECIPES[keyOf(route)] || genericRecipe(route);
      if (recipe.generic) t.diagnostic(`no recipe for ${keyOf(route)}: covered by the generic one`);
      const problems = [];
      for (const p of PRINCIPALS) {
        for (const T of PROJECTS) {
          const why = await cell(route, recipe, p, T);
          if (why) problems.push(why);
        }
      }
      assert.deepEqual(problems, [], `${keyOf(route)}:\n  ${problems.join('\n  ')}`);
    });
  }
});
