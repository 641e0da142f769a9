// OpenTelemetry ingestion (issue 10): POST /v1/traces and /v1/logs as an
// OTLP/HTTP exporter calls them, in JSON and protobuf, plain and gzip; the
// GenAI mapping (docs/opentelemetry.md) read back from the database, the
// API and the session page; the errors OTLP/HTTP specifies; spans out of
// order, over many requests, retried; sub-agents; the OpenTelemetry
// project's own examples (../shared/testdata/otlp).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { startServer, ROOT, htmlDecode } from '../lib/server.mjs';
import {
  agentTrace, traceRequest, encodeTraces, encodeLogs, decodeMessage, str, int, ns,
} from '../lib/otlp.mjs';

const TESTDATA = path.resolve(ROOT, '..', 'shared', 'testdata', 'otlp');

describe('OpenTelemetry (OTLP/HTTP) ingestion', () => {
  let srv, runtime, viewer, web;
  const sql = (q) => execFileSync('sqlite3', ['-json', '-cmd', '.timeout 5000', srv.dbPath, q], { encoding: 'utf8' });
  const rows = (q) => { const t = sql(q).trim(); return t ? JSON.parse(t) : []; };
  const one = (q) => rows(q)[0];

  /** POST an OTLP request. body: an object (JSON) or a Buffer (protobuf). */
  async function post(p, body, { token = runtime, type, gzip = false, encoding, headers = {} } = {}) {
    let b = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const h = { 'content-type': type || (Buffer.isBuffer(body) ? 'application/x-protobuf' : 'application/json'), ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    if (gzip) { b = zlib.gzipSync(b); h['content-encoding'] = 'gzip'; }
    if (encoding) h['content-encoding'] = encoding;
    const res = await srv.fetch(p, { method: 'POST', headers: h, body: b });
    const raw = Buffer.from(await res.arrayBuffer());
    const ct = res.headers.get('content-type') || '';
    let json;
    if (ct.startsWith('application/json')) json = JSON.parse(raw.toString('utf8'));
    return { status: res.status, ct, raw, json, res };
  }

  before(async () => {
    srv = await startServer();
    runtime = await srv.token('runtime');
    viewer = await srv.token('viewer');
    web = await srv.login('admin', srv.adminPassword);
  });
  after(async () => { await srv.stop(); });

  it('maps a GenAI agent trace sent as OTLP/JSON to a session, events, a tool call, usage, cost and an eval', async () => {
    const t = agentTrace('a1');
    const r = await post('/v1/traces', traceRequest(t.spans, { extra: [str('deployment.environment.name', 'staging')] }));
    assert.equal(r.status, 200);
    assert.equal(r.ct, 'application/json');
    assert.deepEqual(r.json, {}, 'full success: no partialSuccess');

    const s = one("SELECT * FROM sessions WHERE id = 'conv_conv-a1'");
    assert.ok(s, 'gen_ai.conversation.id names the session');
    assert.equal(s.status, 'completed', 'the root invoke_agent span ended with status OK');
    assert.equal(s.agent, 'WeatherBot');
    assert.equal(s.name, 'WeatherBot');
    assert.equal(s.description, 'answers weather questions');
    assert.equal(s.thread_id, 'conv-a1');
    assert.equal(s.environment, 'staging');
    assert.equal(s.project, 'default');
    assert.equal(s.trigger_source, 'opentelemetry');
    assert.equal(s.prompt, 'You are a travel assistant.', 'gen_ai.system_instructions is the resolved prompt');
    assert.equal(s.final_response, t.answer);
    assert.equal(s.started_at, 1763800000000, 'started when the root span started');
    assert.equal(s.ended_at, 1763800001000, 'ended when it ended');
    assert.equal(s.prompt_tokens, 3000);
    assert.equal(s.completion_tokens, 150);
    // gpt-4o-2024-08-06 is priced as gpt-4o: 600 x 2.50 + 400 cached x 1.25 + 100 x 10.00;
    // gpt-4o-mini: 2000 x 0.15 + 50 x 0.60 (micro-dollars; etc/prices.json).
    assert.equal(s.llm_cost_micros, 1500 + 500 + 1000 + 300 + 30);
    assert.deepEqual(JSON.parse(s.models), ['gpt-4o-2024-08-06', 'gpt-4o-mini']);
    assert.deepEqual(JSON.parse(s.metadata), { 'service.name': 'travel-agent' });

    const ev = rows("SELECT type, time, tool_call_id, body FROM events WHERE session_id = 'conv_conv-a1' AND type <> 'lifecycle' ORDER BY seq");
    assert.deepEqual(ev.map((e) => e.type),
      ['user_message', 'thought', 'usage', 'tool_call', 'tool_result', 'assistant_message', 'usage'],
      'in time order; the question asked again by the second chat and the agent, and the answer repeated by the agent span, are recorded once');
    assert.equal(JSON.parse(ev[0].body).content, t.question);
    assert.equal(ev[0].time, 1763800000000);
    assert.equal(JSON.parse(ev[1].body).content, 'I should look up the weather.');
    const u = JSON.parse(ev[2].body);
    assert.deepEqual(u, { model: 'gpt-4o-2024-08-06', prompt_tokens: 1000, completion_tokens: 100, cache_read_tokens: 400, cost: 0.003, provider: 'openai' });
    assert.deepEqual(JSON.parse(ev[3].body), { tool_call_id: 'call_1', tool: 'get_weather', kind: 'server', arguments: { city: 'Paris' } });
    assert.deepEqual(JSON.parse(ev[4].body), { tool_call_id: 'call_1', result: { temp_c: 21, sky: 'sunny' } });
    assert.equal(JSON.parse(ev[5].body).content, t.answer);

    const tc = one("SELECT * FROM tool_calls WHERE session_id = 'conv_conv-a1'");
    assert.equal(tc.id, 'call_1');
    assert.equal(tc.state, 'succeeded');
    assert.equal(tc.started_at, 1763800000410);
    assert.equal(tc.ended_at, 1763800000600);
    assert.equal(one("SELECT executing_calls FROM sessions WHERE id = 'conv_conv-a1'").executing_calls, 0);

    const evals = rows("SELECT eval_id, state, result, created_at FROM eval_runs WHERE session_id = 'conv_conv-a1'");
    assert.equal(evals.length, 1);
    assert.equal(evals[0].eval_id, 'relevance');
    assert.equal(evals[0].state, 'success');
    assert.deepEqual(JSON.parse(evals[0].result), { score: 0.875, label: 'relevant', explanation: 'answers the question', span_id: t.ids.chat2 });

    // Every span kept raw, ids lowercase, with its resource and scope.
    const spans = rows("SELECT span_id, parent_span_id, name, status, raw FROM spans WHERE session_id = 'conv_conv-a1' ORDER BY start_ns");
    assert.equal(spans.length, 4);
    assert.equal(spans[0].span_id, t.ids.root);
    assert.equal(spans[0].status, 'ok');
    const raw = JSON.parse(spans[1].raw);
    assert.equal(raw.traceId, t.ids.trace);
    assert.equal(raw.resource.attributes[0].value.stringValue, 'travel-agent');
    assert.equal(raw.scope.name, 'test.genai');

    // The API and the page show it.
    const api = await srv.api('GET', '/api/v1/sessions/conv_conv-a1?include=trace,evals', { token: viewer });
    assert.equal(api.status, 200);
    assert.equal(api.json.status, 'completed');
    const rootSpan = api.json.trace.find((x) => x.span_id === t.ids.root);
    assert.equal(rootSpan.attributes['gen_ai.agent.name'], 'WeatherBot');
    assert.equal(rootSpan.otlp.name, 'invoke_agent WeatherBot', 'the span as received');
    assert.equal(rootSpan.otlp.resource.attributes[0].key, 'service.name');
    assert.equal(api.json.evals.length, 1);
    const page = await web.get('/sessions/conv_conv-a1?tab=trace');
    assert.equal(page.status, 200);
    const html = htmlDecode(page.text);
    assert.match(html, /invoke_agent WeatherBot/);
    assert.match(html, /execute_tool get_weather/);
    assert.match(html, /As received \(OTLP\)/);
    assert.match(html, /"scope":\s*\{[^}]*"name":\s*"test.genai"/, 'the raw span with its scope');
  });

  it('takes the same trace in protobuf with uppercase ids and records the same thing', async () => {
    const json = agentTrace('b2');
    const pb = agentTrace('c3', { upper: true });
    assert.equal((await post('/v1/traces', traceRequest(json.spans))).status, 200);
    const r = await post('/v1/traces', encodeTraces(traceRequest(pb.spans)));
    assert.equal(r.status, 200);
    assert.equal(r.ct, 'application/x-protobuf', 'answered in the request encoding');
    assert.equal(r.raw.length, 0, 'an empty ExportTraceServiceResponse: nothing rejected');
    const shape = (id) => rows(`SELECT type, time, body FROM events WHERE session_id = '${id}' AND type <> 'lifecycle' ORDER BY seq`)
      .map((e) => ({ ...e, body: e.body.replaceAll(/[0-9a-f]{16}/g, 'X') }));
    assert.deepEqual(shape('conv_conv-c3'), shape('conv_conv-b2'));
    const cols = 'status, agent, prompt, final_response, prompt_tokens, completion_tokens, llm_cost_micros, started_at, ended_at';
    assert.deepEqual(one(`SELECT ${cols} FROM sessions WHERE id = 'conv_conv-c3'`), one(`SELECT ${cols} FROM sessions WHERE id = 'conv_conv-b2'`));
    const sp = rows("SELECT trace_id, span_id FROM spans WHERE session_id = 'conv_conv-c3'");
    assert.equal(sp.length, 4);
    for (const s of sp) assert.match(s.trace_id + s.span_id, /^[0-9a-f]{48}$/, 'ids stored lowercase');
    assert.equal(sp[0].trace_id, pb.ids.trace);
  });

  it('takes gzip bodies in both encodings; refuses bad gzip (400), a bomb (413), other encodings and types (415)', async () => {
    const a = agentTrace('d4');
    let r = await post('/v1/traces', traceRequest(a.spans), { gzip: true });
    assert.equal(r.status, 200);
    const b = agentTrace('e5');
    r = await post('/v1/traces', encodeTraces(traceRequest(b.spans)), { gzip: true });
    assert.equal(r.status, 200);
    assert.equal(one("SELECT count(*) AS n FROM spans WHERE session_id IN ('conv_conv-d4','conv_conv-e5')").n, 8);

    r = await post('/v1/traces', Buffer.from('not gzip at all'), { encoding: 'gzip', type: 'application/json' });
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 3, 'google.rpc.Status INVALID_ARGUMENT');
    assert.equal(r.json.error.code, 'invalid_gzip');

    // 9 MB of zeros compress to a few KB; the limit is 8 MiB once decompressed.
    const bomb = zlib.gzipSync(Buffer.alloc(9 * 1024 * 1024, 0x20));
    assert.ok(bomb.length < 65536);
    r = await post('/v1/traces', bomb, { type: 'application/json', encoding: 'gzip' });
    assert.equal(r.status, 413);
    assert.match(r.json.message, /once decompressed/);

    r = await post('/v1/traces', traceRequest(a.spans), { encoding: 'br' });
    assert.equal(r.status, 415);
    assert.equal(r.json.error.code, 'unsupported_encoding');
    r = await post('/v1/traces', 'hello', { type: 'text/plain' });
    assert.equal(r.status, 415);
    assert.equal(r.json.code, 3);
    assert.match(r.json.message, /application\/x-protobuf or application\/json/);
  });

  it('answers malformed bodies 400 with a google.rpc.Status in the request encoding', async () => {
    let r = await post('/v1/traces', '{"resourceSpans": [', { type: 'application/json' });
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 3);
    assert.equal(r.json.error.code, 'invalid_json');
    r = await post('/v1/traces', '{"resourceSpans": {}}', { type: 'application/json' });
    assert.equal(r.status, 400);
    assert.match(r.json.message, /resourceSpans must be an array/);

    const bad = [
      Buffer.from([0x0a, 0x05, 0x01]),                  // length past the end
      Buffer.from([0x0a]),                              // truncated length
      Buffer.from([0x0b]),                              // field 1, wire type 3 (group)
      Buffer.from([0x08, 0x01]),                        // resourceSpans as a varint
      Buffer.from([0x0a, 0x04, 0x12, 0x02, 0xff, 0xfe]), // scopeSpans holding junk
    ];
    // A string that is not UTF-8: span name (field 5) = ff fe.
    const span = Buffer.from([0x2a, 0x02, 0xff, 0xfe]);
    const ss = Buffer.concat([Buffer.from([0x12, span.length]), span]);
    const rs = Buffer.concat([Buffer.from([0x12, ss.length]), ss]);
    bad.push(Buffer.concat([Buffer.from([0x0a, rs.length]), rs]));
    // AnyValue nested 40 deep (arrayValue of arrayValue ...): PB_MAX_DEPTH is 32.
    const vlen = (n) => (n < 128 ? [n] : [(n & 0x7f) | 0x80, n >> 7]);
    const ld = (tag, b) => Buffer.concat([Buffer.from([tag, ...vlen(b.length)]), b]);
    let any = Buffer.from([0x0a, 0x01, 0x78]);
    for (let i = 0; i < 40; i++) any = ld(0x2a, ld(0x0a, any)); // AnyValue.arrayValue { values }
    const kv = Buffer.concat([Buffer.from([0x0a, 0x01, 0x6b]), ld(0x12, any)]);
    bad.push(ld(0x0a, ld(0x12, ld(0x12, ld(0x4a, kv))))); // resourceSpans.scopeSpans.spans.attributes
    for (const b of bad) {
      r = await post('/v1/traces', b);
      assert.equal(r.status, 400, `bytes ${b.toString('hex')}`);
      assert.equal(r.ct, 'application/x-protobuf');
      const st = decodeMessage(r.raw);
      assert.equal(st[1][0], 3n, 'Status.code INVALID_ARGUMENT');
      assert.ok(st[2][0].toString('utf8').length > 5, 'Status.message says why');
    }
    // Unknown fields are skipped, as protobuf requires; an empty request is fine.
    r = await post('/v1/traces', Buffer.from([0x78, 0x05, 0x82, 0x01, 0x02, 0x61, 0x62]));
    assert.equal(r.status, 200);
    r = await post('/v1/traces', Buffer.alloc(0));
    assert.equal(r.status, 200);
    assert.equal(r.raw.length, 0);
    const n = one('SELECT count(*) AS n FROM sessions').n;
    assert.equal(n, 5, 'nothing written by any refused request');
  });

  it('reports partial success: malformed spans are rejected, the rest recorded', async () => {
    const t = agentTrace('f6');
    const spans = [
      ...t.spans,
      { ...t.spans[0], spanId: 'xyz', name: 'bad id' },
      { ...t.spans[0], traceId: '00000000000000000000000000000000', spanId: '0000000000000f61', name: 'zero trace' },
      { ...t.spans[0], spanId: '0000000000000f62', startTimeUnixNano: undefined, name: 'no start' },
    ];
    let r = await post('/v1/traces', traceRequest(spans));
    assert.equal(r.status, 200);
    assert.equal(r.json.partialSuccess.rejectedSpans, '3');
    assert.match(r.json.partialSuccess.errorMessage, /spanId must be 16 hex digits/);
    assert.equal(one("SELECT count(*) AS n FROM spans WHERE session_id = 'conv_conv-f6'").n, 4);

    const u = agentTrace('f7');
    r = await post('/v1/traces', encodeTraces(traceRequest([...u.spans, { ...u.spans[0], spanId: '00000000000000', name: 'short id' }])));
    assert.equal(r.status, 200);
    const ps = decodeMessage(decodeMessage(r.raw)[1][0]);
    assert.equal(ps[1][0], 1n, 'rejected_spans');
    assert.match(ps[2][0].toString('utf8'), /spanId/);
  });

  it('refuses without a runtime token (401, 403) and outside the token\'s projects (partial)', async () => {
    const t = agentTrace('a8');
    let r = await post('/v1/traces', traceRequest(t.spans), { token: null });
    assert.equal(r.status, 401);
    assert.equal(r.json.code, 16, 'UNAUTHENTICATED');
    r = await post('/v1/traces', encodeTraces(traceRequest(t.spans)), { token: viewer });
    assert.equal(r.status, 403);
    assert.equal(decodeMessage(r.raw)[1][0], 7n, 'PERMISSION_DENIED, in protobuf');
    r = await srv.fetch('/v1/traces', { method: 'GET', headers: { authorization: `Bearer ${runtime}` } });
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'POST');

    const scoped = await srv.token('runtime', { project: 'alpha' });
    r = await post('/v1/traces', traceRequest(t.spans, { project: 'beta' }), { token: scoped });
    assert.equal(r.status, 200);
    assert.equal(r.json.partialSuccess.rejectedSpans, '4');
    assert.match(r.json.partialSuccess.errorMessage, /project "beta"/);
    assert.equal(one("SELECT count(*) AS n FROM sessions WHERE id = 'conv_conv-a8'").n, 0);
    r = await post('/v1/traces', traceRequest(t.spans, { project: 'alpha' }), { token: scoped });
    assert.deepEqual(r.json, {});
    assert.equal(one("SELECT project FROM sessions WHERE id = 'conv_conv-a8'").project, 'alpha');
  });

  it('follows spans that arrive one per request, children first, and ignores retried exports', async () => {
    const t = agentTrace('b9');
    const [chat1, tool, chat2, root] = t.spans;
    for (const s of [chat1, tool]) {
      const r = await post('/v1/traces', traceRequest([s]));
      assert.deepEqual(r.json, {});
    }
    let s = one("SELECT status, agent FROM sessions WHERE id = 'conv_conv-b9'");
    assert.equal(s.status, 'running', 'running while spans arrive');
    assert.equal(s.agent, 'travel-agent', 'until the agent span names it, the service does');
    // The same export again (a retry): acknowledged, nothing doubled.
    const again = await post('/v1/traces', traceRequest([tool]));
    assert.deepEqual(again.json, {});
    assert.equal(one("SELECT count(*) AS n FROM tool_calls WHERE session_id = 'conv_conv-b9'").n, 1);
    await post('/v1/traces', encodeTraces(traceRequest([root])));
    s = one("SELECT status, agent, ended_at FROM sessions WHERE id = 'conv_conv-b9'");
    assert.equal(s.status, 'completed', 'the root span ended');
    assert.equal(s.agent, 'WeatherBot');
    assert.equal(s.ended_at, 1763800001000);
    // A child that comes after its root is still recorded; it does not reopen the session.
    await post('/v1/traces', traceRequest([chat2]));
    s = one("SELECT status, completion_tokens FROM sessions WHERE id = 'conv_conv-b9'");
    assert.equal(s.status, 'completed');
    assert.equal(s.completion_tokens, 150);
    assert.equal(one("SELECT count(*) AS n FROM eval_runs WHERE session_id = 'conv_conv-b9'").n, 1);
    const types = rows("SELECT type FROM events WHERE session_id = 'conv_conv-b9' AND type <> 'lifecycle' ORDER BY seq").map((e) => e.type);
    assert.deepEqual(types, ['user_message', 'thought', 'usage', 'tool_call', 'tool_result', 'assistant_message', 'usage']);

    // A new turn of the conversation (a new trace, begun after the end) continues the session.
    const turn = agentTrace('ba', { conv: 'conv-b9', at: 60000 });
    const r = await post('/v1/traces', traceRequest(turn.spans));
    assert.deepEqual(r.json, {});
    s = one("SELECT status, ended_at, prompt_tokens FROM sessions WHERE id = 'conv_conv-b9'");
    assert.equal(s.status, 'completed');
    assert.equal(s.ended_at, 1763800061000);
    assert.equal(s.prompt_tokens, 6000);
    const lc = rows("SELECT body FROM events WHERE session_id = 'conv_conv-b9' AND type = 'lifecycle' ORDER BY seq").map((e) => JSON.parse(e.body).action);
    assert.deepEqual(lc, ['start', 'complete', 'continue', 'complete']);
  });

  it('two turns of a conversation in one export: the second continues the session and decides its end', async () => {
    const one_ = agentTrace('c5', { conv: 'conv-2t' });
    const two = agentTrace('c6', { conv: 'conv-2t', at: 5000, fail: true });
    const r = await post('/v1/traces', traceRequest([...two.spans, ...one_.spans]));
    assert.deepEqual(r.json, {});
    const s = one("SELECT status, ended_at, error_message, prompt_tokens FROM sessions WHERE id = 'conv_conv-2t'");
    assert.deepEqual(s, { status: 'failed', ended_at: 1763800006000, error_message: 'agent crashed', prompt_tokens: 6000 });
    const lc = rows("SELECT body FROM events WHERE session_id = 'conv_conv-2t' AND type = 'lifecycle' ORDER BY seq").map((e) => JSON.parse(e.body).action);
    assert.deepEqual(lc, ['start', 'complete', 'continue', 'fail']);
    // And a later turn that succeeds clears the error.
    const three = agentTrace('c7', { conv: 'conv-2t', at: 9000 });
    await post('/v1/traces', encodeTraces(traceRequest(three.spans)));
    assert.deepEqual(one("SELECT status, error_message FROM sessions WHERE id = 'conv_conv-2t'"), { status: 'completed', error_message: '' });
  });

  it('an agent invoked inside an HTTP server span is its conversation\'s root agent, not a sub-agent', async () => {
    for (const [tag, together] of [['c8', false], ['ca', true]]) {
      const t = agentTrace(tag);
      const http = { traceId: t.ids.trace, spanId: `00000000000000${tag}`, name: 'POST /chat', kind: 2,
        startTimeUnixNano: ns(-5), endTimeUnixNano: ns(1005), attributes: [str('http.request.method', 'POST')] };
      const spans = t.spans.map((s) => (s.spanId === t.ids.root ? { ...s, parentSpanId: http.spanId } : s));
      if (together) {
        await post('/v1/traces', traceRequest([...spans, http]));
      } else {
        // The HTTP span ends last, and comes in a later export.
        await post('/v1/traces', traceRequest(spans));
        await post('/v1/traces', traceRequest([http]));
      }
      const s = one(`SELECT status, agent FROM sessions WHERE id = 'conv_conv-${tag}'`);
      assert.deepEqual(s, { status: 'completed', agent: 'WeatherBot' }, tag);
      assert.equal(one(`SELECT count(*) AS n FROM spans WHERE session_id = 'conv_conv-${tag}'`).n, 5, 'the HTTP span joins its trace\'s conversation');
      assert.equal(one(`SELECT count(*) AS n FROM tool_calls WHERE session_id = 'conv_conv-${tag}' AND kind = 'agent'`).n, 0);
    }
    assert.equal(one("SELECT count(*) AS n FROM sessions WHERE id LIKE 'agent\\_%' ESCAPE '\\'").n, 0, 'no sub-agent session');
  });

  it('cuts long names at a character boundary; refuses JSON that is not UTF-8; zero ids on a log mean none', async () => {
    const t = agentTrace('c9');
    const r = await post('/v1/traces', traceRequest(t.spans.slice(0, 1), { service: 'é'.repeat(300) }));
    assert.deepEqual(r.json, {});
    const s = one("SELECT agent, json_extract(metadata, '$.\"service.name\"') AS svc FROM sessions WHERE id = 'conv_conv-c9'");
    assert.equal(s.agent, 'é'.repeat(100), '200 bytes, whole characters');
    assert.equal(s.svc, 'é'.repeat(100));

    const body = Buffer.concat([Buffer.from('{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}}]}}]}')]);
    const bad = await post('/v1/traces', body, { type: 'application/json' });
    assert.equal(bad.status, 400);
    assert.match(bad.json.message, /not UTF-8/);

    const logs = { resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: ns(1), body: { stringValue: 'zero ids' },
      traceId: '0'.repeat(32), spanId: '0'.repeat(16), attributes: [str('gen_ai.conversation.id', 'conv-c9')] }] }] }] };
    const lr = await post('/v1/logs', logs);
    assert.deepEqual(lr.json, {});
    assert.equal(one("SELECT body FROM logs WHERE session_id = 'conv_conv-c9'").body, 'zero ids');
  });

  it('a failed tool and a failed root span make a failed tool call and a failed session', async () => {
    const t = agentTrace('c1', { fail: true, toolFail: true });
    await post('/v1/traces', encodeTraces(traceRequest(t.spans)));
    const s = one("SELECT status, error_message, error_step, error_count FROM sessions WHERE id = 'conv_conv-c1'");
    assert.equal(s.status, 'failed');
    assert.equal(s.error_message, 'agent crashed');
    assert.equal(s.error_step, 'invoke_agent WeatherBot');
    const tc = one("SELECT state, error_category, error_message FROM tool_calls WHERE session_id = 'conv_conv-c1'");
    assert.deepEqual(tc, { state: 'failed', error_category: 'TimeoutError', error_message: 'weather service timed out' });
    const err = rows("SELECT body FROM events WHERE session_id = 'conv_conv-c1' AND type = 'error'");
    assert.equal(err.length, 1);
    assert.equal(JSON.parse(err[0].body).message, 'RuntimeError: agent crashed', 'the exception event');
  });

  it('an agent invoked under another agent\'s span gets its own session, called from the caller', async () => {
    const tr = '0000000000000000000000000000d0d0';
    const base = [str('gen_ai.conversation.id', 'conv-sub')];
    const spans = [
      { traceId: tr, spanId: '00000000000000d3', parentSpanId: '00000000000000d2', name: 'chat gpt-4o-mini', startTimeUnixNano: ns(30), endTimeUnixNano: ns(60),
        attributes: [...base, str('gen_ai.operation.name', 'chat'), str('gen_ai.request.model', 'gpt-4o-mini'), int('gen_ai.usage.input_tokens', 10), int('gen_ai.usage.output_tokens', 5),
          str('gen_ai.output.messages', JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'flights found' }] }]))] },
      { traceId: tr, spanId: '00000000000000d2', parentSpanId: '00000000000000d1', name: 'invoke_agent FlightFinder', startTimeUnixNano: ns(20), endTimeUnixNano: ns(80),
        attributes: [...base, str('gen_ai.operation.name', 'invoke_agent'), str('gen_ai.agent.name', 'FlightFinder'),
          str('gen_ai.output.messages', JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'flights found' }] }]))] },
      { traceId: tr, spanId: '00000000000000d1', name: 'invoke_agent Planner', startTimeUnixNano: ns(0), endTimeUnixNano: ns(100),
        attributes: [...base, str('gen_ai.operation.name', 'invoke_agent'), str('gen_ai.agent.name', 'Planner')] },
    ];
    const r = await post('/v1/traces', traceRequest(spans));
    assert.deepEqual(r.json, {});
    const sub = `agent_${tr}_00000000000000d2`;
    const caller = one("SELECT status, agent FROM sessions WHERE id = 'conv_conv-sub'");
    assert.deepEqual(caller, { status: 'completed', agent: 'Planner' });
    const child = one(`SELECT status, agent, parent_session_id, parent_tool_call_id, trigger_type, completion_tokens, final_response FROM sessions WHERE id = '${sub}'`);
    assert.deepEqual(child, { status: 'completed', agent: 'FlightFinder', parent_session_id: 'conv_conv-sub', parent_tool_call_id: '00000000000000d2',
      trigger_type: 'agent', completion_tokens: 5, final_response: 'flights found' });
    const call = one("SELECT id, tool, kind, state, called_session_id, result FROM tool_calls WHERE session_id = 'conv_conv-sub'");
    assert.deepEqual(call, { id: '00000000000000d2', tool: 'FlightFinder', kind: 'agent', state: 'succeeded', called_session_id: sub, result: '"flights found"' });
    assert.equal(one("SELECT count(*) AS n FROM spans WHERE session_id = 'conv_conv-sub'").n, 1);
    assert.equal(one(`SELECT count(*) AS n FROM spans WHERE session_id = '${sub}'`).n, 2);
  });

  it('a canceled session takes no more spans; the rest of the request is recorded', async () => {
    const t = agentTrace('e1');
    const [chat1, tool, chat2, root] = t.spans;
    await post('/v1/traces', traceRequest([chat1]));
    const c = await srv.api('POST', '/api/v1/sessions/conv_conv-e1/cancel', { token: await srv.token('admin') });
    assert.equal(c.status, 200);
    const before = one("SELECT count(*) AS n FROM events WHERE session_id = 'conv_conv-e1'").n;
    const other = agentTrace('e2');
    const r = await post('/v1/traces', traceRequest([tool, chat2, root, ...other.spans]));
    assert.equal(r.json.partialSuccess.rejectedSpans, '3');
    assert.match(r.json.partialSuccess.errorMessage, /conv_conv-e1 was canceled/);
    assert.equal(one("SELECT count(*) AS n FROM events WHERE session_id = 'conv_conv-e1'").n, before);
    assert.equal(one("SELECT status FROM sessions WHERE id = 'conv_conv-e1'").status, 'canceled');
    assert.equal(one("SELECT status FROM sessions WHERE id = 'conv_conv-e2'").status, 'completed');

    // An agent called under the canceled session's root is refused with it.
    const sub = { traceId: t.ids.trace, spanId: '00000000000000e9', parentSpanId: t.ids.root, name: 'invoke_agent Helper',
      startTimeUnixNano: ns(100), endTimeUnixNano: ns(200), attributes: [str('gen_ai.operation.name', 'invoke_agent'), str('gen_ai.agent.name', 'Helper')] };
    const r2 = await post('/v1/traces', traceRequest([sub]));
    assert.equal(r2.json.partialSuccess.rejectedSpans, '1');
    assert.equal(one(`SELECT count(*) AS n FROM sessions WHERE id = 'agent_${t.ids.trace}_00000000000000e9'`).n, 0);
  });

  it('maps log records: to the conversation or the trace; evaluation events become eval runs; records with neither are rejected', async () => {
    const t = agentTrace('f1');
    await post('/v1/traces', traceRequest(t.spans));
    const logs = {
      resourceLogs: [{
        resource: { attributes: [str('service.name', 'travel-agent')] },
        scopeLogs: [{
          logRecords: [
            { timeUnixNano: ns(5), severityNumber: 17, body: { stringValue: 'upstream 502' }, traceId: t.ids.trace, spanId: t.ids.tool },
            { timeUnixNano: ns(6), severityText: 'WARNING', body: { kvlistValue: { values: [str('k', 'v')] } }, attributes: [str('gen_ai.conversation.id', 'conv-f1')] },
            { timeUnixNano: ns(7), eventName: 'gen_ai.evaluation.result', traceId: t.ids.trace,
              attributes: [str('gen_ai.evaluation.name', 'groundedness'), { key: 'gen_ai.evaluation.score.value', value: { doubleValue: 0.5 } }, str('error.type', 'judge_timeout')] },
            { timeUnixNano: ns(8), body: { stringValue: 'orphan' } },
          ],
        }],
      }],
    };
    const r = await post('/v1/logs', encodeLogs(logs));
    assert.equal(r.status, 200);
    const ps = decodeMessage(decodeMessage(r.raw)[1][0]);
    assert.equal(ps[1][0], 1n, 'rejected_log_records: the orphan');
    assert.match(ps[2][0].toString('utf8'), /traceId or a gen_ai.conversation.id/);
    const lines = rows("SELECT severity, body FROM logs WHERE session_id = 'conv_conv-f1' ORDER BY time");
    assert.deepEqual(lines, [{ severity: 'error', body: 'upstream 502' }, { severity: 'warn', body: '{"k":"v"}' }]);
    const ev = rows("SELECT eval_id, state, result FROM eval_runs WHERE session_id = 'conv_conv-f1' ORDER BY id");
    assert.equal(ev.length, 2);
    assert.equal(ev[1].eval_id, 'groundedness');
    assert.equal(ev[1].state, 'error');
    assert.equal(JSON.parse(ev[1].result).score, 0.5);
  });

  it('spans without a conversation id are grouped by trace; the OpenTelemetry examples are accepted', async () => {
    const trace = JSON.parse(fs.readFileSync(path.join(TESTDATA, 'trace.json'), 'utf8'));
    let r = await post('/v1/traces', trace);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, {});
    const sid = 'trace_5b8efff798038103d269b633813fc60c';
    const s = one(`SELECT status, agent, trigger_source FROM sessions WHERE id = '${sid}'`);
    assert.equal(s.agent, 'my.service');
    assert.equal(s.status, 'running', 'its span has a parent that never came: not the root');
    const sp = one(`SELECT span_id, parent_span_id, name, attributes, raw FROM spans WHERE session_id = '${sid}'`);
    assert.equal(sp.span_id, 'eee19b7ec3c1b174');
    assert.equal(sp.parent_span_id, 'eee19b7ec3c1b173');
    assert.deepEqual(JSON.parse(sp.attributes), { 'my.span.attr': 'some value' });
    assert.equal(JSON.parse(sp.raw).scope.attributes[0].key, 'my.scope.attribute');
    // The same request in protobuf (the encoder reads the JSON example) is a retry.
    r = await post('/v1/traces', encodeTraces(trace));
    assert.equal(r.status, 200);
    assert.equal(one(`SELECT count(*) AS n FROM spans WHERE session_id = '${sid}'`).n, 1);

    const logs = JSON.parse(fs.readFileSync(path.join(TESTDATA, 'logs.json'), 'utf8'));
    r = await post('/v1/logs', logs);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, {});
    const lines = rows(`SELECT severity, body, time FROM logs WHERE session_id = '${sid}'`);
    assert.equal(lines.length, 1, 'the example log record carries the example trace id');
    assert.equal(lines[0].body, 'Example log record');
    assert.equal(lines[0].severity, 'info');
    assert.equal(lines[0].time, 1544712660300);
    r = await post('/v1/logs', encodeLogs(logs), { gzip: true });
    assert.equal(r.status, 200);
    assert.equal(r.ct, 'application/x-protobuf');
    assert.equal(rows(`SELECT body FROM logs WHERE session_id = '${sid}'`).length, 2, 'log records have no id: a second export is a second line');
  });
});
