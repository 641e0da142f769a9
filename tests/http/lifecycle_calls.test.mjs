// Pause and cancel wait for the work in flight (DESIGN.md section 4): with a
// server tool call executing, pause/cancel go to pausing/canceling, refuse
// new tool calls (409 session_not_running, nothing recorded) and settle when
// the last call ends; a call executing when canceled ends as "canceled" with
// its duration. Calls waiting for a person or the client do not hold a pause
// or cancel up, and cancel resolves them at once. Agent calls link to the
// called session, which a cancel of the caller leaves alone.
// Also input (README "POST /input"): client tool calls and their results,
// follow-up messages continuing finished sessions, never a canceled one.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import {
  createSession,
  append,
  act,
  getSession,
  listEvents,
  sendEvents,
  tryAction,
  reachStatus,
  snapshot,
  lifecycleSteps,
  assertLegalWalk,
  assertAuditMatches,
  statusAtEachEvent,
  sql,
  q,
  sleep,
} from '../lib/fixtures.mjs';

/** The tool-call entries of a session detail page: [{id, state, label, duration, called}]. */
function toolEntries(html) {
  const out = [];
  for (const part of html.split('<li class="ev ev-tool"').slice(1)) {
    const li = part.slice(0, part.indexOf('</li>'));
    out.push({
      id: li.match(/<code class="tool-id"[^>]*>([^<]*)<\/code>/)?.[1],
      state: li.match(/data-state="([^"]*)"/)?.[1],
      label: li.match(/<span class="badge state-[^"]*">([^<]*)<\/span>/)?.[1],
      duration: li.match(/<span class="tool-stat" title="Duration">([^<]*)<\/span>/)?.[1],
      called: li.match(/<div class="tool-called">[\s\S]*?<a href="([^"]*)"/)?.[1],
      html: li,
    });
  }
  return out;
}

