// API v1 completeness (issue 7): PATCH a session; one event (GET, DELETE,
// hide, unhide); POST log lines; artifact upload as multipart/form-data;
// the stable fields of the session object and include=timeline,user_data.
// Every refusal has its status and error code and changes nothing.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, dbDump } from '../lib/server.mjs';
import { createSession, append, getSession, listEvents, sql, q } from '../lib/fixtures.mjs';

/** Assert the JSON error shape; returns the error object. */
function apiError(r, status, code, field) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text}`);
  assert.ok(r.json && typeof r.json.error === 'object', `error object in ${r.text}`);
  assert.equal(typeof r.json.error.message, 'string');
  if (code) assert.equal(r.json.error.code, code, r.text);
  if (field !== undefined) assert.equal(r.json.error.field, field, r.text);
  return r.json.error;
}

/** The whole database as SQL text, at rest (lib/server.mjs dbDump). */
const dump = (srv) => dbDump(srv.dbPath);

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A multipart/form-data body from [{name, value, filename?, type?}]. */
function multipart(parts, boundary = '----fdtest7MZ') {
  const chunks = [];
  for (const p of parts) {
    let h = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) h += `; filename="${p.filename}"`;
    h += '\r\n';
    if (p.type) h += `Content-Type: ${p.type}\r\n`;
    chunks.push(Buffer.from(h + '\r\n'), Buffer.isBuffer(p.value) ? p.value : Buffer.from(p.value), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
}

describe('API v1 completeness', () => {
  let srv, runtime, viewer, operator, admin, betaOperator;
  const P = (id) => `/api/v1/sessions/${encodeURIComponent(id)}`;

  before(async () => {
    srv = await startServer();
    runtime = await srv.token('runtime');
    viewer = await srv.token('viewer');
    operator = await srv.token('operator');
    admin = await srv.token('admin');
    betaOperator = await srv.token('operator', { project: 'beta' });
  });
  after(async () => {
    await srv?.stop();
  });

  // ------------------------------------------------------------------ PATCH

  describe('PATCH /api/v1/sessions/{id}', () => {
    it('an operator edits name, description and metadata; audited', async () => {
      const s = await createSession(srv, runtime, { agent: 'edit-bot', name: 'Before', metadata: { team: 'a' } });
      const r = await srv.api('PATCH', P(s.id), {
        token: operator,
        json: { name: 'After', description: 'Now described', metadata: { team: 'b', tier: 3 } },
      });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.id, s.id);
      assert.equal(r.json.name, 'After');
      assert.equal(r.json.description, 'Now described');
      assert.deepEqual(r.json.metadata, { team: 'b', tier: 3 });
      const g = await getSession(srv, viewer, s.id);
      assert.equal(g.name, 'After');
      assert.deepEqual(g.metadata, { team: 'b', tier: 3 });
      // The list's metadata filter sees the new value.
      const l = await srv.api('GET', `/api/v1/sessions?metadata=${encodeURIComponent('{"team":"b"}')}`, { token: viewer });
      assert.ok(l.json.data.some((x) => x.id === s.id));
      const audit = sql(srv, `SELECT action, actor, detail FROM audit WHERE session_id = ${q(s.id)} AND action = 'edit'`);
      assert.equal(audit.length, 1);
      assert.match(audit[0].detail, /name/);
      assert.match(audit[0].detail, /metadata/);
      assert.match(audit[0].actor, /^token:/);
      // Only the name: the rest stays.
      const r2 = await srv.api('PATCH', P(s.id), { token: admin, json: { name: 'Third' } });
      assert.equal(r2.status, 200, r2.text);
      assert.equal(r2.json.description, 'Now described');
      assert.deepEqual(r2.json.metadata, { team: 'b', tier: 3 });
    });

    it('refusals change nothing: 403, 404, 415, 422', async () => {
      const s = await createSession(srv, runtime, { agent: 'edit-bot', name: 'Keep', metadata: { k: 1 } });
      const before = await getSession(srv, viewer, s.id);
      const auditBefore = sql(srv, `SELECT count(*) AS n FROM audit WHERE session_id = ${q(s.id)}`)[0].n;
      apiError(await srv.api('PATCH', P(s.id), { token: viewer, json: { name: 'x' } }), 403, 'forbidden');
      apiError(await srv.api('PATCH', P(s.id), { token: runtime, json: { name: 'x' } }), 403, 'forbidden');
      apiError(await srv.api('PATCH', P(s.id), { token: betaOperator, json: { name: 'x' } }), 404);
      apiError(await srv.api('PATCH', P('ses_nosuchsession000000'), { token: operator, json: { name: 'x' } }), 404);
      apiError(await srv.api('PATCH', P(s.id), { token: operator, json: { name: 'x', status: 'completed' } }), 422, 'unknown_field', 'status');
      apiError(await srv.api('PATCH', P(s.id), { token: operator, json: { metadata: [1, 2] } }), 422, 'invalid_field', 'metadata');
      apiError(await srv.api('PATCH', P(s.id), { token: operator, json: { name: 42 } }), 422, 'invalid_field', 'name');
      apiError(await srv.api('PATCH', P(s.id), { token: operator, json: { name: 'n'.repeat(501) } }), 422, 'invalid_field', 'name');
      apiError(await srv.api('PATCH', P(s.id), { token: operator, json: {} }), 422, 'invalid_body');
      apiError(await srv.api('PATCH', P(s.id), { token: operator, json: [] }), 422);
      apiError(await srv.api('PATCH', P(s.id), { token: operator, body: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415);
      apiError(await srv.api('PATCH', P(s.id), { token: operator, body: '{"name":', headers: { 'content-type': 'application/json' } }), 400);
      const afterS = await getSession(srv, viewer, s.id);
      assert.deepEqual(afterS, before);
      assert.equal(sql(srv, `SELECT count(*) AS n FROM audit WHERE session_id = ${q(s.id)}`)[0].n, auditBefore);
    });
  });

  // ------------------------------------------------------------ one event

  describe('one event: GET, hide, unhide, DELETE', () => {
    let sid, ids;
    before(async () => {
      sid = (await createSession(srv, runtime, { agent: 'event-bot', name: 'Events' })).id;
      const r = await append(srv, runtime, sid, {
        events: [
          { id: 'k-thought', type: 'thought', content: 'MARK_THOUGHT_7f3a unique words' },
          { id: 'k-call', type: 'tool_call', tool_call_id: 'c1', tool: 'lookup_7f3a', kind: 'server', arguments: { q: 'MARK_ARGS_7f3a' } },
          { id: 'k-res', type: 'tool_result', tool_call_id: 'c1', error: { category: 'http', message: 'MARK_RESULT_7f3a failed' } },
          { type: 'tool_call', tool_call_id: 'c2', tool: 'slow', kind: 'server', arguments: {} },
          { type: 'error', message: 'MARK_ERROR_7f3a', step: 's' },
        ],
      });
      ids = r.events.map((e) => e.id);
      assert.ok(ids.every((x) => Number.isInteger(x) && x > 0), 'event ids are numbers');
    });

    it('GET: the event as the list shows it; 404 for others', async () => {
      const all = await listEvents(srv, viewer, sid);
      const r = await srv.api('GET', `${P(sid)}/events/${ids[0]}`, { token: viewer });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, all.find((e) => e.id === ids[0]));
      assert.match(r.json.time, RFC3339);
      apiError(await srv.api('GET', `${P(sid)}/events/999999999`, { token: viewer }), 404, 'not_found');
      apiError(await srv.api('GET', `${P(sid)}/events/abc`, { token: viewer }), 400, 'invalid_parameter', 'event_id');
      apiError(await srv.api('GET', `${P(sid)}/events/-1`, { token: viewer }), 400, 'invalid_parameter', 'event_id');
      apiError(await srv.api('GET', `${P(sid)}/events/0`, { token: viewer }), 400, 'invalid_parameter', 'event_id');
      apiError(await srv.api('DELETE', `${P(sid)}/events/1e3`, { token: operator }), 400, 'invalid_parameter', 'event_id');
      apiError(await srv.api('GET', `${P(sid)}/events/1234567890123456`, { token: viewer }), 400, 'invalid_parameter', 'event_id');
      const other = (await createSession(srv, runtime, { agent: 'event-bot' })).id;
      apiError(await srv.api('GET', `${P(other)}/events/${ids[0]}`, { token: viewer }), 404, 'not_found');
      apiError(await srv.api('GET', `${P(sid)}/events/${ids[0]}`, {}), 401);
    });

    it('hide and unhide (write): hidden events leave the list, audited', async () => {
      apiError(await srv.api('POST', `${P(sid)}/events/${ids[0]}/hide`, { token: viewer }), 403);
      apiError(await srv.api('POST', `${P(sid)}/events/${ids[0]}/hide`, { token: runtime }), 403);
      apiError(await srv.api('POST', `${P(sid)}/events/${ids[0]}/hide`, { token: betaOperator }), 404);
      apiError(await srv.api('POST', `${P(sid)}/events/424242424/hide`, { token: operator }), 404);
      assert.equal(sql(srv, `SELECT count(*) AS n FROM events WHERE session_id = ${q(sid)} AND hide_reason IS NOT NULL`)[0].n, 0);
      const h = await srv.api('POST', `${P(sid)}/events/${ids[0]}/hide`, { token: operator });
      assert.equal(h.status, 200, h.text);
      assert.equal(h.json.hide_reason, 'manual');
      const visible = await srv.api('GET', `${P(sid)}/events`, { token: viewer });
      assert.ok(!visible.json.data.some((e) => e.id === ids[0]));
      const u = await srv.api('POST', `${P(sid)}/events/${ids[0]}/unhide`, { token: operator });
      assert.equal(u.status, 200, u.text);
      assert.equal(u.json.hide_reason, null);
      const acts = sql(srv, `SELECT action FROM audit WHERE session_id = ${q(sid)} AND action LIKE '%hide_event' ORDER BY id`);
      assert.deepEqual(acts.map((a) => a.action), ['hide_event', 'unhide_event']);
    });

    it('DELETE: refusals change nothing (403, 404, 409)', async () => {
      const before = dump(srv);
      apiError(await srv.api('DELETE', `${P(sid)}/events/${ids[0]}`, { token: viewer }), 403);
      apiError(await srv.api('DELETE', `${P(sid)}/events/${ids[0]}`, { token: runtime }), 403);
      apiError(await srv.api('DELETE', `${P(sid)}/events/${ids[0]}`, { token: betaOperator }), 404);
      apiError(await srv.api('DELETE', `${P(sid)}/events/77777777`, { token: operator }), 404);
      // c2 is still running: deleting it would strand a pause or cancel.
      apiError(await srv.api('DELETE', `${P(sid)}/events/${ids[3]}`, { token: operator }), 409, 'tool_call_active');
      assert.equal(dump(srv), before);
    });

    it('DELETE removes the event from every table (dump holds no marker)', async () => {
      const errorsBefore = sql(srv, `SELECT error_count FROM sessions WHERE id = ${q(sid)}`)[0].error_count;
      assert.equal(errorsBefore, 2);
      for (const m of ['MARK_THOUGHT_7f3a', 'MARK_ARGS_7f3a', 'MARK_RESULT_7f3a', 'MARK_ERROR_7f3a']) assert.ok(dump(srv).includes(m), m);
      // Search finds them before.
      const found = await srv.api('GET', `/api/v1/sessions?q=MARK_THOUGHT_7f3a`, { token: viewer });
      assert.ok(found.json.data.some((x) => x.id === sid));

      let r = await srv.api('DELETE', `${P(sid)}/events/${ids[0]}`, { token: operator });
      assert.equal(r.status, 204, r.text);
      r = await srv.api('DELETE', `${P(sid)}/events/${ids[1]}`, { token: operator }); // the ended call and its result
      assert.equal(r.status, 204, r.text);
      r = await srv.api('DELETE', `${P(sid)}/events/${ids[4]}`, { token: admin });
      assert.equal(r.status, 204, r.text);
      apiError(await srv.api('DELETE', `${P(sid)}/events/${ids[0]}`, { token: operator }), 404);
      apiError(await srv.api('GET', `${P(sid)}/events/${ids[2]}`, { token: viewer }), 404);

      const d = dump(srv);
      for (const m of ['MARK_THOUGHT_7f3a', 'MARK_ARGS_7f3a', 'MARK_RESULT_7f3a', 'MARK_ERROR_7f3a', 'k-thought', 'k-call', 'k-res']) {
        assert.ok(!d.includes(m), `${m} is gone from the database`);
      }
      assert.equal(sql(srv, `SELECT count(*) AS n FROM tool_calls WHERE session_id = ${q(sid)} AND id = 'c1'`)[0].n, 0);
      assert.equal(sql(srv, `SELECT error_count FROM sessions WHERE id = ${q(sid)}`)[0].error_count, 0);
      const left = await listEvents(srv, viewer, sid);
      assert.deepEqual(left.filter((e) => e.type !== 'lifecycle').map((e) => e.id), [ids[3]]);
      const found2 = await srv.api('GET', `/api/v1/sessions?q=MARK_THOUGHT_7f3a`, { token: viewer });
      assert.ok(!found2.json.data.some((x) => x.id === sid));
      const audit = sql(srv, `SELECT detail FROM audit WHERE session_id = ${q(sid)} AND action = 'delete_event' ORDER BY id`);
      assert.equal(audit.length, 3);
      // A retry of a deleted event's id is a new event (its key went with it).
      const again = await append(srv, runtime, sid, { id: 'k-thought', type: 'thought', content: 'again' });
      assert.equal(again.duplicates, 0);
      // The detail page still opens and counts what is left.
      const web = await srv.login('admin', srv.adminPassword);
      const page = await web.get(`/sessions/${sid}`);
      assert.equal(page.status, 200);
    });
  });

  // ------------------------------------------------------------------ logs

  describe('POST /api/v1/sessions/{id}/logs', () => {
    it('one line or a batch; 201 with ids; GET logs shows them', async () => {
      const s = await createSession(srv, runtime, { agent: 'log-bot' });
      let r = await srv.api('POST', `${P(s.id)}/logs`, { token: runtime, json: { severity: 'warn', body: 'disk at 91%' } });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json.accepted, 1);
      assert.equal(r.json.ids.length, 1);
      const ids = [...r.json.ids];
      r = await srv.api('POST', `${P(s.id)}/logs`, {
        token: runtime,
        json: { logs: [{ body: 'first' }, { severity: 'error', body: 'second', time: '2030-01-02T03:04:05Z' }, { severity: 'debug', body: 'third', time: 1700000000000 }] },
      });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json.accepted, 3);
      ids.push(...r.json.ids);
      const g = await srv.api('GET', `${P(s.id)}/logs`, { token: viewer });
      assert.deepEqual(g.json.data.map((l) => [l.severity, l.body]), [['warn', 'disk at 91%'], ['info', 'first'], ['error', 'second'], ['debug', 'third']]);
      assert.equal(g.json.data[2].time, '2030-01-02T03:04:05.000Z');
      assert.deepEqual(g.json.data.map((l) => l.id), ids);
      // The first activity of a pending session starts it, as a log event does.
      assert.equal((await getSession(srv, viewer, s.id)).status, 'running');
    });

    it('refusals write nothing: 403, 404, 413, 415, 422', async () => {
      const s = await createSession(srv, runtime, { agent: 'log-bot' });
      const n = () => sql(srv, `SELECT count(*) AS n FROM logs WHERE session_id = ${q(s.id)}`)[0].n;
      apiError(await srv.api('POST', `${P(s.id)}/logs`, { token: viewer, json: { body: 'x' } }), 403);
      apiError(await srv.api('POST', `${P(s.id)}/logs`, { token: operator, json: { body: 'x' } }), 403);
      apiError(await srv.api('POST', `${P('ses_none0000000000000000')}/logs`, { token: runtime, json: { body: 'x' } }), 404);
      apiError(await srv.api('POST', `${P(s.id)}/logs`, { token: runtime, json: { severity: 'loud', body: 'x' } }), 422, 'invalid_field', 'severity');
      apiError(await srv.api('POST', `${P(s.id)}/logs`, { token: runtime, json: { body: 'x', level: 'info' } }), 422, 'unknown_field', 'level');
      apiError(await srv.api('POST', `${P(s.id)}/logs`, { token: runtime, json: { severity: 'info' } }), 422, 'missing_field', 'body');
      apiError(await srv.api('POST', `${P(s.id)}/logs`, { token: runtime, json: { logs: [{ body: 'ok' }, { body: 5 }] } }), 422, 'invalid_field', 'logs[1].body');
      apiError(await srv.api('POST', `${P(s.id)}/logs`, { token: runtime, json: { logs: [] } }), 422, 'invalid_field', 'logs');
      apiError(await srv.api('POST', `${P(s.id)}/logs`, { token: runtime, json: { logs: {} } }), 422, 'invalid_field', 'logs');
      apiError(await srv.api('POST', `${P(s.id)}/logs`, { token: runtime, json: { logs: [{ body: 'a' }], x: 1 } }), 422, 'unknown_field');
      apiError(await srv.api('POST', `${P(s.id)}/logs`, { token: runtime, json: { logs: Array.from({ length: 1001 }, () => ({ body: 'b' })) } }), 413, 'batch_too_large');
      apiError(await srv.api('POST', `${P(s.id)}/logs`, { token: runtime, json: ['x'] }), 422);
      apiError(await srv.api('POST', `${P(s.id)}/logs`, { token: runtime, body: 'body=x', headers: { 'content-type': 'text/plain' } }), 415);
      assert.equal(n(), 0);
      assert.equal((await getSession(srv, viewer, s.id)).status, 'pending');
    });
  });

  // -------------------------------------------------------------- multipart

  describe('artifact upload as multipart/form-data', () => {
    it('a file part with its filename and type; name and media_type fields override', async () => {
      const s = await createSession(srv, runtime, { agent: 'mp-bot' });
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      let m = multipart([{ name: 'file', filename: 'all-bytes.bin', type: 'application/x-custom', value: bytes }]);
      let r = await srv.api('POST', `${P(s.id)}/artifacts`, { token: runtime, body: m.body, headers: { 'content-type': m.type } });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json.name, 'all-bytes.bin');
      assert.equal(r.json.media_type, 'application/x-custom');
      assert.equal(r.json.size, 256);
      assert.equal(r.json.origin, 'uploaded');
      assert.ok(r.headers.get('location').endsWith(`/artifacts/${r.json.id}`));
      const dl = await srv.fetch(`${P(s.id)}/artifacts/${r.json.id}/download`, { headers: { authorization: `Bearer ${viewer}` } });
      assert.deepEqual(Buffer.from(await dl.arrayBuffer()), bytes);

      m = multipart([
        { name: 'name', value: 'report – März.txt' },
        { name: 'file', filename: 'ignored.dat', value: 'hello\r\n--not-the-boundary\r\n' },
        { name: 'media_type', value: 'Text/Plain; charset=utf-8' },
        { name: 'origin', value: 'generated' },
      ]);
      r = await srv.api('POST', `${P(s.id)}/artifacts`, { token: runtime, body: m.body, headers: { 'content-type': m.type } });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json.name, 'report – März.txt');
      assert.equal(r.json.media_type, 'text/plain');
      assert.equal(r.json.origin, 'generated');
      const g = await srv.api('GET', `${P(s.id)}/artifacts/${r.json.id}`, { token: viewer });
      assert.equal(Buffer.from(g.json.content_base64, 'base64').toString(), 'hello\r\n--not-the-boundary\r\n');
      // An empty file is a file.
      m = multipart([{ name: 'file', filename: 'empty.txt', value: '' }]);
      r = await srv.api('POST', `${P(s.id)}/artifacts`, { token: runtime, body: m.body, headers: { 'content-type': m.type } });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json.size, 0);
      assert.equal(r.json.media_type, 'application/octet-stream');
    });

    it('malformed or wrong bodies: 400, 403, 422, nothing stored', async () => {
      const s = await createSession(srv, runtime, { agent: 'mp-bot' });
      const n = () => sql(srv, `SELECT count(*) AS n FROM artifacts WHERE session_id = ${q(s.id)}`)[0].n;
      const post = (body, type, token = runtime) => srv.api('POST', `${P(s.id)}/artifacts`, { token, body, headers: { 'content-type': type } });
      const good = multipart([{ name: 'file', filename: 'a.txt', value: 'abc' }]);
      apiError(await post(good.body, good.type, viewer), 403);
      apiError(await post(good.body.subarray(0, good.body.length - 12), good.type), 400, 'invalid_multipart');
      apiError(await post(Buffer.from('no boundary here'), 'multipart/form-data; boundary=xyz'), 400, 'invalid_multipart');
      apiError(await post(Buffer.from(''), 'multipart/form-data; boundary=xyz'), 400, 'invalid_multipart');
      apiError(await post(Buffer.from('--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc\r\n--b--garbage'), 'multipart/form-data; boundary=b'), 400);
      apiError(await post(Buffer.from('--b\r\nX-No-Disposition: 1\r\n\r\nabc\r\n--b--\r\n'), 'multipart/form-data; boundary=b'), 400);
      apiError(await post(Buffer.from('--b\r\nContent-Disposition: form-data; name="file"; filename="a"\nabc\r\n--b--\r\n'), 'multipart/form-data; boundary=b'), 400);
      apiError(await post(multipart([{ name: 'name', value: 'x.txt' }]).body, good.type), 422, 'missing_field', 'file');
      apiError(await post(multipart([{ name: 'file', value: 'not a file' }]).body, good.type), 422, 'missing_field', 'file');
      apiError(await post(multipart([{ name: 'file', filename: 'a', value: 'x' }, { name: 'colour', value: 'red' }]).body, good.type), 422, 'unknown_field', 'colour');
      apiError(await post(multipart([{ name: 'file', filename: 'a', value: 'x' }, { name: 'file', filename: 'b', value: 'y' }]).body, good.type), 422, 'invalid_field', 'file');
      apiError(await post(multipart([{ name: 'file', filename: '../etc/passwd', value: 'x' }]).body, good.type), 422, 'invalid_field', 'name');
      apiError(await post(multipart([{ name: 'file', filename: 'a', value: 'x' }, { name: 'media_type', value: 'nope' }]).body, good.type), 422, 'invalid_field', 'media_type');
      apiError(await post(multipart([{ name: 'file', filename: 'a', value: 'x' }, { name: 'origin', value: 'stolen' }]).body, good.type), 422, 'invalid_field', 'origin');
      const many = multipart(Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, value: 'x' })));
      apiError(await post(many.body, many.type), 400, 'invalid_multipart');
      assert.equal(n(), 0);
    });
  });

  // -------------------------------------------------------- session fields

  describe('the session object', () => {
    it('stable fields in GET and in the list; devmode, agent_ids', async () => {
      const parent = await createSession(srv, runtime, {
        agent: 'planner', name: 'Fields', trigger: 'schedule', env: 'prod', devmode: true,
        thread_id: 'th-1', method: 'POST', url: 'https://x.test/run', route_id: 'r-9', metadata: { a: 1 }, user_data: { u: [1, 2] },
      });
      await createSession(srv, runtime, { agent: 'researcher', parent_session_id: parent.id });
      await createSession(srv, runtime, { agent: 'researcher', parent_session_id: parent.id });
      const called = await createSession(srv, runtime, { agent: 'writer' });
      await append(srv, runtime, parent.id, {
        events: [
          { type: 'tool_call', tool_call_id: 'a1', tool: 'write', kind: 'agent', called_session_id: called.id, arguments: {} },
          { type: 'usage', model: 'm', prompt_tokens: 10, completion_tokens: 5, cost: 0.25 },
        ],
      });
      const g = await getSession(srv, viewer, parent.id);
      const listed = (await srv.api('GET', `/api/v1/sessions?agent=planner`, { token: viewer })).json.data.find((x) => x.id === parent.id);
      for (const o of [g, listed]) {
        for (const k of ['duration', 'cpu_time', 'llm_cost', 'total_cost', 'llm_prompt_token_count', 'llm_completion_token_count',
          'trigger', 'env', 'devmode', 'pending', 'success', 'error', 'metadata', 'thread_id', 'agent_ids', 'method', 'url', 'route_id',
          'start_time', 'end_time', 'created_at', 'updated_at']) {
          assert.ok(k in o, `${k} in the session object`);
        }
        assert.equal(o.devmode, true);
        assert.equal(o.trigger, 'schedule');
        assert.equal(o.env, 'prod');
        assert.equal(o.pending, false);
        assert.equal(o.success, null);
        assert.equal(o.llm_cost, 0.25);
        assert.equal(o.total_cost, 0.25);
        assert.equal(o.llm_prompt_token_count, 10);
        assert.equal(o.llm_completion_token_count, 5);
        assert.equal(typeof o.duration, 'number');
        assert.equal(o.cpu_time, 0);
        assert.deepEqual(o.agent_ids, ['planner', 'researcher', 'writer']);
        assert.equal(o.method, 'POST');
        assert.equal(o.route_id, 'r-9');
        assert.match(o.created_at, RFC3339);
        assert.ok(!('user_data' in o) && !('timeline' in o), 'heavy fields only when included');
      }
      const plain = await createSession(srv, runtime, { agent: 'solo' });
      assert.equal(plain.devmode, false);
      assert.equal(plain.pending, true);
      assert.deepEqual(plain.agent_ids, ['solo']);
      const u = await getSession(srv, viewer, parent.id, '?include=user_data');
      assert.deepEqual(u.user_data, { u: [1, 2] });
      const r = await getSession(srv, viewer, parent.id, '?include=route');
      assert.deepEqual(r.route, { method: 'POST', url: r.url, route_id: 'r-9' });
      assert.ok(!('route' in (await getSession(srv, viewer, plain.id))), 'route only when included');
      apiError(await srv.api('POST', '/api/v1/sessions', { token: runtime, json: { agent: 'x', devmode: 'yes' } }), 422, 'invalid_field', 'devmode');
    });

    it('include=timeline nests spans by parent_span_id', async () => {
      const s = await createSession(srv, runtime, { agent: 'tracer' });
      const span = (id, parent, start, name = id) => ({ type: 'span', trace_id: 't1', span_id: id, parent_span_id: parent, name, start, end: start + 50 });
      await append(srv, runtime, s.id, {
        events: [
          span('root', undefined, 1700000000000),
          span('a', 'root', 1700000000010),
          span('b', 'root', 1700000000020),
          span('a1', 'a', 1700000000011),
          span('orphan', 'missing', 1700000000030),
          span('x', 'y', 1700000000040),
          span('y', 'x', 1700000000041),
        ],
      });
      const g = await getSession(srv, viewer, s.id, '?include=timeline,trace');
      const shape = (nodes) => nodes.map((n) => (n.children ? { [n.span_id]: shape(n.children) } : n.span_id));
      assert.deepEqual(shape(g.timeline), [{ root: [{ a: ['a1'] }, 'b'] }, 'orphan', { x: ['y'] }]);
      assert.equal(g.trace.length, 7);
      assert.equal(g.timeline[0].duration, 50_000_000);
      apiError(await srv.api('GET', `${P(s.id)}?include=timeline,nope`, { token: viewer }), 400, 'invalid_parameter', 'include');
    });
  });
});
