// The Work Center (DESIGN.md sections 4 and 6; README "GET /api/v1/tasks"):
// a manual tool call is a task waiting for a person; completing it records
// the call's tool_result with the person as actor and resumes the session if
// it was paused; rejecting fails the call with category "rejected"; cancel
// takes the task away. Over the JSON API and through the /tasks page form
// (CSRF, 303 back to /tasks with a flash).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, parseForms } from '../lib/server.mjs';
import { append, act, getSession, listEvents, reachStatus, snapshot, lifecycleSteps, assertLegalWalk, assertAuditMatches, sql, q } from '../lib/fixtures.mjs';

describe('Work Center', () => {
  let srv, runtime, operator, viewer, opName;

  before(async () => {
    srv = await startServer();
    runtime = await srv.token('runtime');
    opName = 'tasks-operator';
    operator = await srv.token('operator', { name: opName });
    viewer = await srv.token('viewer');
  });
  after(async () => {
    await srv?.stop();
  });

  const tasks = async (token = viewer) => {
    const r = await srv.api('GET', '/api/v1/tasks', { token });
    assert.equal(r.status, 200, r.text);
    assert.ok(Array.isArray(r.json.data));
    return r.json.data;
  };
  const complete = (id, json, token = operator) => srv.api('POST', `/api/v1/tasks/${id}/complete`, { token, json });
  const callRow = (sid, tcid) =>
    sql(srv, `SELECT state, result, error_category, error_message, ended_at FROM tool_calls WHERE session_id = ${q(sid)} AND id = ${q(tcid)}`)[0];

  /** A running session with a manual call `tcid` waiting; returns {id, task}. */
  async function withTask(tcid = 'approve', args = { amount: 120, currency: 'EUR' }, name = 'task session') {
    const id = await reachStatus(srv, runtime, operator, 'running', { name, agent: 'refund-bot' });
    const r = await append(srv, runtime, id, { type: 'tool_call', tool_call_id: tcid, tool: 'approve_refund', kind: 'manual', arguments: args });
    const task = (await tasks()).find((t) => t.session_id === id && t.tool_call_id === tcid);
    assert.ok(task, 'the manual call is listed');
    assert.equal(task.id, r.events[0].id, 'the task id is the id of the tool_call event');
    return { id, task };
  }

  it('a manual call is listed: id, session, tool, arguments, waiting_since', async () => {
    const t0 = Date.now();
    const { id, task } = await withTask('ok1', { amount: 120, currency: 'EUR' }, 'Refund #1');
    assert.equal(typeof task.id, 'number');
    assert.equal(task.session_id, id);
    assert.equal(task.session_name, 'Refund #1');
    assert.equal(task.agent, 'refund-bot');
    assert.equal(task.tool, 'approve_refund');
    assert.deepEqual(task.arguments, { amount: 120, currency: 'EUR' });
    const since = Date.parse(task.waiting_since);
    assert.ok(since >= t0 - 2000 && since <= Date.now() + 2000, `waiting_since ${task.waiting_since}`);
    assert.equal((await getSession(srv, viewer, id)).status, 'running', 'a task does not pause the session');
  });

  it('complete with a result: call succeeded, tool_result by the person, task gone', async () => {
    const { id, task } = await withTask('ok2');
    const r = await complete(task.id, { result: { approved: true, note: 'fine' } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { id: task.id, session_id: id, state: 'succeeded', session_status: 'running' });
    const row = callRow(id, 'ok2');
    assert.equal(row.state, 'succeeded');
    assert.deepEqual(JSON.parse(row.result), { approved: true, note: 'fine' });
    assert.ok(row.ended_at);
    const evs = await listEvents(srv, viewer, id);
    const res = evs.filter((e) => e.type === 'tool_result' && e.tool_call_id === 'ok2');
    assert.equal(res.length, 1);
    assert.equal(res[0].actor, `token:${opName}`, 'the person is the actor');
    assert.deepEqual(res[0].data.result, { approved: true, note: 'fine' });
    assert.ok(!(await tasks()).some((t) => t.id === task.id), 'gone from the list');
    // The runtime learns of it: control's seq moved past the result.
    const c = await srv.api('GET', `/api/v1/sessions/${id}/control`, { token: runtime });
    assert.equal(c.json.seq, res[0].seq);
  });

  it('completing twice: 409, the first answer stays', async () => {
    const { id, task } = await withTask('twice');
    assert.equal((await complete(task.id, { result: 'first' })).status, 200);
    const before = await snapshot(srv, viewer, id);
    for (const body of [{ result: 'second' }, { rejected: true, reason: 'late' }]) {
      const r = await complete(task.id, body);
      assert.equal(r.status, 409, r.text);
      assert.equal(r.json.error.code, 'tool_call_not_waiting');
    }
    assert.deepEqual(await snapshot(srv, viewer, id), before);
    assert.equal(JSON.parse(callRow(id, 'twice').result), 'first');
  });

  it('reject with a reason: the call fails with category "rejected"', async () => {
    const { id, task } = await withTask('rej');
    const r = await complete(task.id, { rejected: true, reason: 'amount too high' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.state, 'failed');
    const row = callRow(id, 'rej');
    assert.deepEqual([row.state, row.error_category, row.error_message, row.result], ['failed', 'rejected', 'amount too high', null]);
    const ev = (await listEvents(srv, viewer, id)).find((e) => e.type === 'tool_result' && e.tool_call_id === 'rej');
    assert.deepEqual(ev.data.error, { category: 'rejected', message: 'amount too high' });
    assert.ok(!(await tasks()).some((t) => t.id === task.id));
  });

  it('bad bodies: 422, nothing changes', async () => {
    const { id, task } = await withTask('bad');
    const before = await snapshot(srv, viewer, id);
    for (const body of [{}, { result: 1, rejected: true }, { rejected: false }, { result: 1, extra: 2 }, { rejected: true, reason: 5 }]) {
      const r = await complete(task.id, body);
      assert.equal(r.status, 422, `${JSON.stringify(body)}: ${r.status} ${r.text}`);
    }
    assert.deepEqual(await snapshot(srv, viewer, id), before);
    assert.equal(callRow(id, 'bad').state, 'waiting_for_human');
  });

  it('a paused session is resumed by completing its task', async () => {
    const { id, task } = await withTask('resume-me');
    assert.equal((await act(srv, operator, id, 'pause')).status, 'paused', 'a waiting task does not hold up a pause');
    const r = await complete(task.id, { result: 'go on' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.session_status, 'running');
    assert.equal((await getSession(srv, viewer, id)).status, 'running');
    const evs = await listEvents(srv, viewer, id);
    const last = evs[evs.length - 1];
    assert.equal(last.type, 'lifecycle');
    assert.deepEqual([last.data.action, last.data.from, last.data.to, last.data.actor], ['resume', 'paused', 'running', `token:${opName}`]);
    assert.equal(last.data.detail, 'task completed');
    const steps = lifecycleSteps(evs);
    assertLegalWalk(steps, 'running', id);
    assertAuditMatches(srv, id, steps, id);
    // Rejecting resumes too.
    const b = await withTask('resume-2');
    await act(srv, operator, b.id, 'pause');
    assert.equal((await complete(b.task.id, { rejected: true })).json.session_status, 'running');
  });

  it('cancel with a task waiting: task and call canceled, gone from the list; completing it is 409', async () => {
    const { id, task } = await withTask('cancel-me');
    assert.equal((await act(srv, operator, id, 'cancel')).status, 'canceled');
    assert.equal(callRow(id, 'cancel-me').state, 'canceled');
    assert.ok(!(await tasks()).some((t) => t.id === task.id));
    const before = await snapshot(srv, viewer, id);
    const r = await complete(task.id, { result: 'too late' });
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json.status, 'canceled');
    assert.deepEqual(await snapshot(srv, viewer, id), before);
  });

  it('404 for an unknown task; 403 for a viewer; nothing changes', async () => {
    for (const tid of ['999999', '0', 'abc', '-1']) {
      const r = await complete(tid, { result: 1 });
      assert.equal(r.status, 404, `${tid}: ${r.text}`);
    }
    // A task id that is some other event (a thought) is not a task either.
    const { id, task } = await withTask('perm');
    const thought = await append(srv, runtime, id, { type: 'thought', content: 'waiting' });
    assert.equal((await complete(thought.events[0].id, { result: 1 })).status, 404);
    const before = await snapshot(srv, viewer, id);
    const r = await complete(task.id, { result: 1 }, viewer);
    assert.equal(r.status, 403, r.text);
    assert.equal((await complete(task.id, { result: 1 }, 'not-a-token')).status, 401);
    assert.deepEqual(await snapshot(srv, viewer, id), before);
    assert.equal(callRow(id, 'perm').state, 'waiting_for_human');
  });

  it('tasks are per project: a token for another project neither sees nor completes them', async () => {
    const { id, task } = await withTask('proj');
    const blueViewer = await srv.token('viewer', { project: 'blue' });
    const blueOperator = await srv.token('operator', { project: 'blue' });
    assert.ok(!(await tasks(blueViewer)).some((t) => t.id === task.id), 'not listed for project blue');
    const before = await snapshot(srv, viewer, id);
    const r = await complete(task.id, { result: 1 }, blueOperator);
    assert.equal(r.status, 404, r.text);
    assert.deepEqual(await snapshot(srv, viewer, id), before);
    // A task in project blue is theirs.
    const blue = await reachStatus(srv, runtime, operator, 'running', { project: 'blue' });
    const a = await append(srv, runtime, blue, { type: 'tool_call', tool_call_id: 'b', tool: 'approve', kind: 'manual' });
    assert.deepEqual((await tasks(blueViewer)).map((t) => t.session_id), [blue]);
    assert.equal((await complete(a.events[0].id, { result: 1 }, blueOperator)).status, 200);
  });

  it('the /tasks page lists the task; its form completes it (303 to /tasks, flash)', async () => {
    const { id, task } = await withTask('page-ok', { order: 'A-17' }, 'Page task');
    const web = await srv.login('admin', srv.adminPassword);
    let page = await web.get('/tasks');
    assert.equal(page.status, 200);
    assert.match(page.text, new RegExp(`id="task-${task.id}"`));
    assert.match(page.text, /Page task/);
    assert.match(page.text, /approve_refund/);
    assert.match(page.text, /A-17/, 'arguments shown');
    const form = parseForms(page.text).find((f) => f.action === `/tasks/${task.id}/complete`);
    assert.ok(form, 'a form per task');
    assert.equal(form.method, 'post');
    const csrf = form.inputs.find((i) => i.name === 'csrf').value;
    assert.ok(csrf);
    assert.deepEqual(form.inputs.filter((i) => i.name === 'decision').map((i) => i.value).sort(), ['complete', 'reject']);

    // Invalid JSON: back with an error, nothing changes.
    let before = await snapshot(srv, viewer, id);
    let r = await web.post(`/tasks/${task.id}/complete`, { csrf, decision: 'complete', result: '{not json' });
    assert.equal(r.status, 303);
    assert.match(r.location, /^\/tasks/);
    assert.deepEqual(await snapshot(srv, viewer, id), before);

    r = await web.post(`/tasks/${task.id}/complete`, { csrf, decision: 'complete', result: '{"shipped": true}', reason: '' });
    assert.equal(r.status, 303, r.text);
    assert.equal(r.location, '/tasks');
    page = await web.get('/tasks');
    assert.match(page.text, /class="flash flash-ok"/);
    assert.match(page.text, /Task completed/);
    assert.doesNotMatch(page.text, new RegExp(`id="task-${task.id}"`), 'the task left the page');
    const row = callRow(id, 'page-ok');
    assert.equal(row.state, 'succeeded');
    assert.deepEqual(JSON.parse(row.result), { shipped: true });
    const ev = (await listEvents(srv, viewer, id)).find((e) => e.type === 'tool_result' && e.tool_call_id === 'page-ok');
    assert.equal(ev.actor, 'user:admin', 'the signed-in person is the actor');

    // The same form again: the call is not waiting any more, an error flash, nothing changes.
    before = await snapshot(srv, viewer, id);
    r = await web.post(`/tasks/${task.id}/complete`, { csrf, decision: 'complete', result: '{}' });
    assert.equal(r.status, 303);
    page = await web.get('/tasks');
    assert.match(page.text, /class="flash flash-error"/);
    assert.deepEqual(await snapshot(srv, viewer, id), before);
  });

  it('the /tasks form rejects with a reason; an empty result box completes with {}', async () => {
    const a = await withTask('page-rej');
    const b = await withTask('page-empty');
    const web = await srv.login('admin', srv.adminPassword);
    await web.get('/tasks');
    const csrf = await web.csrf('/tasks');
    let r = await web.post(`/tasks/${a.task.id}/complete`, { csrf, decision: 'reject', result: '', reason: 'not allowed' });
    assert.equal(r.status, 303);
    assert.equal(r.location, '/tasks');
    assert.match((await web.get('/tasks')).text, /Task rejected/);
    const ra = callRow(a.id, 'page-rej');
    assert.deepEqual([ra.state, ra.error_category, ra.error_message], ['failed', 'rejected', 'not allowed']);
    r = await web.post(`/tasks/${b.task.id}/complete`, { csrf, decision: 'complete', result: '' });
    assert.equal(r.status, 303);
    const rb = callRow(b.id, 'page-empty');
    assert.equal(rb.state, 'succeeded');
    assert.deepEqual(JSON.parse(rb.result), {});
  });

  it('the /tasks form without (or with a wrong) csrf: 403 and nothing changes', async () => {
    const { id, task } = await withTask('no-csrf');
    const web = await srv.login('admin', srv.adminPassword);
    await web.get('/tasks');
    const before = await snapshot(srv, viewer, id);
    for (const form of [{ decision: 'complete', result: '{}' }, { csrf: 'forged', decision: 'complete', result: '{}' }, { csrf: '', decision: 'reject' }]) {
      const r = await web.post(`/tasks/${task.id}/complete`, form);
      assert.equal(r.status, 403, `${JSON.stringify(form)}: ${r.status}`);
    }
    assert.deepEqual(await snapshot(srv, viewer, id), before);
    assert.equal(callRow(id, 'no-csrf').state, 'waiting_for_human');
    assert.ok((await tasks()).some((t) => t.id === task.id), 'still waiting');
    // Not signed in: no completing either.
    const anon = srv.client();
    const r = await anon.post(`/tasks/${task.id}/complete`, { decision: 'complete', result: '{}' });
    assert.ok([401, 403].includes(r.status) || (r.status === 303 && /\/login/.test(r.location)), `anonymous: ${r.status} ${r.location}`);
    assert.equal(callRow(id, 'no-csrf').state, 'waiting_for_human');
  });

  it('a viewer signed in sees the Work Center but cannot complete a task', async () => {
    await srv.addUser('vera', 'viewer-password-1', 'viewer');
    const { id, task } = await withTask('viewer-form');
    const web = await srv.login('vera', 'viewer-password-1');
    const page = await web.get('/tasks');
    assert.equal(page.status, 200);
    const csrf = await web.csrf('/tasks');
    const r = await web.post(`/tasks/${task.id}/complete`, { csrf, decision: 'complete', result: '{}' });
    assert.equal(r.status, 403);
    assert.equal(callRow(id, 'viewer-form').state, 'waiting_for_human');
  });
});
