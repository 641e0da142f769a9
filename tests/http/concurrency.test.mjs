// Many requests at once (DESIGN.md sections 4, 5): concurrent appends never
// lose, duplicate or reorder events; a retried batch racing its original is
// recorded once; two runtimes racing for the same session id get one 201 and
// one 409; nobody gets a 500; pages keep answering meanwhile.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { createSession, listEvents, getSession } from '../lib/fixtures.mjs';

describe('concurrent requests', () => {
  let srv, runtime, viewer;

  before(async () => {
    srv = await startServer();
    runtime = await srv.token('runtime');
    viewer = await srv.token('viewer');
  });
  after(async () => {
    await srv?.stop();
  });

  it('40 appends at once: all recorded, sequence numbers unique and gapless', async () => {
    const s = await createSession(srv, runtime, { agent: 'parallel', status: 'running' });
    const N = 40;
    const rs = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        srv.api('POST', `/api/v1/sessions/${s.id}/events`, { token: runtime, json: { type: 'thought', content: `t${i}` } }),
      ),
    );
    for (const r of rs) assert.equal(r.status, 200, r.text);
    const evs = await listEvents(srv, viewer, s.id);
    const thoughts = evs.filter((e) => e.type === 'thought').map((e) => e.data.content);
    assert.equal(thoughts.length, N);
    assert.deepEqual(new Set(thoughts), new Set(Array.from({ length: N }, (_, i) => `t${i}`)));
    const seqs = evs.map((e) => e.seq);
    assert.deepEqual(
      seqs,
      Array.from({ length: evs.length }, (_, i) => seqs[0] + i),
      'gapless, ordered',
    );
    // Each response's seq is the one the event got.
    const got = new Map(evs.map((e) => [e.data.content, e.seq]));
    rs.forEach((r, i) => assert.equal(r.json.events[0].seq, got.get(`t${i}`)));
  });

  it('the same batch retried 12 times at once is recorded once', async () => {
    const s = await createSession(srv, runtime, { agent: 'retry-storm' });
    const batch = {
      events: [
        { id: 'r-1', type: 'user_message', content: 'once' },
        { id: 'r-2', type: 'usage', prompt_tokens: 7, completion_tokens: 3, cost: 0.25 },
        { id: 'r-3', type: 'tool_call', tool_call_id: 'only-one', tool: 'charge_card' },
      ],
    };
    const rs = await Promise.all(
      Array.from({ length: 12 }, () => srv.api('POST', `/api/v1/sessions/${s.id}/events`, { token: runtime, json: batch })),
    );
    for (const r of rs) assert.equal(r.status, 200, r.text);
    assert.equal(
      rs.reduce((n, r) => n + r.json.accepted, 0),
      3,
      'accepted once in total',
    );
    assert.equal(
      rs.reduce((n, r) => n + r.json.duplicates, 0),
      33,
    );
    const evs = await listEvents(srv, viewer, s.id);
    assert.equal(evs.filter((e) => e.type === 'user_message').length, 1);
    assert.equal(evs.filter((e) => e.type === 'tool_call').length, 1);
    const got = await getSession(srv, viewer, s.id);
    assert.equal(got.llm_prompt_token_count, 7, 'usage counted once');
    assert.ok(Math.abs(got.total_cost - 0.25) < 1e-9);
  });

  it('two runtimes racing for one session id: one 201, the rest 409', async () => {
    const rs = await Promise.all(
      Array.from({ length: 10 }, (_, i) => srv.api('POST', '/api/v1/sessions', { token: runtime, json: { id: 'race-me', agent: `a${i}` } })),
    );
    const codes = rs.map((r) => r.status).sort();
    assert.deepEqual(codes, [201, 409, 409, 409, 409, 409, 409, 409, 409, 409], rs.map((r) => r.text).join('\n'));
  });

  it('pages and health keep answering while the API is busy', async () => {
    const web = await srv.login('admin', srv.adminPassword);
    const s = await createSession(srv, runtime, { agent: 'busy', status: 'running' });
    const writes = Array.from({ length: 30 }, (_, i) =>
      srv.api('POST', `/api/v1/sessions/${s.id}/events`, {
        token: runtime,
        json: { events: Array.from({ length: 20 }, (_, k) => ({ type: 'thought', content: `w${i}-${k}` })) },
      }),
    );
    const reads = Array.from({ length: 10 }, () => web.get('/sessions'));
    const health = Array.from({ length: 10 }, () => srv.api('GET', '/healthz'));
    const [w, r, h] = await Promise.all([Promise.all(writes), Promise.all(reads), Promise.all(health)]);
    for (const x of w) assert.equal(x.status, 200, x.text);
    for (const x of r) assert.equal(x.status, 200);
    for (const x of h) assert.equal(x.status, 200);
    const evs = await listEvents(srv, viewer, s.id);
    assert.equal(evs.filter((e) => e.type === 'thought').length, 600);
  });
});
