// The lifecycle on the pages (DESIGN.md sections 4 and 6): the quick actions
// each status offers on the History page and the detail page (running and
// retrying: Pause, Cancel; pausing: none; paused: Resume, Cancel; canceling:
// none; pending: Cancel; completed, failed, canceled: Delete — and only those
// the signed-in person may take), and the forms behind them (POST
// /sessions/ID/ACTION with csrf: 303 back with a flash; a refused action
// flashes an error and writes nothing; no csrf: 403 and nothing changes).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, parseForms } from '../lib/server.mjs';
import { STATUSES, reachStatus, snapshot, getSession, listEvents, lifecycleSteps } from '../lib/fixtures.mjs';

const QUICK = {
  pending: ['cancel'],
  running: ['pause', 'cancel'],
  retrying: ['pause', 'cancel'],
  pausing: [],
  paused: ['resume', 'cancel'],
  canceling: [],
  canceled: ['delete'],
  completed: ['delete'],
  failed: ['delete'],
};

/** The quick-action forms for session `id` on a page: [action, ...] in order. */
function actionsFor(html, id) {
  return parseForms(html)
    .filter((f) => f.method === 'post' && new RegExp(`^/sessions/${id}/(pause|resume|cancel|delete)$`).test(f.action))
    .map((f) => f.action.split('/').pop());
}

