// Grants per project, read on every request (DESIGN.md section 7, README
// "Access"):
// - a grant made after sessions exist shows them at once (History page,
//   detail page, API) without signing in again; a revocation hides them at
//   once (404);
// - lists (API and pages, sessions and tasks) hold only readable projects,
//   and the History page does not leak another project's names or agents;
// - a caller in alpha that called a session in beta: a viewer of alpha sees
//   the called session's name and status, no link, and 404 on it; the API
//   says no more than that about it either;
// - navigation: the Admin link only for who may open the admin pages, the
//   Work Center for every signed-in user, neither on the sign-in page.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startServer } from '../lib/server.mjs';
import { createSession, append, sessionLinks, sql } from '../lib/fixtures.mjs';

describe('grants per project', () => {
  let srv, rt, all;
  const S = {}; // name -> session id
  const T = {}; // project -> task id

  before(async () => {
    srv = await startServer();
    rt = await srv.token('runtime');
    all = await srv.token('viewer', { name: 'g-viewer-all' });
    for (const [key, project, agent, name] of [
      ['a1', 'alpha', 'alpha-agent', 'Alpha one'],
      ['a2', 'alpha', 'alpha-agent', 'Alpha two'],
      ['b1', 'beta', 'beta-secret-agent', 'Beta secret one'],
      ['b2', 'beta', 'beta-secret-agent', 'Beta secret two'],
    ]) {
      S[key] = (await createSession(srv, rt, { project, agent, name, status: 'running' })).id;
    }
    for (const project of ['alpha', 'beta']) {
      const id = S[project === 'alpha' ? 'a1' : 'b1'];
      const r = await append(srv, rt, id, { type: 'tool_call', tool_call_id: `task-${project}`, tool: `approve_${project}`, kind: 'manual', arguments: {} });
      T[project] = r.events[0].id;
    }
  });
  after(async () => {
    await srv?.stop();
  });

  const page = async (c, p) => {
    const r = await c.get(p);
    return { status: r.status, text: r.text };
  };

  it('a grant made after the sessions exist shows them at once; revoking hides them at once', async () => {
    await srv.addUser('g-late', 'late-password-1', 'viewer', { project: 'alpha' });
    const c = await srv.login('g-late', 'late-password-1');
    const tok = await srv.token('viewer', { project: 'alpha', name: 'g-late-token' });
    const tokenId = sql(srv, "SELECT id FROM api_tokens WHERE name = 'g-late-token'")[0].id;
    const apiList = async () => (await srv.api('GET', '/api/v1/sessions?limit=200', { token: tok })).json.data.map((s) => s.id);

    // Before: beta is invisible everywhere.
    assert.deepEqual(sessionLinks((await page(c, '/sessions')).text).sort(), [S.a1, S.a2].sort());
    assert.equal((await page(c, `/sessions/${S.b1}`)).status, 404);
    assert.equal((await srv.api('GET', `/api/v1/sessions/${S.b1}`, { token: tok })).status, 404);
    assert.deepEqual((await apiList()).sort(), [S.a1, S.a2].sort());

    // Grant beta (the CLI for the user; for the token, a grant row as
    // account.c writes it: nothing grants a token more after its creation).
    await srv.cli(['user', 'grant', 'g-late', '--role', 'viewer', '--project', 'beta']);
    execFileSync('sqlite3', ['-cmd', '.timeout 5000', srv.dbPath, `INSERT INTO grants (token_id, role, project, created_at) VALUES (${tokenId}, 'viewer', 'beta', ${Date.now()})`]);
    // At once, same cookie, same token: the older beta sessions show.
    assert.deepEqual(sessionLinks((await page(c, '/sessions')).text).sort(), [S.a1, S.a2, S.b1, S.b2].sort());
    const detail = await page(c, `/sessions/${S.b1}`);
    assert.equal(detail.status, 200);
    assert.ok(detail.text.includes('Beta secret one'));
    const got = await srv.api('GET', `/api/v1/sessions/${S.b1}`, { token: tok });
    assert.equal(got.status, 200);
    assert.equal(got.json.project, 'beta');
    assert.deepEqual((await apiList()).sort(), [S.a1, S.a2, S.b1, S.b2].sort());
    assert.match((await page(c, '/tasks')).text, new RegExp(`approve_beta`));

    // Revoke: hidden at once, 404 like a session that never existed.
    await srv.cli(['user', 'revoke', 'g-late', '--role', 'viewer', '--project', 'beta']);
    execFileSync('sqlite3', ['-cmd', '.timeout 5000', srv.dbPath, `DELETE FROM grants WHERE token_id = ${tokenId} AND project = 'beta'`]);
    assert.deepEqual(sessionLinks((await page(c, '/sessions')).text).sort(), [S.a1, S.a2].sort());
    assert.equal((await page(c, `/sessions/${S.b1}`)).status, 404);
    assert.doesNotMatch((await page(c, '/tasks')).text, /approve_beta/);
    const gone = await srv.api('GET', `/api/v1/sessions/${S.b1}`, { token: tok });
    const never = await srv.api('GET', '/api/v1/sessions/ses_doesnotexist0000000', { token: tok });
    assert.equal(gone.status, 404);
    assert.deepEqual([gone.status, gone.json.error.code], [never.status, never.json.error.code], 'the same answer as for no session at all');
    assert.deepEqual((await apiList()).sort(), [S.a1, S.a2].sort());
    // The sign-in itself goes on: only the grant changed.
    assert.equal((await page(c, '/sessions')).status, 200);
  });

  describe('lists hold only readable projects', () => {
    let c, tok, alphaIds, allIds;
    before(async () => {
      await srv.addUser('g-alpha', 'alpha-password-1', 'viewer', { project: 'alpha' });
      c = await srv.login('g-alpha', 'alpha-password-1');
      tok = await srv.token('viewer', { project: 'alpha' });
      alphaIds = sql(srv, "SELECT id FROM sessions WHERE project = 'alpha'").map((r) => r.id).sort();
      allIds = sql(srv, 'SELECT id FROM sessions').map((r) => r.id).sort();
    });

    it('API sessions: the list, a filter naming beta\'s agent, page by page', async () => {
      const list = (await srv.api('GET', '/api/v1/sessions?limit=200', { token: tok })).json.data;
      assert.deepEqual(list.map((s) => s.id).sort(), alphaIds);
      assert.ok(list.every((s) => s.project === 'alpha'));
      const byAgent = await srv.api('GET', '/api/v1/sessions?agent=beta-secret-agent', { token: tok });
      assert.equal(byAgent.status, 200);
      assert.deepEqual(byAgent.json.data, []);
      const walked = [];
      let cursor = '';
      for (let i = 0; i < 20; i++) {
        const r = await srv.api('GET', `/api/v1/sessions?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token: tok });
        walked.push(...r.json.data.map((s) => s.id));
        cursor = r.json.next_cursor;
        if (!cursor) break;
      }
      assert.deepEqual(walked.sort(), alphaIds, 'paging walks only alpha');
      // The all-projects viewer sees both (so the filter above is the grant's doing).
      const full = (await srv.api('GET', '/api/v1/sessions?limit=200', { token: all })).json.data;
      assert.deepEqual(full.map((s) => s.id).sort(), allIds);
    });

    it('tasks: API and Work Center', async () => {
      const tasks = (await srv.api('GET', '/api/v1/tasks', { token: tok })).json.data;
      assert.deepEqual(tasks.map((t) => t.id), [T.alpha]);
      assert.deepEqual((await srv.api('GET', '/api/v1/tasks', { token: all })).json.data.map((t) => t.id).sort(), [T.alpha, T.beta].sort());
      const wc = (await page(c, '/tasks')).text;
      assert.match(wc, /approve_alpha/);
      assert.doesNotMatch(wc, /approve_beta|Beta secret/);
    });

    it('History page: only alpha rows, also when filtered by beta\'s agent', async () => {
      const h = await page(c, '/sessions');
      assert.equal(h.status, 200);
      assert.deepEqual(sessionLinks(h.text).sort(), alphaIds);
      const hf = await page(c, '/sessions?agent=beta-secret-agent');
      assert.deepEqual(sessionLinks(hf.text), []);
      for (const word of ['Beta secret', S.b1, S.b2]) assert.ok(!hf.text.includes(word), `filtered page shows "${word}"`);
    });

    it('History page: nothing of beta anywhere on it (names, ids, agents in the filter options)', async () => {
      const h = await page(c, '/sessions');
      const shown = ['Beta secret', 'beta-secret-agent', S.b1, S.b2].filter((w) => h.text.includes(w));
      assert.deepEqual(shown, [], 'the History page of an alpha viewer shows these beta values');
    });
  });

  describe('a called session in another project: name and status only', () => {
    let c, tok, parent, child, href;
    before(async () => {
      parent = await createSession(srv, rt, { project: 'alpha', agent: 'alpha-agent', name: 'Alpha caller', status: 'running' });
      child = await createSession(srv, rt, {
        project: 'beta',
        agent: 'beta-callee-agent',
        name: 'Beta callee secret',
        status: 'running',
        trigger: 'agent',
        parent_session_id: parent.id,
        parent_tool_call_id: 'delegate-1',
      });
      await append(srv, rt, parent.id, { type: 'tool_call', tool_call_id: 'delegate-1', tool: 'delegate', kind: 'agent', called_session_id: child.id, arguments: { task: 'x' } });
      await append(srv, rt, child.id, { type: 'status', status: 'completed', response: 'done' });
      await srv.addUser('g-caller', 'caller-password-1', 'viewer', { project: 'alpha' });
      c = await srv.login('g-caller', 'caller-password-1');
      tok = await srv.token('viewer', { project: 'alpha' });
      href = `href="/sessions/${child.id}"`;
    });

    it("the caller's page shows its name and status, without a link; someone who may read beta gets the link", async () => {
      const p = await page(c, `/sessions/${parent.id}?tab=activity`);
      assert.equal(p.status, 200);
      const called = /<div class="tool-called">([\s\S]*?)<\/div>/.exec(p.text);
      assert.ok(called, 'the tool call shows the called session');
      assert.ok(called[1].includes('Beta callee secret'), 'its name');
      assert.match(called[1], /status-completed/, 'its status');
      assert.match(called[1], />Completed</, 'its status label');
      assert.ok(!p.text.includes(href), 'no link to it anywhere on the page');
      const adm = await srv.login('admin', srv.adminPassword);
      assert.ok((await page(adm, `/sessions/${parent.id}?tab=activity`)).text.includes(href), 'the admin gets the link');
      const agents = await page(c, `/sessions/${parent.id}?tab=agents`);
      assert.equal(agents.status, 200);
      assert.ok(agents.text.includes('Beta callee secret'), 'the Called agents tab lists it by name');
      assert.ok(!agents.text.includes(href), 'without a link');
    });

    it('the called session itself answers 404 (page and API)', async () => {
      assert.equal((await page(c, `/sessions/${child.id}`)).status, 404);
      for (const path of [`/api/v1/sessions/${child.id}`, `/api/v1/sessions/${child.id}/events`]) {
        const r = await srv.api('GET', path, { token: tok });
        assert.equal(r.status, 404, path);
      }
    });

    it("the caller's page tells nothing more about it (not its agent)", async () => {
      for (const tab of ['summary', 'activity', 'agents', 'metadata', 'trace']) {
        const p = await page(c, `/sessions/${parent.id}?tab=${tab}`);
        assert.equal(p.status, 200, tab);
        assert.ok(!p.text.includes('beta-callee-agent'), `the called session's agent is on the ${tab} tab`);
      }
    });

    it('the API about the caller tells no more than the page (children[])', async () => {
      const api = await srv.api('GET', `/api/v1/sessions/${parent.id}?include=children,events`, { token: tok });
      assert.equal(api.status, 200);
      for (const ch of api.json.children || []) {
        if (ch.id !== child.id) continue;
        // id, name, status (and a flag saying that is all) - not its agent, project, ...
        const extra = Object.keys(ch).filter((k) => !['id', 'name', 'status', 'restricted'].includes(k));
        assert.deepEqual(extra, [], `children[] tells an alpha viewer more about a beta session: ${JSON.stringify(ch)}`);
      }
    });

    it('the other way: a callee in alpha does not link to its caller in beta (that link answers 404)', async () => {
      const betaCaller = await createSession(srv, rt, { project: 'beta', agent: 'beta-secret-agent', name: 'Beta caller secret', status: 'running' });
      const alphaCallee = await createSession(srv, rt, { project: 'alpha', agent: 'alpha-agent', name: 'Alpha callee', status: 'running', trigger: 'agent', parent_session_id: betaCaller.id });
      const callee = await page(c, `/sessions/${alphaCallee.id}`);
      assert.equal(callee.status, 200);
      assert.equal((await page(c, `/sessions/${betaCaller.id}`)).status, 404);
      assert.ok(!callee.text.includes(`href="/sessions/${betaCaller.id}"`), 'a link to the unreadable caller');
    });
  });

  it('navigation: Admin only for who may open the admin pages, Work Center for every signed-in user', async () => {
    const nav = (html) => /<nav class="mainnav"[\s\S]*?<\/nav>/.exec(html)?.[0] || '';
    const who = [['viewer', 'alpha'], ['operator', 'alpha'], ['admin', 'alpha'], ['viewer', null], ['operator', null], ['admin', null]];
    for (const [role, project] of who) {
      const name = `g-nav-${role}-${project || 'all'}`;
      await srv.addUser(name, 'nav-password-1', role, project ? { project } : {});
      const c = await srv.login(name, 'nav-password-1');
      const h = await c.get('/sessions');
      assert.equal(h.status, 200, name);
      const n = nav(h.text);
      assert.match(n, /href="\/sessions"/, `${name}: Sessions`);
      assert.match(n, /href="\/tasks"/, `${name}: Work Center`);
      const mayAdmin = (await c.get('/admin/users')).status !== 403;
      assert.equal(/href="\/admin/.test(n), mayAdmin, `${name}: the Admin link iff /admin/users opens`);
      if (role !== 'admin' || project) assert.equal(mayAdmin, false, `${name} may not open the admin pages`);
      if (role === 'admin' && !project) assert.equal(mayAdmin, true, `${name} may open the admin pages`);
      // The Work Center's own page shows the same navigation.
      assert.match(nav((await c.get('/tasks')).text), /href="\/tasks"/);
    }
    // Not signed in: the sign-in page has no navigation at all.
    const login = await (await srv.fetch('/login')).text();
    assert.equal(nav(login), '');
    assert.doesNotMatch(login, /href="\/admin|href="\/tasks"/);
  });
});
