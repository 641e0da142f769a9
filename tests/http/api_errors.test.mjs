// Bad input (DESIGN.md section 8): every refusal has the right status and
// the error shape {"error":{"code","message","field"?}}, and writes nothing:
// the session list and the event list are the same before and after.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer } from '../lib/server.mjs';
import { createSession, append, listSessions, listEvents } from '../lib/fixtures.mjs';

/** Assert the JSON error shape; returns the error object. */
function apiError(r, status, code) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text}`);
  assert.match(r.headers.get('content-type') || '', /^application\/json/, 'errors are JSON on the API');
  assert.ok(r.json && typeof r.json.error === 'object', `error object in ${r.text}`);
  assert.equal(typeof r.json.error.message, 'string');
  assert.ok(r.json.error.message.length > 0, 'a message a person can read');
  if (code) assert.equal(r.json.error.code, code);
  else assert.equal(typeof r.json.error.code, 'string');
  return r.json.error;
}

/** A raw request (no client-side URL normalization). */
function rawRequest(port, method, path, headers = {}, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('bad input on the API', () => {
  let srv, runtime, viewer, operator, sid;
  let sessionsBefore, eventsBefore;

  /** The state every refused request must leave alone. */
  async function snapshot() {
    return { sessions: await listSessions(srv, viewer), events: await listEvents(srv, viewer, sid) };
  }
  async function assertUnchanged(what) {
    const now = await snapshot();
    assert.deepEqual(
      now.sessions.map((s) => [s.id, s.status, s.updated_at]),
      sessionsBefore.map((s) => [s.id, s.status, s.updated_at]),
      `${what}: the session list changed`,
    );
    assert.deepEqual(now.events, eventsBefore, `${what}: the events changed`);
  }

  before(async () => {
    srv = await startServer();
    runtime = await srv.token('runtime');
    viewer = await srv.token('viewer');
    operator = await srv.token('operator');
    const s = await createSession(srv, runtime, { agent: 'target', name: 'Target' });
    sid = s.id;
    await append(srv, runtime, sid, {
      events: [
        { type: 'user_message', content: 'hi' },
        { type: 'tool_call', tool_call_id: 'open-call', tool: 'search' },
      ],
    });
    ({ sessions: sessionsBefore, events: eventsBefore } = await snapshot());
    assert.ok(eventsBefore.length >= 2);
  });
  after(async () => {
    await srv?.stop();
  });

  it('no token: 401 with WWW-Authenticate, nothing written', async () => {
    let r = await srv.api('POST', '/api/v1/sessions', { json: { agent: 'x' } });
    apiError(r, 401, 'unauthorized');
    assert.match(r.headers.get('www-authenticate') || '', /^Bearer\b/);
    r = await srv.api('POST', `/api/v1/sessions/${sid}/events`, { json: { type: 'thought', content: 'x' } });
    apiError(r, 401, 'unauthorized');
    assert.match(r.headers.get('www-authenticate') || '', /^Bearer\b/);
    r = await srv.api('GET', '/api/v1/sessions');
    apiError(r, 401, 'unauthorized');
    await assertUnchanged('no token');
  });

  it('a cookie does not authenticate the API', async () => {
    const web = await srv.login('admin', srv.adminPassword);
    const r = await web.request('POST', '/api/v1/sessions', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ agent: 'csrf-attack' }),
    });
    assert.equal(r.status, 401, r.text);
    await assertUnchanged('cookie on the API');
  });

  it('a bad token: 401, nothing written', async () => {
    for (const auth of ['Bearer fdt_not-a-real-token-000000000000000000000000', 'Bearer ', 'Basic YWRtaW46YWRtaW4=', `Bearer ${runtime}x`]) {
      const r = await srv.api('POST', '/api/v1/sessions', { headers: { authorization: auth }, json: { agent: 'x' } });
      apiError(r, 401, 'unauthorized');
    }
    await assertUnchanged('bad token');
  });

  it('a viewer token may read but not write: 403, nothing written', async () => {
    let r = await srv.api('POST', '/api/v1/sessions', { token: viewer, json: { agent: 'x' } });
    apiError(r, 403, 'forbidden');
    r = await srv.api('POST', `/api/v1/sessions/${sid}/events`, { token: viewer, json: { type: 'thought', content: 'x' } });
    apiError(r, 403, 'forbidden');
    r = await srv.api('POST', `/api/v1/sessions/${sid}/events`, { token: operator, json: { type: 'thought', content: 'x' } });
    apiError(r, 403, 'forbidden');
    await assertUnchanged('viewer');
  });

  it('a runtime token for another project cannot create sessions outside it', async () => {
    const scoped = await srv.token('runtime', { project: 'alpha' });
    const r = await srv.api('POST', '/api/v1/sessions', { token: scoped, json: { agent: 'x', project: 'beta' } });
    assert.ok(r.status === 403 || r.status === 404, `got ${r.status} ${r.text}`);
    apiError(r, r.status);
    await assertUnchanged('wrong project');
    // ... and cannot see or write the default project's session.
    const w = await srv.api('POST', `/api/v1/sessions/${sid}/events`, { token: scoped, json: { type: 'thought', content: 'x' } });
    assert.ok(w.status === 403 || w.status === 404, `got ${w.status} ${w.text}`);
    await assertUnchanged('wrong project append');
  });

  it('wrong content type: 415, nothing written', async () => {
    const cases = [
      ['text/plain', JSON.stringify({ agent: 'x' })],
      ['application/x-www-form-urlencoded', 'agent=x'],
      [undefined, JSON.stringify({ agent: 'x' })],
    ];
    for (const [ct, body] of cases) {
      const headers = { authorization: `Bearer ${runtime}` };
      if (ct) headers['content-type'] = ct;
      const r = await srv.api('POST', '/api/v1/sessions', { headers, body });
      apiError(r, 415, 'unsupported_media_type');
      const e = await srv.api('POST', `/api/v1/sessions/${sid}/events`, {
        headers,
        body: ct === 'application/x-www-form-urlencoded' ? 'type=thought' : JSON.stringify({ type: 'thought', content: 'x' }),
      });
      apiError(e, 415, 'unsupported_media_type');
    }
    // Parameters on the media type are fine.
    const ok = await srv.api('POST', `/api/v1/sessions/${sid}/events`, {
      headers: { authorization: `Bearer ${runtime}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ type: 'thought', content: 'charset is fine', id: 'charset-ok' }),
    });
    assert.equal(ok.status, 200, ok.text);
    ({ sessions: sessionsBefore, events: eventsBefore } = await snapshot());
  });

  it('malformed JSON: 400, nothing written', async () => {
    for (const body of ['{"agent": "x"', '{agent: "x"}', 'null x', '{"a":1}{"b":2}', '\u0000', '{"agent": "x"}\u0000{"more": 1}', "{'agent': 'x'}"]) {
      const r = await srv.api('POST', '/api/v1/sessions', { token: runtime, body, headers: { 'content-type': 'application/json' } });
      apiError(r, 400);
      const e = await srv.api('POST', `/api/v1/sessions/${sid}/events`, { token: runtime, body, headers: { 'content-type': 'application/json' } });
      apiError(e, 400);
    }
    const empty = await srv.api('POST', '/api/v1/sessions', { token: runtime, body: '', headers: { 'content-type': 'application/json' } });
    apiError(empty, 400);
    await assertUnchanged('malformed JSON');
  });

  it('JSON that is not an object: 422, nothing written', async () => {
    for (const body of ['"x"', '42', 'true']) {
      const r = await srv.api('POST', '/api/v1/sessions', { token: runtime, body, headers: { 'content-type': 'application/json' } });
      apiError(r, 422);
    }
    const arr = await srv.api('POST', `/api/v1/sessions/${sid}/events`, { token: runtime, json: [{ type: 'thought', content: 'x' }] });
    apiError(arr, 422);
    await assertUnchanged('not an object');
  });

  it('unknown field: 422 naming the field, nothing written', async () => {
    let r = await srv.api('POST', '/api/v1/sessions', { token: runtime, json: { agent: 'x', bogus: 1 } });
    let e = apiError(r, 422, 'unknown_field');
    assert.equal(e.field, 'bogus');

    r = await srv.api('POST', `/api/v1/sessions/${sid}/events`, { token: runtime, json: { type: 'thought', content: 'x', colour: 'red' } });
    e = apiError(r, 422, 'unknown_field');
    assert.equal(e.field, 'colour');

    // In a batch the field is named by its position; the valid event before it is not kept.
    r = await srv.api('POST', `/api/v1/sessions/${sid}/events`, {
      token: runtime,
      json: { events: [{ type: 'thought', content: 'fine' }, { type: 'thought', content: 'x', extra: true }] },
    });
    e = apiError(r, 422, 'unknown_field');
    assert.equal(e.field, 'events[1].extra');

    r = await srv.api('POST', `/api/v1/sessions/${sid}/events`, { token: runtime, json: { events: [{ type: 'thought', content: 'x' }], more: 1 } });
    e = apiError(r, 422, 'unknown_field');
    assert.equal(e.field, 'more');
    await assertUnchanged('unknown field');
  });

  it('invalid enum values and types: 422 naming the field, nothing written', async () => {
    const cases = [
      [{ agent: 'x', kind: 'robot' }, 'kind'],
      [{ agent: 'x', trigger: 'telepathy' }, 'trigger'],
      [{ agent: 'x', status: 'completed' }, 'status'],
      [{ agent: 42 }, 'agent'],
      [{ agent: 'x', metadata: 'not an object' }, 'metadata'],
      [{ agent: 'x', id: 'has spaces' }, 'id'],
      [{ agent: 'x'.repeat(201) }, 'agent'],
    ];
    for (const [body, field] of cases) {
      const r = await srv.api('POST', '/api/v1/sessions', { token: runtime, json: body });
      const e = apiError(r, 422);
      assert.equal(e.field, field, `${JSON.stringify(body).slice(0, 80)} names ${field}`);
    }
    const evCases = [
      [{ type: 'nonsense' }, 'type'],
      [{ content: 'no type' }, 'type'],
      [{ type: 'status', status: 'paused' }, 'status'],
      [{ type: 'tool_call', tool_call_id: 'k1', tool: 't', kind: 'magic' }, 'kind'],
      [{ type: 'log', severity: 'loud', body: 'x' }, 'severity'],
      [{ type: 'usage', prompt_tokens: -5 }, 'prompt_tokens'],
      [{ type: 'usage', prompt_tokens: 1.5 }, 'prompt_tokens'],
      [{ type: 'thought' }, 'content'],
      [{ type: 'thought', content: 'x', time: 'yesterday' }, 'time'],
      [{ type: 'tool_result', tool_call_id: 'open-call', error: { category: 'x' } }, 'error.message'],
    ];
    for (const [body, field] of evCases) {
      const r = await srv.api('POST', `/api/v1/sessions/${sid}/events`, { token: runtime, json: body });
      const e = apiError(r, 422);
      assert.equal(e.field, field, `${JSON.stringify(body)} names ${field}`);
    }
    const batch = await srv.api('POST', `/api/v1/sessions/${sid}/events`, {
      token: runtime,
      json: { events: [{ type: 'thought', content: 'ok' }, { type: 'user_message', content: 'ok' }, { type: 'telepathy' }] },
    });
    assert.equal(apiError(batch, 422).field, 'events[2].type');
    const empty = await srv.api('POST', `/api/v1/sessions/${sid}/events`, { token: runtime, json: { events: [] } });
    assert.equal(apiError(empty, 422).field, 'events');
    await assertUnchanged('invalid values');
  });

  it('a batch that fails half-way writes nothing', async () => {
    // Valid shape throughout, but the 3rd event's tool call was never started.
    const r = await srv.api('POST', `/api/v1/sessions/${sid}/events`, {
      token: runtime,
      json: {
        events: [
          { type: 'thought', content: 'one' },
          { type: 'usage', prompt_tokens: 5, completion_tokens: 5, cost: 1 },
          { type: 'tool_result', tool_call_id: 'never-started', result: 1 },
        ],
      },
    });
    const e = apiError(r, 422, 'unknown_tool_call');
    assert.equal(e.field, 'tool_call_id');
    await assertUnchanged('half-way batch');
    // A tool call id used twice is refused too.
    const dup = await srv.api('POST', `/api/v1/sessions/${sid}/events`, {
      token: runtime,
      json: { events: [{ type: 'thought', content: 'two' }, { type: 'tool_call', tool_call_id: 'open-call', tool: 'search' }] },
    });
    apiError(dup, 409);
    await assertUnchanged('duplicate tool call id');
  });

  it('unknown session: 404 JSON, nothing written', async () => {
    let r = await srv.api('POST', '/api/v1/sessions/ses_doesnotexist000000/events', { token: runtime, json: { type: 'thought', content: 'x' } });
    apiError(r, 404);
    // The session is checked inside the append's commit, and before its
    // body: a body that would be refused still gets the session's 404.
    for (const [what, opts] of [
      ['malformed JSON', { body: '{"type": ', headers: { 'content-type': 'application/json' } }],
      ['an array', { json: [{ type: 'thought', content: 'x' }] }],
      ['an invalid event', { json: { type: 'no_such_type' } }],
      ['an invalid batch', { json: { events: [] } }],
    ]) {
      r = await srv.api('POST', '/api/v1/sessions/ses_doesnotexist000000/events', { token: runtime, ...opts });
      assert.equal(apiError(r, 404).code, 'not_found', what);
    }
    // The same bodies on a session that exists: the body's own error.
    r = await srv.api('POST', `/api/v1/sessions/${sid}/events`, { token: runtime, body: '{"type": ', headers: { 'content-type': 'application/json' } });
    apiError(r, 400, 'invalid_json');
    r = await srv.api('POST', `/api/v1/sessions/${sid}/events`, { token: runtime, json: [{ type: 'thought', content: 'x' }] });
    apiError(r, 422, 'invalid_body');
    r = await srv.api('GET', '/api/v1/sessions/ses_doesnotexist000000', { token: viewer });
    apiError(r, 404);
    r = await srv.api('GET', '/api/v1/sessions/ses_doesnotexist000000/events', { token: viewer });
    apiError(r, 404);
    await assertUnchanged('unknown session');
  });

  it('bad query parameters: 400 naming the parameter', async () => {
    for (const [q, field] of [
      ['limit=0', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=100000', 'limit'],
      ['cursor=garbage', 'cursor'],
    ]) {
      const r = await srv.api('GET', `/api/v1/sessions?${q}`, { token: viewer });
      assert.equal(apiError(r, 400).field, field, q);
    }
    const r = await srv.api('GET', `/api/v1/sessions/${sid}/events?after=-1`, { token: viewer });
    assert.equal(apiError(r, 400).field, 'after');
  });

  it('wrong method: 405 with an Allow header', async () => {
    let r = await srv.api('DELETE', '/api/v1/sessions', { token: runtime });
    apiError(r, 405, 'method_not_allowed');
    let allow = (r.headers.get('allow') || '').split(/,\s*/);
    assert.ok(allow.includes('GET') && allow.includes('POST'), `Allow: ${r.headers.get('allow')}`);
    assert.ok(!allow.includes('DELETE'));

    r = await srv.api('PUT', `/api/v1/sessions/${sid}/events`, { token: runtime, json: { type: 'thought', content: 'x' } });
    apiError(r, 405, 'method_not_allowed');
    allow = (r.headers.get('allow') || '').split(/,\s*/);
    assert.ok(allow.includes('GET') && allow.includes('POST'), `Allow: ${r.headers.get('allow')}`);

    r = await srv.api('POST', '/healthz', { json: {} });
    assert.equal(r.status, 405);
    assert.ok((r.headers.get('allow') || '').split(/,\s*/).includes('GET'));
    await assertUnchanged('wrong method');
  });

  it('unknown API path: 404 JSON', async () => {
    for (const p of ['/api/v1/nothing', '/api/v2/sessions', '/api/v1/sessions/x/y/z/w']) {
      const r = await srv.api('GET', p, { token: viewer });
      apiError(r, 404, 'not_found');
    }
  });

  it('a malformed request line or path is refused, and the app keeps serving', async () => {
    const bad = await rawRequest(srv.port, 'GET', '/api/v1/sessions/%zz', { authorization: `Bearer ${viewer}` });
    assert.ok(bad.status === 400 || bad.status === 404, `got ${bad.status}`);
    const nul = await rawRequest(srv.port, 'GET', '/api/v1/sessions/a%00b', { authorization: `Bearer ${viewer}` });
    assert.ok(nul.status >= 400 && nul.status < 500, `got ${nul.status}`);
    const h = await srv.api('GET', '/healthz');
    assert.equal(h.status, 200);
  });
});