describe('quick actions on the pages', () => {
  let srv, runtime, operator, viewer, admin, oper, view;
  const ids = {};

  before(async () => {
    srv = await startServer();
    runtime = await srv.token('runtime');
    operator = await srv.token('operator');
    viewer = await srv.token('viewer');
    for (const st of STATUSES) ids[st] = await reachStatus(srv, runtime, operator, st, { name: `page ${st}` });
    admin = await srv.login('admin', srv.adminPassword);
    await srv.addUser('olga', 'operator-password-1', 'operator');
    await srv.addUser('vic', 'viewer-password-1', 'viewer');
    oper = await srv.login('olga', 'operator-password-1');
    view = await srv.login('vic', 'viewer-password-1');
  });
  after(async () => {
    await srv?.stop();
  });

  it('the History page offers exactly the actions the status allows (admin)', async () => {
    const page = await admin.get('/sessions?limit=100');
    assert.equal(page.status, 200);
    for (const st of STATUSES) assert.deepEqual(actionsFor(page.text, ids[st]), QUICK[st], `${st} on /sessions`);
    // Every form carries the csrf token and where to come back to.
    for (const f of parseForms(page.text).filter((x) => /^\/sessions\/[^/]+\/(pause|resume|cancel|delete)$/.test(x.action))) {
      assert.ok(f.inputs.some((i) => i.name === 'csrf' && i.type === 'hidden' && i.value), `${f.action}: csrf`);
      assert.ok(f.inputs.some((i) => i.name === 'return_to' && i.value.startsWith('/sessions')), `${f.action}: return_to`);
    }
    // Cancel and delete ask first.
    assert.match(page.text, /data-confirm="Cancel this session\?/);
    assert.match(page.text, /data-confirm="Delete this session/);
  });

  it('the detail page offers the same actions', async () => {
    for (const st of STATUSES) {
      const page = await admin.get(`/sessions/${ids[st]}`);
      assert.equal(page.status, 200);
      assert.deepEqual(actionsFor(page.text, ids[st]), QUICK[st], `${st} on the detail page`);
    }
  });

  it('an operator gets no Delete; a viewer gets no actions at all', async () => {
    const po = await oper.get('/sessions?limit=100');
    const pv = await view.get('/sessions?limit=100');
    for (const st of STATUSES) {
      assert.deepEqual(actionsFor(po.text, ids[st]), QUICK[st].filter((a) => a !== 'delete'), `operator, ${st}`);
      assert.deepEqual(actionsFor(pv.text, ids[st]), [], `viewer, ${st}`);
    }
  });

  it('a quick-action form: 303 back to return_to with a flash; the change is recorded as the person', async () => {
    const id = await reachStatus(srv, runtime, operator, 'running', { name: 'form pause' });
    const page = await admin.get('/sessions');
    const form = parseForms(page.text).find((f) => f.action === `/sessions/${id}/pause`);
    const fields = Object.fromEntries(form.inputs.filter((i) => i.type === 'hidden').map((i) => [i.name, i.value]));
    const r = await admin.post(form.action, fields);
    assert.equal(r.status, 303);
    assert.equal(r.location, '/sessions');
    const after = await admin.get('/sessions');
    assert.match(after.text, new RegExp(`class="flash flash-ok"[\\s\\S]*Session ${id} paused\\.`));
    assert.equal((await getSession(srv, viewer, id)).status, 'paused');
    const last = lifecycleSteps(await listEvents(srv, viewer, id)).at(-1);
    assert.deepEqual([last.action, last.to, last.actor], ['pause', 'paused', 'user:admin']);
    // From the detail page, back to the detail page.
    const det = await admin.get(`/sessions/${id}`);
    const rf = parseForms(det.text).find((f) => f.action === `/sessions/${id}/resume`);
    const rfields = Object.fromEntries(rf.inputs.filter((i) => i.type === 'hidden').map((i) => [i.name, i.value]));
    const rr = await admin.post(rf.action, rfields);
    assert.equal(rr.status, 303);
    assert.equal(rr.location, `/sessions/${id}`);
    assert.equal((await getSession(srv, viewer, id)).status, 'running');
  });

  it('a form for an action the status no longer allows: an error flash, nothing written', async () => {
    const id = await reachStatus(srv, runtime, operator, 'paused', { name: 'form stale' });
    await admin.get('/sessions');
    const csrf = await admin.csrf();
    const before = await snapshot(srv, viewer, id);
    for (const action of ['pause', 'delete']) {
      const r = await admin.post(`/sessions/${id}/${action}`, { csrf, return_to: '/sessions' });
      assert.equal(r.status, 303, `${action}: ${r.status}`);
      const page = await admin.get('/sessions');
      assert.match(page.text, /class="flash flash-error"/, action);
      assert.match(page.text, new RegExp(`Cannot ${action}: the session is paused now`));
    }
    assert.deepEqual(await snapshot(srv, viewer, id), before);
    // Deleting from the detail page goes back to the list (the page is gone).
    const done = await reachStatus(srv, runtime, operator, 'completed', { name: 'form delete' });
    const d = await admin.post(`/sessions/${done}/delete`, { csrf, return_to: `/sessions/${done}` });
    assert.equal(d.status, 303);
    assert.equal(d.location, '/sessions');
    assert.equal((await srv.api('GET', `/api/v1/sessions/${done}`, { token: viewer })).status, 404);
    // A return_to off the site is not followed.
    const x = await reachStatus(srv, runtime, operator, 'running');
    const o = await admin.post(`/sessions/${x}/pause`, { csrf, return_to: '//evil.example/' });
    assert.equal(o.status, 303);
    assert.equal(o.location, '/sessions');
  });

  it('without csrf, with a wrong one, or as a viewer: 403 and nothing changes', async () => {
    const id = await reachStatus(srv, runtime, operator, 'running', { name: 'form csrf' });
    const before = await snapshot(srv, viewer, id);
    await admin.get('/sessions');
    for (const fields of [{ return_to: '/sessions' }, { csrf: 'wrong', return_to: '/sessions' }]) {
      for (const action of ['pause', 'cancel']) {
        const r = await admin.post(`/sessions/${id}/${action}`, fields);
        assert.equal(r.status, 403, `${action} ${JSON.stringify(fields)}: ${r.status}`);
      }
    }
    await view.get('/sessions');
    const vcsrf = await view.csrf();
    assert.equal((await view.post(`/sessions/${id}/pause`, { csrf: vcsrf })).status, 403);
    await oper.get('/sessions');
    const done = await reachStatus(srv, runtime, operator, 'completed');
    assert.equal((await oper.post(`/sessions/${done}/delete`, { csrf: await oper.csrf() })).status, 403);
    assert.equal((await getSession(srv, viewer, done)).status, 'completed');
    assert.deepEqual(await snapshot(srv, viewer, id), before);
  });
});
