// CSRF (DESIGN.md section 7: "every state-changing form carries a CSRF
// token"; docs/decisions.md: the token is bound to the sign-in; the sign-in
// form uses a double-submit token).
//
// For EVERY page route that `flightdeck routes` marks form=true, an admin
// (who may do everything, so a 403 can only be the CSRF check) posts a valid
// form with the csrf field missing, wrong, another user's, the admin's own
// from another sign-in, and only in the query string: each answers 403 and
// the database is byte-for-byte the same (a full dump before and after).
// Then the same form with the right token does change it, so the refusals
// are the CSRF check and not a broken form.
// The sign-in form without its double-submit token (or with a mismatched
// one) answers 403, sets no session cookie and creates no web session.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startServer, hiddenValue, dbDump, ROOT } from '../lib/server.mjs';
import { append, reachStatus, sql, q } from '../lib/fixtures.mjs';

const CLI = path.resolve(ROOT, process.env.FD_CLI || 'build/san/flightdeck');
let FORMS = [];
let routesError = null;
try {
  const all = JSON.parse(execFileSync(CLI, ['routes'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  FORMS = all.filter((r) => r.kind === 'page' && r.form);
} catch (e) {
  routesError = e;
}

describe('CSRF on every form', () => {
  let srv, rt, op, admin, adminCsrf, otherCsrf, adminOtherCsrf, targetId;
  let seq = 0;

  async function csrfOf(c) {
    const v = hiddenValue((await c.get('/sessions')).text, 'csrf');
    assert.ok(v, 'a signed-in page carries the csrf field');
    return v;
  }

  before(async () => {
    srv = await startServer();
    rt = await srv.token('runtime');
    op = await srv.token('operator');
    admin = await srv.login('admin', srv.adminPassword);
    adminCsrf = await csrfOf(admin);
    // The same admin signed in elsewhere: a valid token, of another sign-in.
    adminOtherCsrf = await csrfOf(await srv.login('admin', srv.adminPassword));
    await srv.addUser('c-other', 'other-password-1', 'operator');
    otherCsrf = await csrfOf(await srv.login('c-other', 'other-password-1'));
    await srv.addUser('c-target', 'target-password-1', 'viewer', { project: 'alpha' });
    targetId = sql(srv, "SELECT id FROM users WHERE username = 'c-target'")[0].id;
    assert.notEqual(adminCsrf, otherCsrf);
    assert.notEqual(adminCsrf, adminOtherCsrf);
  });

  after(async () => {
    await srv?.stop();
  });

  /** The whole database as SQL text (read-only; sees every committed write). */
  const dump = () => dbDump(srv.dbPath);
  const fresh = (status) => reachStatus(srv, rt, op, status, { project: 'alpha', agent: 'csrf-agent', name: `csrf ${status} ${++seq}` });
  const flashKind = (res) => {
    const sc = res.headers.getSetCookie().find((c) => c.startsWith('fd_flash=') && !c.startsWith('fd_flash=;'));
    return sc ? decodeURIComponent(sc.slice('fd_flash='.length).split(';')[0]).split('.')[0] : undefined;
  };
  async function adminPost(p, form = {}) {
    const r = await admin.post(p, { ...form, csrf: adminCsrf });
    assert.equal(flashKind(r), 'ok', `setup ${p}: ${r.status}`);
  }

  /** Per form route: a target and a valid form (without csrf). The client is
   *  the admin's, except for sign-out, which signs out a sign-in of its own. */
  const TARGETS = {
    '/logout': async () => {
      const c = await srv.login('admin', srv.adminPassword);
      return { path: '/logout', form: {}, client: c, csrf: await csrfOf(c) };
    },
    '/sessions/{id}/pause': async () => ({ id: await fresh('running'), form: { return_to: '/sessions' } }),
    '/sessions/{id}/resume': async () => ({ id: await fresh('paused'), form: { return_to: '/sessions' } }),
    '/sessions/{id}/cancel': async () => ({ id: await fresh('running'), form: { return_to: '/sessions' } }),
    '/sessions/{id}/delete': async () => ({ id: await fresh('completed'), form: { return_to: '/sessions' } }),
    '/sessions/bulk': async () => ({ form: { action: 'cancel', ids: await fresh('running'), return_to: '/sessions' } }),
    '/views': async () => ({ form: { name: `csrf view ${++seq}`, query: 'status=failed', return_to: '/sessions' } }),
    '/views/{id}/delete': async () => {
      const name = `csrf delete view ${++seq}`;
      await adminPost('/views', { name, query: 'status=running', return_to: '/sessions' });
      return { id: sql(srv, `SELECT id FROM saved_views WHERE name = ${q(name)}`)[0].id, form: { return_to: '/sessions' } };
    },
    '/sessions/{id}/share': async () => ({ id: await fresh('completed'), form: { expires: '24h', return_to: '/sessions' } }),
    '/sessions/{id}/share/{lid}/revoke': async () => {
      const id = await fresh('completed');
      await adminPost(`/sessions/${id}/share`, { expires: '1h', return_to: `/sessions/${id}` });
      const lid = sql(srv, `SELECT id FROM share_links WHERE session_id = ${q(id)}`)[0].id;
      return { path: `/sessions/${id}/share/${lid}/revoke`, form: { return_to: `/sessions/${id}` } };
    },
    '/tasks/{id}/complete': async () => {
      const id = await fresh('running');
      const r = await append(srv, rt, id, { type: 'tool_call', tool_call_id: 'csrf-task', tool: 'approve', kind: 'manual', arguments: {} });
      return { id: r.events[0].id, form: { decision: 'complete', result: '{"approved":true}' } };
    },
    '/admin/users': async () => ({ form: { username: `csrf-new-${++seq}`, password: 'new-user-password', role: 'viewer', project: 'alpha' } }),
    '/admin/users/{id}/password': async () => ({ id: targetId, form: { password: `changed-password-${++seq}` } }),
    '/admin/users/{id}/disable': async () => {
      if (sql(srv, `SELECT disabled FROM users WHERE id = ${targetId}`)[0].disabled) await adminPost(`/admin/users/${targetId}/enable`);
      return { id: targetId, form: {} };
    },
    '/admin/users/{id}/enable': async () => {
      if (!sql(srv, `SELECT disabled FROM users WHERE id = ${targetId}`)[0].disabled) await adminPost(`/admin/users/${targetId}/disable`);
      return { id: targetId, form: {} };
    },
    '/admin/users/{id}/grants': async () => ({ id: targetId, form: { role: 'operator', project: `csrf-${++seq}` } }),
    '/admin/grants/{id}/revoke': async () => {
      const project = `csrf-revoke-${++seq}`;
      await srv.cli(['user', 'grant', 'c-target', '--role', 'viewer', '--project', project]);
      return { id: sql(srv, `SELECT id FROM grants WHERE project = ${q(project)}`)[0].id, form: {} };
    },
    '/admin/tokens': async () => ({ form: { name: `csrf-token-${++seq}`, role: 'viewer', project: 'alpha' } }),
    '/admin/retention': async () => ({ form: { project: `csrf-rule-${++seq}`, keep_days: '10' } }),
    '/admin/retention/{project}/clear': async () => {
      const project = `csrf-clear-${++seq}`;
      await adminPost('/admin/retention', { project, keep_days: '5' });
      return { path: `/admin/retention/${project}/clear`, form: {} };
    },
    '/admin/tokens/{id}/revoke': async () => {
      const name = `csrf-revoke-${++seq}`;
      await srv.token('viewer', { name });
      return { id: sql(srv, `SELECT id FROM api_tokens WHERE name = ${q(name)}`)[0].id, form: {} };
    },
  };

  it('the route table lists the forms', () => {
    assert.equal(routesError, null, `flightdeck routes failed: ${routesError?.message}`);
    assert.ok(FORMS.length >= 10, `form routes: ${FORMS.map((r) => r.pattern).join(', ')}`);
    for (const r of FORMS) assert.equal(r.method, 'POST', `${r.pattern}: a form posts`);
  });

  for (const route of FORMS) {
    it(`POST ${route.pattern}: no, wrong, foreign or misplaced csrf -> 403 and nothing changed`, async (t) => {
      let make = TARGETS[route.pattern];
      if (!make) {
        t.diagnostic(`no target for ${route.pattern}: a running session fills {id}`);
        make = async () => ({ id: await fresh('running'), form: {} });
      }
      const target = await make();
      const p = target.path || route.pattern.replace('{id}', encodeURIComponent(String(target.id)));
      const client = target.client || admin;
      const good = target.csrf || adminCsrf;
      const variants = [
        ['no csrf field', p, { ...target.form }],
        ['an empty csrf', p, { ...target.form, csrf: '' }],
        ['a wrong csrf', p, { ...target.form, csrf: good.slice(0, -1) + (good.endsWith('x') ? 'y' : 'x') }],
        ["another user's csrf", p, { ...target.form, csrf: otherCsrf }],
        ["the same user's csrf from another sign-in", p, { ...target.form, csrf: adminOtherCsrf }],
        ['the csrf in the query string only', `${p}?csrf=${encodeURIComponent(good)}`, { ...target.form }],
      ];
      const before = dump();
      for (const [what, url, form] of variants) {
        const r = await client.post(url, form);
        assert.equal(r.status, 403, `${what}: ${r.status} ${r.location || ''}`);
        assert.equal(flashKind(r), undefined, `${what}: no flash`);
        assert.equal(dump(), before, `${what}: the database changed`);
      }
      // The same form with the right token is accepted and changes something.
      const ok = await client.post(p, { ...target.form, csrf: good });
      assert.ok([201, 303].includes(ok.status), `with the right csrf: ${ok.status}`);
      assert.notEqual(dump(), before, 'with the right csrf the form changes the database');
    });
  }

  describe('the sign-in form (double-submit token)', () => {
    /** A fresh GET /login: its fd_login cookie and the form's csrf field. */
    async function loginPage() {
      const c = srv.client();
      const r = await c.get('/login');
      return { c, cookie: c.jar.get('fd_login'), field: hiddenValue(r.text, 'csrf') };
    }
    const websessions = () => sql(srv, 'SELECT count(*) AS n FROM web_sessions')[0].n;

    it('without a matching token: 403, no session cookie, no sign-in recorded', async () => {
      const a = await loginPage();
      const b = await loginPage();
      assert.ok(a.cookie && a.cookie === a.field, 'the form carries the cookie value');
      assert.notEqual(a.cookie, b.cookie, 'each visitor gets its own token');
      const creds = { username: 'admin', password: srv.adminPassword, next: '/sessions' };
      const cases = [
        ['no cookie, no field', null, {}],
        ['the cookie, no field', a.cookie, {}],
        ['the cookie, an empty field', a.cookie, { csrf: '' }],
        ['a field, no cookie', null, { csrf: a.field }],
        ["the cookie, another visitor's field", a.cookie, { csrf: b.field }],
        ['the cookie, a wrong field', a.cookie, { csrf: 'x'.repeat(32) }],
      ];
      const n0 = websessions();
      const logins0 = sql(srv, "SELECT count(*) AS n FROM audit WHERE action = 'login'")[0].n;
      for (const [what, cookie, fields] of cases) {
        const c = srv.client();
        if (cookie) c.jar.set('fd_login', cookie, '/login');
        const r = await c.post('/login', { ...creds, ...fields });
        assert.equal(r.status, 403, `${what}: ${r.status}`);
        assert.ok(!r.headers.getSetCookie().some((s) => s.startsWith('fd_session=') && !/^fd_session=;/.test(s)), `${what}: no session cookie`);
        assert.equal(c.jar.get('fd_session'), undefined, `${what}: no session cookie`);
        assert.match(r.text, /type="password"/, `${what}: the form again`);
      }
      assert.equal(websessions(), n0, 'no web session was created');
      assert.equal(sql(srv, "SELECT count(*) AS n FROM audit WHERE action = 'login'")[0].n, logins0, 'no sign-in in the audit');
      // With the pair the same credentials sign in.
      const r = await a.c.post('/login', { ...creds, csrf: a.field });
      assert.equal(r.status, 303);
      assert.ok(a.c.jar.get('fd_session'), 'signed in with the matching token');
      assert.equal(websessions(), n0 + 1);
    });
  });
});