describe('pause and cancel wait for tool calls in flight', () => {
  let srv, runtime, operator, viewer, web;

  before(async () => {
    srv = await startServer();
    runtime = await srv.token('runtime');
    operator = await srv.token('operator');
    viewer = await srv.token('viewer');
    web = await srv.login('admin', srv.adminPassword);
  });
  after(async () => {
    await srv?.stop();
  });

  const callRow = (sid, tcid) =>
    sql(srv, `SELECT state, started_at, ended_at, result, error_category FROM tool_calls WHERE session_id = ${q(sid)} AND id = ${q(tcid)}`)[0];
  const executing = (sid) => sql(srv, `SELECT executing_calls AS n FROM sessions WHERE id = ${q(sid)}`)[0].n;

  /** A new tool call must be refused while `status`, with nothing recorded. */
  async function assertToolCallRefused(id, status, tcid = 'late') {
    const before = await snapshot(srv, viewer, id);
    const calls = sql(srv, `SELECT count(*) AS n FROM tool_calls WHERE session_id = ${q(id)}`)[0].n;
    for (const kind of ['server', 'manual', 'client', 'agent']) {
      const r = await sendEvents(srv, runtime, id, { type: 'tool_call', tool_call_id: `${tcid}-${kind}`, tool: 'anything', kind });
      assert.equal(r.status, 409, `${kind} tool_call while ${status}: ${r.text}`);
      assert.equal(r.json.error.code, 'session_not_running');
      assert.equal(r.json.status, status, 'the 409 names the status');
    }
    // In a batch, the refusal takes the other events with it.
    const b = await sendEvents(srv, runtime, id, {
      events: [
        { type: 'thought', content: 'I will call another tool' },
        { type: 'tool_call', tool_call_id: `${tcid}-batch`, tool: 'anything' },
      ],
    });
    assert.equal(b.status, 409, b.text);
    assert.equal(b.json.error.code, 'session_not_running');
    assert.equal(b.json.status, status);
    assert.deepEqual(await snapshot(srv, viewer, id), before, `nothing recorded while ${status}`);
    assert.equal(sql(srv, `SELECT count(*) AS n FROM tool_calls WHERE session_id = ${q(id)}`)[0].n, calls, 'no tool_calls row');
  }

  it('pause with a server call executing: pausing, new calls refused, the result settles to paused', async () => {
    const id = await reachStatus(srv, runtime, operator, 'running');
    await append(srv, runtime, id, { type: 'tool_call', tool_call_id: 'a', tool: 'search', kind: 'server' });
    await append(srv, runtime, id, { type: 'tool_call', tool_call_id: 'b', tool: 'fetch', kind: 'server' });
    assert.equal(executing(id), 2);
    const r = await act(srv, operator, id, 'pause');
    assert.deepEqual(r, { id, status: 'pausing', previous_status: 'running' });
    await assertToolCallRefused(id, 'pausing');
    // Control tells the runtime not to start calls.
    const c = await srv.api('GET', `/api/v1/sessions/${id}/control`, { token: runtime });
    assert.equal(c.status, 200);
    assert.equal(c.json.status, 'pausing');
    assert.equal(c.json.tool_calls_allowed, false);
    // The first result: one still executing, still pausing.
    let res = await append(srv, runtime, id, { type: 'tool_result', tool_call_id: 'a', result: { hits: 3 } });
    assert.equal(res.status, 'pausing', 'one call still executing');
    assert.equal(callRow(id, 'a').state, 'succeeded');
    // Non-tool events are still accepted while pausing (the agent finishes its step).
    res = await append(srv, runtime, id, { type: 'thought', content: 'got the hits' });
    assert.equal(res.status, 'pausing');
    // The last result settles it.
    res = await append(srv, runtime, id, { type: 'tool_result', tool_call_id: 'b', result: 'page' });
    assert.equal(res.status, 'paused');
    assert.equal(executing(id), 0);
    assert.equal(callRow(id, 'b').state, 'succeeded', 'a pause lets the call succeed');
    const evs = await listEvents(srv, viewer, id);
    const steps = lifecycleSteps(evs);
    assert.deepEqual(steps.map((s) => `${s.action}:${s.from}>${s.to}`), ['start:pending>running', 'pause:running>pausing', 'settle:pausing>paused']);
    assertLegalWalk(steps, 'paused', id);
    assertAuditMatches(srv, id, steps, id);
    // Still refused once paused; resume lets calls start again.
    await assertToolCallRefused(id, 'paused', 'late2');
    await act(srv, operator, id, 'resume');
    await append(srv, runtime, id, { type: 'tool_call', tool_call_id: 'c', tool: 'search' });
    assert.equal(callRow(id, 'c').state, 'running');
  });

  it('pausing completes if the runtime reports completion; a late tool_result is still recorded', async () => {
    const id = await reachStatus(srv, runtime, operator, 'pausing');
    const r = await append(srv, runtime, id, { type: 'status', status: 'completed', response: 'done anyway' });
    assert.equal(r.status, 'completed');
    const t = await append(srv, runtime, id, { type: 'tool_result', tool_call_id: 'inflight', result: 'late' });
    assert.equal(t.status, 'completed', 'a result after completion does not change the status');
    const steps = lifecycleSteps(await listEvents(srv, viewer, id));
    assertLegalWalk(steps, 'completed', id);
  });

  it('cancel with a server call executing: canceling, calls refused; the call ends as canceled with its duration', async () => {
    const id = await reachStatus(srv, runtime, operator, 'running');
    await append(srv, runtime, id, { type: 'tool_call', tool_call_id: 'slow', tool: 'crawl', kind: 'server', arguments: { url: 'x' } });
    const r = await act(srv, operator, id, 'cancel');
    assert.deepEqual(r, { id, status: 'canceling', previous_status: 'running' });
    assert.equal((await getSession(srv, viewer, id)).end_time, null, 'not ended while canceling');
    await assertToolCallRefused(id, 'canceling');
    // Cancel is not undone: no resume, no pause, no second cancel, no completion.
    for (const a of ['resume', 'pause', 'cancel']) assert.equal((await tryAction(srv, operator, id, a)).status, 409);
    const done = await sendEvents(srv, runtime, id, { type: 'status', status: 'completed' });
    assert.equal(done.status, 409, 'a canceling session cannot complete');
    assert.equal(done.json.status, 'canceling');
    await sleep(120);
    const res = await append(srv, runtime, id, { type: 'tool_result', tool_call_id: 'slow', result: { pages: 10 } });
    assert.equal(res.status, 'canceled');
    const row = callRow(id, 'slow');
    assert.equal(row.state, 'canceled', 'the call executing at cancel ends as canceled');
    assert.ok(row.ended_at !== null, 'with an end time');
    assert.ok(row.ended_at - row.started_at >= 100, `with its duration (${row.ended_at - row.started_at} ms)`);
    const s = await getSession(srv, viewer, id);
    assert.equal(s.status, 'canceled');
    assert.ok(s.end_time, 'ended now');
    // The result event is in the feed, and the detail page shows the call canceled with a duration.
    const evs = await listEvents(srv, viewer, id);
    const result = evs.find((e) => e.type === 'tool_result' && e.tool_call_id === 'slow');
    assert.ok(result, 'tool_result event recorded');
    const page = await web.get(`/sessions/${id}?tab=activity`);
    assert.equal(page.status, 200);
    const entry = toolEntries(page.text).find((e) => e.id === 'slow');
    assert.ok(entry, 'the call is on the detail page');
    assert.equal(entry.state, 'canceled');
    assert.equal(entry.label, 'Canceled');
    assert.match(entry.duration || '', /^\d+(\.\d+)? (ms|s)$/, `duration shown: ${entry.duration}`);
    const steps = lifecycleSteps(evs);
    assert.deepEqual(steps.map((x) => `${x.action}:${x.from}>${x.to}`), ['start:pending>running', 'cancel:running>canceling', 'settle:canceling>canceled']);
    assertAuditMatches(srv, id, steps, id);
    // A tool_call after the cancel stays refused.
    await assertToolCallRefused(id, 'canceled', 'after');
    // And the error a runtime reports for a canceled call does not make it "failed".
    const id2 = await reachStatus(srv, runtime, operator, 'canceling');
    await append(srv, runtime, id2, { type: 'tool_result', tool_call_id: 'inflight', error: { category: 'aborted', message: 'stopped' } });
    assert.equal(callRow(id2, 'inflight').state, 'canceled');
    assert.equal((await getSession(srv, viewer, id2)).status, 'canceled');
  });

  it('manual and client calls do not hold up a pause; cancel resolves them as canceled at once', async () => {
    const id = await reachStatus(srv, runtime, operator, 'running');
    await append(srv, runtime, id, {
      events: [
        { type: 'tool_call', tool_call_id: 'approve', tool: 'approve_refund', kind: 'manual', arguments: { amount: 10 } },
        { type: 'tool_call', tool_call_id: 'pick', tool: 'pick_file', kind: 'client', arguments: { accept: '.pdf' } },
      ],
    });
    assert.equal(callRow(id, 'approve').state, 'waiting_for_human');
    assert.equal(callRow(id, 'pick').state, 'waiting_for_client');
    assert.equal(executing(id), 0, 'waiting calls do not count as executing');
    let r = await act(srv, operator, id, 'pause');
    assert.equal(r.status, 'paused', 'paused at once: nothing executing');
    r = await act(srv, operator, id, 'resume');
    const tasks = async () => (await srv.api('GET', '/api/v1/tasks', { token: viewer })).json.data.filter((t) => t.session_id === id);
    assert.equal((await tasks()).length, 1, 'the manual call is a task');
    r = await act(srv, operator, id, 'cancel');
    assert.deepEqual(r, { id, status: 'canceled', previous_status: 'running' }, 'canceled at once');
    for (const tc of ['approve', 'pick']) {
      const row = callRow(id, tc);
      assert.equal(row.state, 'canceled', `${tc} canceled`);
      assert.ok(row.ended_at !== null, `${tc} ended`);
    }
    assert.deepEqual(await tasks(), [], 'the task left the Work Center');
    const cc = await srv.api('GET', `/api/v1/sessions/${id}/client-tool-calls`, { token: operator });
    assert.deepEqual(cc.json.data, [], 'no client call outstanding');
    const page = await web.get(`/sessions/${id}?tab=activity`);
    const entries = toolEntries(page.text);
    assert.deepEqual(entries.map((e) => [e.id, e.state]).sort(), [['approve', 'canceled'], ['pick', 'canceled']]);
    // Late answers to them are refused: they are not waiting any more.
    const ti = await srv.api('POST', `/api/v1/sessions/${id}/input`, { token: operator, json: { type: 'tool_result', tool_call_id: 'pick', result: 'f.pdf' } });
    assert.equal(ti.status, 409, ti.text);
  });

  it('a manual call waiting plus a server call executing: cancel waits only for the server call', async () => {
    const id = await reachStatus(srv, runtime, operator, 'running');
    await append(srv, runtime, id, { type: 'tool_call', tool_call_id: 'ask', tool: 'ask_human', kind: 'manual' });
    await append(srv, runtime, id, { type: 'tool_call', tool_call_id: 'run', tool: 'compute', kind: 'server' });
    const r = await act(srv, operator, id, 'cancel');
    assert.equal(r.status, 'canceling');
    assert.equal(callRow(id, 'ask').state, 'canceled', 'the waiting call is canceled at once');
    assert.equal(callRow(id, 'run').state, 'running', 'the executing one keeps running');
    const res = await append(srv, runtime, id, { type: 'tool_result', tool_call_id: 'run', result: 42 });
    assert.equal(res.status, 'canceled');
    assert.equal(callRow(id, 'run').state, 'canceled');
  });

  it('agent calls link to the called session; canceling the caller leaves the called session alone', async () => {
    const caller = await reachStatus(srv, runtime, operator, 'running', { name: 'caller' });
    const child = await createSession(srv, runtime, {
      agent: 'sub-agent',
      name: 'called agent',
      trigger: 'agent',
      parent_session_id: caller,
      parent_tool_call_id: 'delegate',
    });
    await append(srv, runtime, child.id, { type: 'user_message', content: 'sub-task' });
    await append(srv, runtime, caller, {
      type: 'tool_call',
      tool_call_id: 'delegate',
      tool: 'sub-agent',
      kind: 'agent',
      arguments: { task: 'x' },
      called_session_id: child.id,
    });
    const withKids = await getSession(srv, viewer, caller, '?include=children');
    assert.deepEqual(withKids.children.map((c) => c.id), [child.id], 'the called session is a child of the caller');
    const page = await web.get(`/sessions/${caller}?tab=activity`);
    const entry = toolEntries(page.text).find((e) => e.id === 'delegate');
    assert.equal(entry.called, `/sessions/${child.id}`, 'the tool call links to the called session');
    const childBefore = await snapshot(srv, viewer, child.id);

    const r = await act(srv, operator, caller, 'cancel');
    assert.equal(r.status, 'canceling', 'an agent call executing holds the cancel');
    assert.deepEqual(await snapshot(srv, viewer, child.id), childBefore, 'the called session is untouched');
    // The called session keeps working and finishes on its own.
    await append(srv, runtime, child.id, { type: 'tool_call', tool_call_id: 'sub1', tool: 'search' });
    await append(srv, runtime, child.id, { type: 'tool_result', tool_call_id: 'sub1', result: 1 });
    await append(srv, runtime, caller, { type: 'tool_result', tool_call_id: 'delegate', result: 'sub done' });
    assert.equal((await getSession(srv, viewer, caller)).status, 'canceled');
    assert.equal((await getSession(srv, viewer, child.id)).status, 'running', 'cancel does not cancel called sessions');
    const childSteps = lifecycleSteps(await listEvents(srv, viewer, child.id));
    assert.deepEqual(childSteps.map((s) => s.action), ['start'], 'no lifecycle change on the called session');
    await append(srv, runtime, child.id, { type: 'status', status: 'completed' });
    assert.equal((await getSession(srv, viewer, child.id)).status, 'completed');
  });

  it('no tool_call event ever sits in a status that does not accept calls', async () => {
    // Over every session this file made.
    const ids = sql(srv, 'SELECT id FROM sessions').map((r) => r.id);
    assert.ok(ids.length >= 8);
    for (const id of ids) {
      const evs = await listEvents(srv, viewer, id);
      for (const { event, status } of statusAtEachEvent(evs)) {
        if (event.type === 'tool_call') assert.ok(['running', 'retrying'].includes(status), `${id}: tool_call ${event.tool_call_id} recorded while ${status}`);
      }
      const s = await getSession(srv, viewer, id);
      const steps = lifecycleSteps(evs);
      assertLegalWalk(steps, s.status, id);
      assertAuditMatches(srv, id, steps, id);
    }
  });
});

