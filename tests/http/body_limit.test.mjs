// Oversized bodies are refused with 413 before they are read, and write
// nothing. A dedicated server with FLIGHTDECK_MAX_BODY=65536 keeps the
// bodies small; a body just under the limit passes, so the limit (not the
// content) is what refuses the big one.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { createSession, listSessions, listEvents } from '../lib/fixtures.mjs';

const LIMIT = 65536;

describe('body size limit (FLIGHTDECK_MAX_BODY)', () => {
  let srv, runtime, viewer;

  before(async () => {
    srv = await startServer({ env: { FLIGHTDECK_MAX_BODY: String(LIMIT) } });
    runtime = await srv.token('runtime');
    viewer = await srv.token('viewer');
  });
  after(async () => {
    await srv?.stop();
  });

  /** A session-create body of exactly n bytes (a long prompt). */
  function bodyOf(n) {
    const head = JSON.stringify({ agent: 'big', prompt: '' });
    return JSON.stringify({ agent: 'big', prompt: 'p'.repeat(n - head.length) });
  }

  it('a body over the limit: 413, nothing created', async () => {
    const before = await listSessions(srv, viewer);
    const body = bodyOf(LIMIT + 1);
    assert.equal(Buffer.byteLength(body), LIMIT + 1);
    const r = await srv.api('POST', '/api/v1/sessions', { token: runtime, body, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 413, r.text);
    assert.equal(r.json.error.code, 'body_too_large');
    assert.equal(typeof r.json.error.message, 'string');
    const much = await srv.api('POST', '/api/v1/sessions', {
      token: runtime,
      body: bodyOf(4 * LIMIT),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(much.status, 413, much.text);
    assert.deepEqual(await listSessions(srv, viewer), before);
  });

  it('a body of exactly the limit is accepted', async () => {
    const body = bodyOf(LIMIT);
    assert.equal(Buffer.byteLength(body), LIMIT);
    const r = await srv.api('POST', '/api/v1/sessions', { token: runtime, body, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 201, r.text);
  });

  it('an oversized event batch: 413, nothing appended', async () => {
    const s = await createSession(srv, runtime, { agent: 'small' });
    const before = await listEvents(srv, viewer, s.id);
    const events = [];
    for (let i = 0; i < 40; i++) events.push({ type: 'thought', content: 'x'.repeat(2000) });
    const body = JSON.stringify({ events });
    assert.ok(Buffer.byteLength(body) > LIMIT);
    const r = await srv.api('POST', `/api/v1/sessions/${s.id}/events`, { token: runtime, body, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 413, r.text);
    assert.equal(r.json.error.code, 'body_too_large');
    assert.deepEqual(await listEvents(srv, viewer, s.id), before);
    const after = await srv.api('GET', `/api/v1/sessions/${s.id}`, { token: viewer });
    assert.equal(after.json.status, 'pending', 'the refused batch did not start the session');
  });

  it('the app keeps serving after refusing big bodies', async () => {
    const r = await srv.api('GET', '/healthz');
    assert.equal(r.status, 200);
    const s = await createSession(srv, runtime, { agent: 'after-413' });
    assert.equal(s.status, 'pending');
  });
});
