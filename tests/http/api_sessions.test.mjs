// The runtime protocol end to end (DESIGN.md sections 5 and 9): a runtime
// creates a session, reports its activity one event at a time and as a batch,
// completes it; the session is then the newest in the list with every field
// filled in. Also: runtime-chosen ids, idempotent appends, and the rule that
// no tool call may start unless the session is running.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { createSession, append, listSessions, listEvents, getSession, act, sessionLinks } from '../lib/fixtures.mjs';

describe('runtime protocol', () => {
  let srv, runtime, admin, viewer;

  before(async () => {
    srv = await startServer();
    runtime = await srv.token('runtime');
    admin = await srv.token('admin');
    viewer = await srv.token('viewer');
  });
  after(async () => {
    await srv?.stop();
  });

  let sid; // the session of the one-at-a-time flow

  it('creates a session: 201, Location, generated id, status pending', async () => {
    const r = await srv.api('POST', '/api/v1/sessions', {
      token: runtime,
      json: {
        agent: 'support-bot',
        name: 'Refund request #4411',
        kind: 'agent',
        trigger: 'api',
        project: 'default',
        env: 'prod',
        prompt: 'Help the customer with their refund.',
        inputs: { order: '4411' },
        metadata: { customer: 'acme', tier: 'gold' },
      },
    });
    assert.equal(r.status, 201, r.text);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    const s = r.json;
    assert.match(s.id, /^ses_[A-Za-z0-9_-]{20}$/);
    assert.equal(r.headers.get('location'), `/api/v1/sessions/${s.id}`);
    assert.equal(s.status, 'pending');
    assert.equal(s.pending, true);
    assert.equal(s.name, 'Refund request #4411');
    assert.equal(s.agent, 'support-bot');
    assert.equal(s.env, 'prod');
    assert.deepEqual(s.metadata, { customer: 'acme', tier: 'gold' });
    assert.deepEqual(s.inputs, { order: '4411' });
    assert.equal(s.start_time, null, 'a pending session has not started');
    sid = s.id;
  });

  it('the Location answers GET with the same session', async () => {
    const s = await getSession(srv, viewer, sid);
    assert.equal(s.id, sid);
    assert.equal(s.status, 'pending');
  });

  it('appends events one at a time; the first starts the session', async () => {
    let r = await append(srv, runtime, sid, { type: 'user_message', content: 'I want a refund for order 4411.' });
    assert.equal(r.status, 'running');
    assert.equal(r.accepted, 1);
    assert.equal(r.duplicates, 0);
    assert.equal(r.events.length, 1);
    assert.equal(typeof r.events[0].seq, 'number');

    r = await append(srv, runtime, sid, { type: 'thought', content: 'Look the order up first.' });
    assert.equal(r.status, 'running');
    r = await append(srv, runtime, sid, {
      type: 'tool_call',
      tool_call_id: 'call-1',
      tool: 'lookup_order',
      kind: 'server',
      arguments: { order: '4411' },
    });
    assert.equal(r.accepted, 1);
    r = await append(srv, runtime, sid, {
      type: 'tool_result',
      tool_call_id: 'call-1',
      result: { order: '4411', amount: 129.5, refundable: true },
      retries: 1,
    });
    assert.equal(r.accepted, 1);
    r = await append(srv, runtime, sid, {
      type: 'usage',
      model: 'gpt-test-1',
      prompt_tokens: 1200,
      completion_tokens: 300,
      cost: 0.0125,
    });
    r = await append(srv, runtime, sid, { type: 'error', message: 'payment gateway timed out', step: 'refund' });
    assert.equal(r.status, 'running', 'an error event alone does not end the session');
    r = await append(srv, runtime, sid, {
      type: 'status',
      status: 'completed',
      response: 'Your refund of $129.50 is on its way.',
    });
    assert.equal(r.status, 'completed');
  });

  it('the completed session is the first row of GET /api/v1/sessions', async () => {
    const rows = await listSessions(srv, viewer);
    assert.ok(rows.length >= 1);
    assert.equal(rows[0].id, sid);
    assert.equal(rows[0].status, 'completed');
    const r = await srv.api('GET', '/api/v1/sessions?limit=1', { token: viewer });
    assert.equal(r.status, 200);
    assert.equal(r.json.data.length, 1);
    assert.equal(r.json.data[0].id, sid);
    assert.ok('next_cursor' in r.json, 'lists carry next_cursor');
  });

  it('... and the first row of the /sessions page, its events on /sessions/{id}', async () => {
    const web = await srv.login('admin', srv.adminPassword);
    const list = await web.get('/sessions');
    assert.equal(list.status, 200);
    assert.equal(sessionLinks(list.text)[0], sid, 'first row of the History page');
    assert.ok(list.text.includes('Refund request #4411'));
    const page = await web.get(`/sessions/${sid}?tab=activity`);
    assert.equal(page.status, 200);
    for (const text of [
      'Refund request #4411',
      'I want a refund for order 4411.',
      'Look the order up first.',
      'lookup_order',
      'gpt-test-1',
      'payment gateway timed out',
      'Your refund of $129.50 is on its way.',
    ]) {
      assert.ok(page.text.includes(text), `/sessions/${sid} shows ${JSON.stringify(text)}`);
    }
  });

  it('GET /api/v1/sessions/{id} has the outcome, usage, times and cost', async () => {
    const s = await getSession(srv, viewer, sid);
    assert.equal(s.status, 'completed');
    assert.equal(s.success, true);
    assert.equal(s.pending, false);
    assert.equal(s.final_response, 'Your refund of $129.50 is on its way.');
    assert.equal(s.llm_prompt_token_count, 1200);
    assert.equal(s.llm_completion_token_count, 300);
    assert.ok(Math.abs(s.llm_cost - 0.0125) < 1e-9, `llm_cost ${s.llm_cost}`);
    assert.ok(Math.abs(s.total_cost - 0.0125) < 1e-9, `total_cost ${s.total_cost}`);
    assert.deepEqual(s.models, ['gpt-test-1']);
    assert.match(s.start_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.match(s.end_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.ok(Date.parse(s.end_time) >= Date.parse(s.start_time));
    assert.equal(typeof s.duration, 'number');
    assert.ok(s.duration >= 0);
    assert.equal(s.trigger, 'api');
    assert.equal(s.project, 'default');
    assert.equal(s.kind, 'agent');
    assert.deepEqual(s.metadata, { customer: 'acme', tier: 'gold' });
    assert.match(s.created_at, /Z$/);
  });

  it('the events come back in order, with their payloads', async () => {
    const evs = await listEvents(srv, viewer, sid);
    const seqs = evs.map((e) => e.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'ordered by seq');
    assert.equal(new Set(seqs).size, seqs.length, 'seq unique');
    const types = evs.filter((e) => e.type !== 'lifecycle').map((e) => e.type);
    assert.deepEqual(types, ['user_message', 'thought', 'tool_call', 'tool_result', 'usage', 'error', 'assistant_message']);
    const by = (t) => evs.find((e) => e.type === t);
    assert.equal(by('user_message').data.content, 'I want a refund for order 4411.');
    assert.equal(by('thought').data.content, 'Look the order up first.');
    assert.equal(by('tool_call').tool_call_id, 'call-1');
    assert.equal(by('tool_call').data.tool, 'lookup_order');
    assert.deepEqual(by('tool_call').data.arguments, { order: '4411' });
    assert.deepEqual(by('tool_result').data.result, { order: '4411', amount: 129.5, refundable: true });
    assert.equal(by('usage').data.model, 'gpt-test-1');
    assert.equal(by('error').data.message, 'payment gateway timed out');
    assert.equal(by('error').data.step, 'refund');
    assert.equal(by('assistant_message').data.content, 'Your refund of $129.50 is on its way.');
    // Transitions are in the feed too (DESIGN.md section 4: every transition is an event).
    assert.ok(evs.some((e) => e.type === 'lifecycle'), 'lifecycle events recorded');
  });

  it('include=events embeds the same events', async () => {
    const s = await getSession(srv, viewer, sid, '?include=events');
    assert.ok(Array.isArray(s.events));
    const evs = await listEvents(srv, viewer, sid);
    assert.deepEqual(
      s.events.map((e) => e.seq),
      evs.map((e) => e.seq),
    );
  });

  it('GET events pages with limit/after and filters by type', async () => {
    const all = await listEvents(srv, viewer, sid);
    let r = await srv.api('GET', `/api/v1/sessions/${sid}/events?limit=2`, { token: viewer });
    assert.equal(r.status, 200);
    assert.equal(r.json.data.length, 2);
    assert.equal(r.json.next_cursor, String(all[1].seq));
    r = await srv.api('GET', `/api/v1/sessions/${sid}/events?after=${all[1].seq}&limit=1000`, { token: viewer });
    assert.deepEqual(
      r.json.data.map((e) => e.seq),
      all.slice(2).map((e) => e.seq),
    );
    assert.equal(r.json.next_cursor, null);
    r = await srv.api('GET', `/api/v1/sessions/${sid}/events?type=thought`, { token: viewer });
    assert.deepEqual(
      r.json.data.map((e) => e.type),
      ['thought'],
    );
  });

  it('a tool call in a completed session is refused with 409 and its status', async () => {
    const before = (await listEvents(srv, viewer, sid)).length;
    const r = await srv.api('POST', `/api/v1/sessions/${sid}/events`, {
      token: runtime,
      json: { type: 'tool_call', tool_call_id: 'call-late', tool: 'send_email' },
    });
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json.status, 'completed');
    assert.equal(typeof r.json.error.code, 'string');
    assert.equal(typeof r.json.error.message, 'string');
    assert.equal((await listEvents(srv, viewer, sid)).length, before, 'nothing recorded');
  });

  it('appends a whole run as one batch', async () => {
    const s = await createSession(srv, runtime, { agent: 'batch-bot', name: 'Batch run' });
    const r = await append(srv, runtime, s.id, {
      events: [
        { type: 'user_message', content: 'Summarize the report.' },
        { type: 'thought', content: 'Fetch it.' },
        { type: 'tool_call', tool_call_id: 't1', tool: 'fetch_report', arguments: { id: 7 } },
        { type: 'tool_result', tool_call_id: 't1', error: { category: 'timeout', message: 'upstream slow' } },
        { type: 'usage', model: 'm-1', prompt_tokens: 10, completion_tokens: 5, cost: 0.001 },
        { type: 'error', message: 'could not fetch', step: 'fetch' },
        { type: 'status', status: 'completed', response: 'No report available.' },
      ],
    });
    assert.equal(r.accepted, 7);
    assert.equal(r.duplicates, 0);
    assert.equal(r.status, 'completed');
    assert.equal(r.events.length, 7);
    const evs = await listEvents(srv, viewer, s.id);
    assert.deepEqual(
      evs.filter((e) => e.type !== 'lifecycle').map((e) => e.type),
      ['user_message', 'thought', 'tool_call', 'tool_result', 'usage', 'error', 'assistant_message'],
    );
    const got = await getSession(srv, viewer, s.id);
    assert.equal(got.status, 'completed');
    assert.equal(got.llm_prompt_token_count, 10);
    assert.equal(got.final_response, 'No report available.');
    const rows = await listSessions(srv, viewer);
    assert.equal(rows[0].id, s.id, 'the newest run is the first row');
  });

  it('a runtime may choose the session id; the same id twice is 409', async () => {
    const r1 = await srv.api('POST', '/api/v1/sessions', { token: runtime, json: { id: 'run-2024_abc', agent: 'a' } });
    assert.equal(r1.status, 201, r1.text);
    assert.equal(r1.json.id, 'run-2024_abc');
    assert.equal(r1.headers.get('location'), '/api/v1/sessions/run-2024_abc');
    const n = (await listSessions(srv, viewer)).length;
    const r2 = await srv.api('POST', '/api/v1/sessions', { token: runtime, json: { id: 'run-2024_abc', agent: 'b' } });
    assert.equal(r2.status, 409, r2.text);
    assert.equal(r2.json.error.field, 'id');
    assert.equal((await listSessions(srv, viewer)).length, n);
    assert.equal((await getSession(srv, viewer, 'run-2024_abc')).agent, 'a', 'the first one is untouched');
  });

  it('JSON bodies as people send them (pretty-printed, trailing newline) are accepted', async () => {
    for (const body of ['{"agent":"plain"}', '  {\n  "agent": "pretty"\n}\n', '{"agent":"crlf"}\r\n']) {
      const r = await srv.api('POST', '/api/v1/sessions', { token: runtime, body, headers: { 'content-type': 'application/json' } });
      assert.equal(r.status, 201, `${JSON.stringify(body)}: ${r.status} ${r.text}`);
      assert.equal(r.json.agent, JSON.parse(body).agent);
    }
  });

  it('status "running" at create starts the session at once', async () => {
    const s = await createSession(srv, runtime, { agent: 'eager', status: 'running' });
    assert.equal(s.status, 'running');
    assert.match(s.start_time, /Z$/);
  });

  it('appends are idempotent when events carry ids', async () => {
    const s = await createSession(srv, runtime, { agent: 'retrier' });
    const batch = {
      events: [
        { id: 'ev-1', type: 'user_message', content: 'hello' },
        { id: 'ev-2', type: 'thought', content: 'think' },
        { id: 'ev-3', type: 'tool_call', tool_call_id: 'c1', tool: 'search' },
        { id: 'ev-4', type: 'usage', prompt_tokens: 100, completion_tokens: 10, cost: 0.5 },
      ],
    };
    const r1 = await append(srv, runtime, s.id, batch);
    assert.equal(r1.accepted, 4);
    assert.equal(r1.duplicates, 0);
    const evs1 = await listEvents(srv, viewer, s.id);

    const r2 = await append(srv, runtime, s.id, batch);
    assert.equal(r2.accepted, 0);
    assert.equal(r2.duplicates, 4);
    assert.deepEqual(
      r2.events.map((e) => e.duplicate),
      [true, true, true, true],
    );
    assert.deepEqual(
      r2.events.map((e) => e.seq),
      r1.events.map((e) => e.seq),
      'a duplicate answers with the original seq',
    );
    // One retried alone, and one new event mixed with an old one.
    const r3 = await append(srv, runtime, s.id, { id: 'ev-2', type: 'thought', content: 'think' });
    assert.equal(r3.duplicates, 1);
    assert.equal(r3.accepted, 0);
    const evs2 = await listEvents(srv, viewer, s.id);
    assert.deepEqual(evs2, evs1, 'nothing duplicated');
    const got = await getSession(srv, viewer, s.id);
    assert.equal(got.llm_prompt_token_count, 100, 'usage counted once');
    assert.ok(Math.abs(got.total_cost - 0.5) < 1e-9);

    const r4 = await append(srv, runtime, s.id, {
      events: [
        { id: 'ev-4', type: 'usage', prompt_tokens: 100, completion_tokens: 10, cost: 0.5 },
        { id: 'ev-5', type: 'tool_result', tool_call_id: 'c1', result: 'ok' },
      ],
    });
    assert.equal(r4.accepted, 1);
    assert.equal(r4.duplicates, 1);
    assert.equal((await listEvents(srv, viewer, s.id)).length, evs1.length + 1);
    assert.equal((await getSession(srv, viewer, s.id)).llm_prompt_token_count, 100);
  });

  it('a tool call after pause is refused: 409 with the status, nothing recorded', async () => {
    const s = await createSession(srv, runtime, { agent: 'pausable', status: 'running' });
    await append(srv, runtime, s.id, { type: 'user_message', content: 'go' });
    const p = await act(srv, admin, s.id, 'pause');
    assert.equal(p.status, 'paused', 'no tool call executing: paused at once');
    assert.equal(p.previous_status, 'running');
    assert.equal((await getSession(srv, viewer, s.id)).status, 'paused');
    const before = await listEvents(srv, viewer, s.id);

    const r = await srv.api('POST', `/api/v1/sessions/${s.id}/events`, {
      token: runtime,
      json: { type: 'tool_call', tool_call_id: 'after-pause', tool: 'delete_everything', arguments: {} },
    });
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json.status, 'paused');
    assert.equal(r.json.error.code, 'session_not_running');

    // Inside a batch: the events before the refused call are not kept either.
    const rb = await srv.api('POST', `/api/v1/sessions/${s.id}/events`, {
      token: runtime,
      json: {
        events: [
          { type: 'thought', content: 'try anyway' },
          { type: 'tool_call', tool_call_id: 'after-pause-2', tool: 'x' },
        ],
      },
    });
    assert.equal(rb.status, 409, rb.text);
    assert.equal(rb.json.status, 'paused');
    assert.deepEqual(await listEvents(srv, viewer, s.id), before, 'nothing recorded');
    assert.equal((await getSession(srv, viewer, s.id)).status, 'paused');

    // Resumed, the same tool call goes through.
    assert.equal((await act(srv, admin, s.id, 'resume')).status, 'running');
    const ok = await append(srv, runtime, s.id, { type: 'tool_call', tool_call_id: 'after-pause', tool: 'delete_everything' });
    assert.equal(ok.accepted, 1);
  });

  it('pause while a tool call executes: pausing, no new tool call, paused when it ends', async () => {
    const s = await createSession(srv, runtime, { agent: 'busy-pause', status: 'running' });
    await append(srv, runtime, s.id, { type: 'tool_call', tool_call_id: 'long', tool: 'crawl', kind: 'server' });
    const p = await act(srv, admin, s.id, 'pause');
    assert.equal(p.status, 'pausing');
    const before = await listEvents(srv, viewer, s.id);
    const r = await srv.api('POST', `/api/v1/sessions/${s.id}/events`, {
      token: runtime,
      json: { type: 'tool_call', tool_call_id: 'second', tool: 'crawl' },
    });
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json.status, 'pausing');
    assert.deepEqual(await listEvents(srv, viewer, s.id), before, 'nothing recorded');
    // The call in flight finishes; then the session is paused.
    const done = await append(srv, runtime, s.id, { type: 'tool_result', tool_call_id: 'long', result: 'ok' });
    assert.equal(done.status, 'paused');
    assert.equal((await getSession(srv, viewer, s.id)).status, 'paused');
  });

  it('a canceled session refuses tool calls for good', async () => {
    const s = await createSession(srv, runtime, { agent: 'cancelable', status: 'running' });
    assert.equal((await act(srv, admin, s.id, 'cancel')).status, 'canceled');
    const r = await srv.api('POST', `/api/v1/sessions/${s.id}/events`, {
      token: runtime,
      json: { type: 'tool_call', tool_call_id: 'late', tool: 'x' },
    });
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json.status, 'canceled');
    const again = await srv.api('POST', `/api/v1/sessions/${s.id}/resume`, { token: admin });
    assert.equal(again.status, 409, 'cancel is permanent');
    assert.equal(again.json.status, 'canceled');
  });

  it('a failed run records its error and step', async () => {
    const s = await createSession(srv, runtime, { agent: 'fragile' });
    const r = await append(srv, runtime, s.id, {
      events: [
        { type: 'user_message', content: 'do it' },
        { type: 'status', status: 'failed', error: 'disk full', step: 'write' },
      ],
    });
    assert.equal(r.status, 'failed');
    const got = await getSession(srv, viewer, s.id);
    assert.equal(got.status, 'failed');
    assert.equal(got.success, false);
    assert.equal(got.error, 'disk full');
    assert.equal(got.error_step, 'write');
    assert.ok(got.end_time);
    // A finished session does not go back to running.
    const back = await srv.api('POST', `/api/v1/sessions/${s.id}/events`, { token: runtime, json: { type: 'status', status: 'running' } });
    assert.equal(back.status, 409, back.text);
    assert.equal(back.json.status, 'failed');
  });

  it('lists filter by status and agent, and page with next_cursor', async () => {
    let r = await srv.api('GET', '/api/v1/sessions?status=failed', { token: viewer });
    assert.equal(r.status, 200);
    assert.ok(r.json.data.length >= 1);
    assert.ok(r.json.data.every((s) => s.status === 'failed'));
    r = await srv.api('GET', '/api/v1/sessions?agent=batch-bot', { token: viewer });
    assert.deepEqual(
      r.json.data.map((s) => s.agent),
      ['batch-bot'],
    );
    const all = await listSessions(srv, viewer);
    assert.ok(all.length >= 4);
    const seen = [];
    let cursor = '';
    for (let i = 0; i < 20; i++) {
      r = await srv.api('GET', `/api/v1/sessions?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token: viewer });
      assert.equal(r.status, 200, r.text);
      seen.push(...r.json.data.map((s) => s.id));
      if (!r.json.next_cursor) break;
      cursor = r.json.next_cursor;
    }
    assert.deepEqual(
      seen,
      all.map((s) => s.id),
      'cursor pages add up to the whole list, in order',
    );
  });
});