describe('input: client tool calls and follow-up messages', () => {
  let srv, runtime, operator, viewer;

  before(async () => {
    srv = await startServer();
    runtime = await srv.token('runtime');
    operator = await srv.token('operator', { name: 'input-op' });
    viewer = await srv.token('viewer');
  });
  after(async () => {
    await srv?.stop();
  });

  const input = (id, json, token = operator) => srv.api('POST', `/api/v1/sessions/${id}/input`, { token, json });
  const callRow = (sid, tcid) => sql(srv, `SELECT state, result, error_category, error_message FROM tool_calls WHERE session_id = ${q(sid)} AND id = ${q(tcid)}`)[0];

  it('a client call is listed with its arguments and resolved once through POST /input', async () => {
    const id = await reachStatus(srv, runtime, operator, 'running');
    await append(srv, runtime, id, { type: 'tool_call', tool_call_id: 'geo', tool: 'get_location', kind: 'client', arguments: { precision: 'city', secret: 'unmasked' } });
    await append(srv, runtime, id, { type: 'tool_call', tool_call_id: 'srv', tool: 'server_side', kind: 'server' });
    const l = await srv.api('GET', `/api/v1/sessions/${id}/client-tool-calls`, { token: operator });
    assert.equal(l.status, 200, l.text);
    assert.equal(l.json.data.length, 1, 'only the client call');
    const c = l.json.data[0];
    assert.equal(c.tool_call_id, 'geo');
    assert.equal(c.tool, 'get_location');
    assert.deepEqual(c.arguments, { precision: 'city', secret: 'unmasked' });
    assert.equal(typeof c.event_id, 'number');
    assert.ok(Math.abs(Date.parse(c.started_at) - Date.now()) < 60000, `started_at ${c.started_at}`);
    // The viewer may not read them (input permission).
    assert.equal((await srv.api('GET', `/api/v1/sessions/${id}/client-tool-calls`, { token: viewer })).status, 403);

    const evBefore = (await listEvents(srv, viewer, id)).length;
    let r = await input(id, { type: 'tool_result', tool_call_id: 'geo', result: { city: 'Lyon' } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { status: 'running', accepted: 1, duplicates: 0 });
    assert.equal(callRow(id, 'geo').state, 'succeeded');
    assert.deepEqual(JSON.parse(callRow(id, 'geo').result), { city: 'Lyon' });
    const evs = await listEvents(srv, viewer, id);
    assert.equal(evs.length, evBefore + 1);
    const last = evs[evs.length - 1];
    assert.equal(last.type, 'tool_result');
    assert.equal(last.tool_call_id, 'geo');
    assert.equal(last.actor, 'token:input-op');
    assert.deepEqual((await srv.api('GET', `/api/v1/sessions/${id}/client-tool-calls`, { token: operator })).json.data, []);

    // A second time: 409, nothing recorded.
    const before = await snapshot(srv, viewer, id);
    r = await input(id, { type: 'tool_result', tool_call_id: 'geo', result: { city: 'Paris' } });
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json.error.code, 'tool_call_not_waiting');
    assert.equal(r.json.status, 'running');
    assert.deepEqual(await snapshot(srv, viewer, id), before);
    assert.deepEqual(JSON.parse(callRow(id, 'geo').result), { city: 'Lyon' }, 'first answer kept');
    // A server call cannot be resolved as a client call; an unknown one is 404.
    r = await input(id, { type: 'tool_result', tool_call_id: 'srv', result: 1 });
    assert.equal(r.status, 409, r.text);
    r = await input(id, { type: 'tool_result', tool_call_id: 'nope', result: 1 });
    assert.equal(r.status, 404, r.text);
    assert.deepEqual(await snapshot(srv, viewer, id), before);
  });

  it('input with an idempotency key: a retried client result or message is acknowledged, not recorded twice', async () => {
    const id = await reachStatus(srv, runtime, operator, 'running');
    await append(srv, runtime, id, { type: 'tool_call', tool_call_id: 'k', tool: 'ask_user', kind: 'client' });
    const body = { type: 'tool_result', tool_call_id: 'k', result: { answer: 42 }, id: 'res-k-1' };
    let r = await input(id, body);
    assert.deepEqual(r.json, { status: 'running', accepted: 1, duplicates: 0 });
    const before = await snapshot(srv, viewer, id);
    r = await input(id, body);
    assert.equal(r.status, 200, `a retry is acknowledged: ${r.text}`);
    assert.deepEqual(r.json, { status: 'running', accepted: 0, duplicates: 1 });
    assert.deepEqual(await snapshot(srv, viewer, id), before, 'nothing recorded twice');
    // Without the key, or with another one, it is a second answer: 409.
    for (const b of [{ ...body, id: undefined }, { ...body, id: 'res-k-2' }]) {
      r = await input(id, b);
      assert.equal(r.status, 409, r.text);
    }
    // Bad keys are refused before anything happens.
    for (const bad of ['', 7, 'x'.repeat(129)]) {
      r = await input(id, { ...body, id: bad });
      assert.equal(r.status, 422, `${JSON.stringify(bad).slice(0, 20)}: ${r.text}`);
    }
    // A follow-up message with a key: once.
    const msg = { type: 'message', content: 'thanks', id: 'msg-1' };
    assert.equal((await input(id, msg)).json.accepted, 1);
    const once = await snapshot(srv, viewer, id);
    r = await input(id, msg);
    assert.deepEqual(r.json, { status: 'running', accepted: 0, duplicates: 1 });
    assert.deepEqual(await snapshot(srv, viewer, id), once);
    assert.equal(once.events.filter((e) => e.type === 'user_message' && e.data.content === 'thanks').length, 1);
  });

  it('a client call answered with an error fails; bad input bodies are 422 and record nothing', async () => {
    const id = await reachStatus(srv, runtime, operator, 'running');
    await append(srv, runtime, id, { type: 'tool_call', tool_call_id: 'cam', tool: 'take_photo', kind: 'client' });
    const before = await snapshot(srv, viewer, id);
    for (const body of [
      { type: 'tool_result', tool_call_id: 'cam' },
      { type: 'tool_result', tool_call_id: 'cam', result: 1, error: { category: 'x', message: 'y' } },
      { type: 'tool_result', tool_call_id: 'cam', error: { message: 'no category' } },
      { type: 'tool_result', tool_call_id: 'cam', result: 1, extra: true },
      { type: 'tool_result', result: 1 },
      { type: 'nonsense' },
      { type: 'message', content: 'x', bogus: 1 },
    ]) {
      const r = await input(id, body);
      assert.equal(r.status, 422, `${JSON.stringify(body)}: ${r.status} ${r.text}`);
    }
    assert.deepEqual(await snapshot(srv, viewer, id), before);
    assert.equal(callRow(id, 'cam').state, 'waiting_for_client');
    const r = await input(id, { type: 'tool_result', tool_call_id: 'cam', error: { category: 'denied', message: 'camera blocked' } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(callRow(id, 'cam'), { state: 'failed', result: null, error_category: 'denied', error_message: 'camera blocked' });
  });

  it('a client result while paused is recorded but does not resume the session', async () => {
    const id = await reachStatus(srv, runtime, operator, 'running');
    await append(srv, runtime, id, { type: 'tool_call', tool_call_id: 'cl', tool: 'confirm', kind: 'client' });
    await act(srv, operator, id, 'pause');
    const r = await input(id, { type: 'tool_result', tool_call_id: 'cl', result: true });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'paused');
    assert.equal(callRow(id, 'cl').state, 'succeeded');
  });

  for (const from of ['completed', 'failed']) {
    it(`a follow-up message to a ${from} session continues it: 200, running, lifecycle "continue"`, async () => {
      const id = await reachStatus(srv, runtime, operator, from);
      const r = await input(id, { type: 'message', content: 'And one more thing…' });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, { status: 'running', accepted: 1, duplicates: 0 });
      const s = await getSession(srv, viewer, id);
      assert.equal(s.status, 'running');
      assert.equal(s.end_time, null, 'no longer ended');
      const evs = await listEvents(srv, viewer, id);
      const tail = evs.slice(-2);
      assert.equal(tail[0].type, 'lifecycle');
      assert.deepEqual([tail[0].data.action, tail[0].data.from, tail[0].data.to], ['continue', from, 'running']);
      assert.equal(tail[0].actor, 'token:input-op');
      assert.equal(tail[1].type, 'user_message');
      assert.equal(tail[1].data.content, 'And one more thing…');
      const steps = lifecycleSteps(evs);
      assertLegalWalk(steps, 'running', id);
      assertAuditMatches(srv, id, steps, id);
      // The same session goes on: tool calls are accepted again, and it can complete again.
      await append(srv, runtime, id, { type: 'tool_call', tool_call_id: 'again', tool: 'search' });
      await append(srv, runtime, id, { type: 'tool_result', tool_call_id: 'again', result: 1 });
      assert.equal((await append(srv, runtime, id, { type: 'status', status: 'completed' })).status, 'completed');
    });
  }

  it('a follow-up message to a canceled session: 409 session_canceled, nothing recorded', async () => {
    const id = await reachStatus(srv, runtime, operator, 'canceled');
    const before = await snapshot(srv, viewer, id);
    const r = await input(id, { type: 'message', content: 'please continue' });
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json.error.code, 'session_canceled');
    assert.equal(r.json.status, 'canceled');
    // The runtime cannot sneak one in either.
    const e = await sendEvents(srv, runtime, id, { type: 'user_message', content: 'continue' });
    assert.equal(e.status, 409, e.text);
    assert.equal(e.json.error.code, 'session_canceled');
    assert.deepEqual(await snapshot(srv, viewer, id), before);
  });

  it('a message to a running or paused session is recorded without a status change', async () => {
    for (const st of ['running', 'paused']) {
      const id = await reachStatus(srv, runtime, operator, st);
      const n = lifecycleSteps(await listEvents(srv, viewer, id)).length;
      const r = await input(id, { type: 'message', content: 'fyi' });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.status, st);
      assert.equal(lifecycleSteps(await listEvents(srv, viewer, id)).length, n);
    }
  });

  it('the viewer may not send input (403), and nothing is recorded', async () => {
    const id = await reachStatus(srv, runtime, operator, 'completed');
    const before = await snapshot(srv, viewer, id);
    const r = await input(id, { type: 'message', content: 'x' }, viewer);
    assert.equal(r.status, 403, r.text);
    assert.deepEqual(await snapshot(srv, viewer, id), before);
  });
});
