// The admin pages over HTTP (README "Access": /admin/users, /admin/tokens,
// /admin/audit). As the admin, through the forms the pages carry (fields and
// CSRF taken from the HTML, as a browser would send them): add a user, grant
// and revoke a role, set the password, disable and enable, create a token
// (the 201 page shows it once, a reload never again) and revoke it. Each
// change takes effect at once and is in the audit log. Everyone else gets
// 403 on every /admin route (taken from `flightdeck routes`), and nothing
// changes; a project-scoped admin may not hand out all projects.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, parseForms, hiddenValue, htmlDecode, ROOT } from '../lib/server.mjs';
import { createSession, sql } from '../lib/fixtures.mjs';

const CLI = path.resolve(ROOT, process.env.FD_CLI || 'build/san/flightdeck');
let ADMIN_ROUTES = [];
try {
  ADMIN_ROUTES = JSON.parse(execFileSync(CLI, ['routes'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })).filter((r) => r.pattern.startsWith('/admin'));
} catch {
  ADMIN_ROUTES = [];
}
const TEMPLATES = ['admin_users', 'admin_tokens', 'admin_audit'];

describe('admin pages', () => {
  let srv, admin, rt, betaSession;
  const alice = { name: 'adm-alice', pw: 'alice-first-password' };

  before(async () => {
    const missing = TEMPLATES.filter((t) => !fs.existsSync(path.join(ROOT, 'templates', `${t}.mustache`)));
    assert.deepEqual(missing, [], 'the admin templates exist');
    srv = await startServer();
    rt = await srv.token('runtime');
    admin = await srv.login('admin', srv.adminPassword);
    betaSession = (await createSession(srv, rt, { project: 'beta', name: 'Beta for alice', status: 'running' })).id;
  });
  after(async () => {
    await srv?.stop();
  });

  /** GET a page as `c`; asserts 200 HTML. */
  async function open(c, p) {
    const r = await c.get(p);
    assert.equal(r.status, 200, `GET ${p}: ${r.status}`);
    assert.match(r.headers.get('content-type'), /^text\/html/);
    return r.text;
  }
  /** The form whose action is `action` (string or RegExp) in html. */
  function formOf(html, action) {
    const f = parseForms(html).find((x) => (typeof action === 'string' ? x.action === action : action.test(x.action)));
    assert.ok(f, `a form posting to ${action}`);
    assert.equal(f.method, 'post');
    return f;
  }
  /** Submit a form as a browser does: its hidden fields, then `fields`
   *  (every name must be a field of the form). */
  async function submit(c, form, fields = {}) {
    const body = {};
    for (const i of form.inputs) if (i.type === 'hidden') body[i.name] = i.value;
    for (const [k, v] of Object.entries(fields)) {
      assert.ok(form.inputs.some((i) => i.name === k), `the form ${form.action} has a field ${k}`);
      body[k] = v;
    }
    assert.ok(body.csrf, `the form ${form.action} carries its csrf`);
    return c.post(form.action, body);
  }
  /** The <tr> of user or token `name` on an admin page. */
  function rowOf(html, name) {
    const rows = html.match(/<tr\b[\s\S]*?<\/tr>/g) || [];
    const row = rows.find((r) => r.includes(`>${name}<`));
    assert.ok(row, `a row for ${name}`);
    return row;
  }
  /** Follow a form's 303 and return the page with its flash. */
  async function landed(c, res, where, kind = 'ok') {
    assert.equal(res.status, 303, `the form answers 303 (got ${res.status})`);
    assert.equal(res.location, where);
    const html = await open(c, where);
    const flash = /<div class="flash flash-(\w+)"[\s\S]*?<p class="flash-message">([^<]*)</.exec(html);
    assert.ok(flash, 'a flash message');
    assert.equal(flash[1], kind, `flash ${flash[1]}: ${flash[2]}`);
    return { html, message: htmlDecode(flash[2]) };
  }
  const signedIn = async (c) => {
    const r = await c.get('/sessions');
    return !(r.status === 303 && /^\/login/.test(r.location || ''));
  };

  it('/admin leads to the users page; the nav marks Admin', async () => {
    const r = await admin.get('/admin');
    assert.equal(r.status, 303);
    assert.equal(r.location, '/admin/users');
    const html = await open(admin, '/admin/users');
    assert.match(html, /<a href="\/admin"/);
    for (const t of ['/admin/users', '/admin/tokens', '/admin/audit']) assert.match(html, new RegExp(`href="${t}"`));
  });

  it('add a user through the form: listed with its role, and it can sign in', async () => {
    const html = await open(admin, '/admin/users');
    const form = formOf(html, '/admin/users');
    const r = await submit(admin, form, { username: alice.name, password: alice.pw, role: 'viewer', project: 'alpha' });
    const { html: after, message } = await landed(admin, r, '/admin/users');
    assert.match(message, new RegExp(alice.name));
    const row = rowOf(after, alice.name);
    assert.match(row, /grant-role">viewer</);
    assert.match(row, /grant-project">alpha</);
    alice.id = Number(/\/admin\/users\/(\d+)\/password/.exec(row)[1]);
    assert.equal(sql(srv, `SELECT username FROM users WHERE id = ${alice.id}`)[0].username, alice.name);
    alice.client = await srv.login(alice.name, alice.pw);
    assert.equal((await alice.client.get(`/sessions/${betaSession}`)).status, 404, 'viewer on alpha: beta is hidden');
    // A bad name is refused with a message, nothing added.
    const bad = await submit(admin, formOf(after, '/admin/users'), { username: 'no spaces allowed', password: 'whatever-123', role: 'viewer', project: '' });
    await landed(admin, bad, '/admin/users', 'error');
    assert.equal(sql(srv, "SELECT count(*) AS n FROM users WHERE username = 'no spaces allowed'")[0].n, 0);
  });

  it('grant a role on another project, then revoke it: effective at once for the signed-in user', async () => {
    let html = await open(admin, '/admin/users');
    const grant = formOf(rowOf(html, alice.name), `/admin/users/${alice.id}/grants`);
    const r = await submit(admin, grant, { role: 'operator', project: 'beta' });
    ({ html } = await landed(admin, r, '/admin/users'));
    const row = rowOf(html, alice.name);
    assert.match(row, /role-operator[\s\S]*?grant-project">beta</);
    assert.equal((await alice.client.get(`/sessions/${betaSession}`)).status, 200, 'alice reads beta at once');
    const gid = sql(srv, `SELECT id FROM grants WHERE user_id = ${alice.id} AND role = 'operator' AND project = 'beta'`)[0].id;
    const revoke = formOf(row, `/admin/grants/${gid}/revoke`);
    ({ html } = await landed(admin, await submit(admin, revoke), '/admin/users'));
    assert.doesNotMatch(rowOf(html, alice.name), /grant-project">beta</);
    assert.equal((await alice.client.get(`/sessions/${betaSession}`)).status, 404, 'and no longer once revoked');
    assert.equal(await signedIn(alice.client), true, 'her sign-in itself goes on');
  });

  it('set the password: her sign-ins end, the new password works, the old one not', async () => {
    const html = await open(admin, '/admin/users');
    const form = formOf(rowOf(html, alice.name), `/admin/users/${alice.id}/password`);
    const pw = 'alice-second-password';
    await landed(admin, await submit(admin, form, { password: pw }), '/admin/users');
    assert.equal(await signedIn(alice.client), false, 'signed out');
    assert.equal((await srv.login(alice.name, alice.pw, { expectFail: true })).response.status, 401, 'old password');
    alice.pw = pw;
    alice.client = await srv.login(alice.name, alice.pw);
    // Too short: refused with a message, the password unchanged.
    const hash = sql(srv, `SELECT password_hash FROM users WHERE id = ${alice.id}`)[0].password_hash;
    const short = await submit(admin, formOf(rowOf(await open(admin, '/admin/users'), alice.name), `/admin/users/${alice.id}/password`), { password: 'short' });
    await landed(admin, short, '/admin/users', 'error');
    assert.equal(sql(srv, `SELECT password_hash FROM users WHERE id = ${alice.id}`)[0].password_hash, hash);
    assert.equal(await signedIn(alice.client), true);
  });

  it('disable and enable: signed out and kept out, then let back in', async () => {
    let html = await open(admin, '/admin/users');
    ({ html } = await landed(admin, await submit(admin, formOf(rowOf(html, alice.name), `/admin/users/${alice.id}/disable`)), '/admin/users'));
    const row = rowOf(html, alice.name);
    assert.match(row, /Disabled/);
    assert.equal(await signedIn(alice.client), false, 'signed out at once');
    assert.equal((await srv.login(alice.name, alice.pw, { expectFail: true })).response.status, 401, 'cannot sign in');
    await landed(admin, await submit(admin, formOf(row, `/admin/users/${alice.id}/enable`)), '/admin/users');
    alice.client = await srv.login(alice.name, alice.pw);
    assert.equal(await signedIn(alice.client), true);
    // The admin's own row offers no disable.
    const me = sql(srv, "SELECT id FROM users WHERE username = 'admin'")[0].id;
    assert.ok(!parseForms(rowOf(html, 'admin')).some((f) => f.action === `/admin/users/${me}/disable`), 'no disable for yourself');
  });

  it('create a token: the 201 page shows it once; a reload does not; it works; revoke it', async () => {
    const html = await open(admin, '/admin/tokens');
    const r = await submit(admin, formOf(html, '/admin/tokens'), { name: 'adm-token', role: 'viewer', project: 'alpha', expires_days: '30' });
    assert.equal(r.status, 201, 'the creating POST answers the page itself');
    assert.equal(r.location, null, 'no redirect');
    assert.equal(r.headers.get('cache-control'), 'no-store');
    const token = /<input\b[^>]*id="new-token-value"[^>]*value="(fdt_[A-Za-z0-9]{40})"/.exec(r.text)?.[1];
    assert.ok(token, 'the new token is on the page');
    assert.ok(!r.headers.getSetCookie().some((s) => s.includes(token)), 'not in a cookie');
    assert.equal((await srv.api('GET', '/api/v1/sessions', { token })).status, 200, 'it works');
    // Shown once: a reload of the tokens page (and any other page) never has it.
    const again = await open(admin, '/admin/tokens');
    assert.ok(!again.includes(token), 'a reload does not show the token');
    assert.ok(!again.includes(token.slice(4, 20)), 'not even a part of it');
    const row = rowOf(again, 'adm-token');
    assert.match(row, /badge-active/);
    assert.match(row, /grant-role">viewer<[\s\S]*grant-project">alpha</);
    const tid = sql(srv, "SELECT id FROM api_tokens WHERE name = 'adm-token'")[0].id;
    const { html: after } = await landed(admin, await submit(admin, formOf(row, `/admin/tokens/${tid}/revoke`)), '/admin/tokens');
    assert.match(rowOf(after, 'adm-token'), /badge-revoked/);
    assert.equal((await srv.api('GET', '/api/v1/sessions', { token })).status, 401, 'revoked: 401 at once');
    const audit = await open(admin, '/admin/audit');
    assert.ok(!audit.includes(token), 'the audit log never holds the token');
  });

  it('every change is in the audit log, by the admin, and the filters find it', async () => {
    const html = await open(admin, '/admin/audit');
    const rows = (html.match(/<tr\b[\s\S]*?<\/tr>/g) || []).slice(1);
    const entries = rows.map((r) => ({
      actor: /<td class="col-actor">([^<]*)</.exec(r)?.[1],
      action: /<span class="chip audit-action[^"]*">([^<]*)</.exec(r)?.[1],
      detail: htmlDecode(/<td class="col-detail">([\s\S]*?)<\/td>/.exec(r)?.[1] || ''),
    }));
    const want = ['user_create', 'grant', 'revoke', 'password_reset', 'user_disable', 'user_enable', 'token_create', 'token_revoke'];
    for (const action of want) {
      const e = entries.find((x) => x.action === action && x.actor === 'user:admin');
      assert.ok(e, `an audit entry ${action} by user:admin (got ${JSON.stringify(entries.map((x) => `${x.actor} ${x.action}`))})`);
    }
    assert.ok(entries.some((e) => e.action === 'user_create' && e.detail.includes(alice.name)), 'the detail names the user');
    assert.ok(entries.some((e) => e.action === 'grant' && /operator/.test(e.detail) && /beta/.test(e.detail)), 'the detail names the role and project');
    assert.ok(!html.includes('alice-first-password') && !html.includes('alice-second-password'), 'no password in the audit');
    // Filters: by action, by actor.
    const f = await open(admin, '/admin/audit?action=token_revoke');
    const actions = [...f.matchAll(/<span class="chip audit-action[^"]*">([^<]*)</g)].map((m) => m[1]);
    assert.deepEqual([...new Set(actions)], ['token_revoke']);
    const byActor = await open(admin, `/admin/audit?actor=${encodeURIComponent(`user:${alice.name}`)}`);
    const actors = [...byActor.matchAll(/<td class="col-actor">([^<]*)</g)].map((m) => m[1]);
    assert.ok(actors.length > 0 && actors.every((a) => a === `user:${alice.name}`), 'her sign-ins, only hers');
  });

  it('everyone else gets 403 on every /admin route, and nothing changes', async () => {
    assert.ok(ADMIN_ROUTES.length >= 10, `admin routes from flightdeck routes: ${ADMIN_ROUTES.length}`);
    const who = [];
    for (const role of ['viewer', 'operator', 'runtime']) {
      const name = `adm-${role}`;
      await srv.addUser(name, `${role}-password-1`, role);
      const c = await srv.login(name, `${role}-password-1`);
      who.push({ name, c, csrf: hiddenValue((await c.get('/sessions')).text, 'csrf') });
    }
    const target = alice.id;
    const gid = sql(srv, `SELECT id FROM grants WHERE user_id = ${target} LIMIT 1`)[0].id;
    await srv.token('viewer', { name: 'adm-victim-token' });
    const tid = sql(srv, "SELECT id FROM api_tokens WHERE name = 'adm-victim-token'")[0].id;
    const bodies = {
      '/admin/users': { username: 'adm-sneaky', password: 'sneaky-password', role: 'admin', project: '' },
      '/admin/users/{id}/password': { password: 'sneaky-password' },
      '/admin/users/{id}/grants': { role: 'admin', project: '' },
      '/admin/tokens': { name: 'adm-sneaky-token', role: 'admin', project: '' },
    };
    const ids = { '/admin/grants/{id}/revoke': gid, '/admin/tokens/{id}/revoke': tid };
    const dump = () => execFileSync('sqlite3', ['-readonly', '-cmd', '.timeout 5000', srv.dbPath, 'SELECT * FROM users; SELECT * FROM grants; SELECT id, name, revoked_at FROM api_tokens; SELECT count(*) FROM audit;'], { encoding: 'utf8' });
    const before = dump();
    const problems = [];
    for (const r of ADMIN_ROUTES) {
      const p = r.pattern.replace('{id}', String(ids[r.pattern] ?? target));
      for (const u of who) {
        const res = r.method === 'GET' ? await u.c.get(p) : await u.c.post(p, { ...(bodies[r.pattern] || {}), csrf: u.csrf });
        if (res.status !== 403) problems.push(`${u.name} ${r.method} ${p}: ${res.status}`);
      }
      const anon = srv.client();
      const res = r.method === 'GET' ? await anon.get(p) : await anon.post(p, bodies[r.pattern] || {});
      const okAnon = r.method === 'GET' ? res.status === 303 && /^\/login\?next=/.test(res.location || '') : res.status === 401;
      if (!okAnon) problems.push(`nobody ${r.method} ${p}: ${res.status} ${res.location || ''}`);
    }
    assert.deepEqual(problems, []);
    assert.equal(dump(), before, 'nothing changed');
  });

  it('a project-scoped admin cannot give anyone all projects (nor itself)', async () => {
    await srv.addUser('adm-alpha-admin', 'alpha-admin-password', 'admin', { project: 'alpha' });
    const c = await srv.login('adm-alpha-admin', 'alpha-admin-password');
    const csrf = hiddenValue((await c.get('/sessions')).text, 'csrf');
    const me = sql(srv, "SELECT id FROM users WHERE username = 'adm-alpha-admin'")[0].id;
    const made = await c.post('/admin/users', { csrf, username: 'adm-escalated', password: 'escalated-password', role: 'admin', project: '' });
    const self = await c.post(`/admin/users/${me}/grants`, { csrf, role: 'admin', project: '' });
    const tok = await c.post('/admin/tokens', { csrf, name: 'adm-escalated-token', role: 'admin', project: '' });
    const got = {
      user: sql(srv, "SELECT count(*) AS n FROM users WHERE username = 'adm-escalated'")[0].n,
      selfGrant: sql(srv, `SELECT count(*) AS n FROM grants WHERE user_id = ${me} AND project IS NULL`)[0].n,
      token: sql(srv, "SELECT count(*) AS n FROM api_tokens WHERE name = 'adm-escalated-token'")[0].n,
    };
    assert.deepEqual(got, { user: 0, selfGrant: 0, token: 0 }, `an admin of project alpha made all-projects admins (answers ${made.status}, ${self.status}, ${tok.status})`);
  });
});
