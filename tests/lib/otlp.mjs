// OTLP for the tests: an encoder from the OTLP/JSON form of a request to
// its protobuf bytes (written from opentelemetry-proto's .proto files, apart
// from the server's decoder in cgi/pb.c, so the two check each other), a
// decoder for the small answers, and GenAI traces to send.
//
//   const bytes = encodeTraces(json);   // ExportTraceServiceRequest
//   const bytes = encodeLogs(json);     // ExportLogsServiceRequest
//   decodeMessage(bytes)                // {fieldNumber: [values]} one level deep

// ---- protobuf wire format ----
function varint(n) {
  let v = BigInt.asUintN(64, BigInt(n));
  const out = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
}
const key = (num, wt) => varint((num << 3) | wt);
const bytesField = (num, buf) => [...key(num, 2), ...varint(buf.length), ...buf];
const strField = (num, s) => bytesField(num, [...Buffer.from(s, 'utf8')]);
function fixed64(num, v) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return [...key(num, 1), ...b];
}
function fixed32(num, v) {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return [...key(num, 5), ...b];
}
function double(num, v) {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return [...key(num, 1), ...b];
}
const hex = (s) => [...Buffer.from(s, 'hex')];

// ---- messages (field numbers from opentelemetry/proto/*) ----
function anyValue(v) {
  const out = [];
  if ('stringValue' in v) out.push(...strField(1, v.stringValue));
  if ('boolValue' in v) out.push(...key(2, 0), ...varint(v.boolValue ? 1 : 0));
  if ('intValue' in v) out.push(...key(3, 0), ...varint(v.intValue));
  if ('doubleValue' in v) out.push(...double(4, v.doubleValue));
  if ('arrayValue' in v) out.push(...bytesField(5, (v.arrayValue.values || []).flatMap((x) => bytesField(1, anyValue(x)))));
  if ('kvlistValue' in v) out.push(...bytesField(6, (v.kvlistValue.values || []).flatMap((x) => bytesField(1, keyValue(x)))));
  if ('bytesValue' in v) out.push(...bytesField(7, [...Buffer.from(v.bytesValue, 'base64')]));
  return out;
}
const keyValue = (kv) => [...strField(1, kv.key), ...bytesField(2, anyValue(kv.value || {}))];
const attrs = (num, list) => (list || []).flatMap((kv) => bytesField(num, keyValue(kv)));
const resource = (r) => attrs(1, r.attributes);
function scope(s) {
  const out = [];
  if (s.name) out.push(...strField(1, s.name));
  if (s.version) out.push(...strField(2, s.version));
  out.push(...attrs(3, s.attributes));
  return out;
}
function span(s) {
  const out = [];
  if (s.traceId) out.push(...bytesField(1, hex(s.traceId)));
  if (s.spanId) out.push(...bytesField(2, hex(s.spanId)));
  if (s.traceState) out.push(...strField(3, s.traceState));
  if (s.parentSpanId) out.push(...bytesField(4, hex(s.parentSpanId)));
  if (s.name) out.push(...strField(5, s.name));
  if (s.kind) out.push(...key(6, 0), ...varint(s.kind));
  if (s.startTimeUnixNano) out.push(...fixed64(7, s.startTimeUnixNano));
  if (s.endTimeUnixNano) out.push(...fixed64(8, s.endTimeUnixNano));
  out.push(...attrs(9, s.attributes));
  for (const e of s.events || []) {
    const ev = [];
    if (e.timeUnixNano) ev.push(...fixed64(1, e.timeUnixNano));
    if (e.name) ev.push(...strField(2, e.name));
    ev.push(...attrs(3, e.attributes));
    out.push(...bytesField(11, ev));
  }
  for (const l of s.links || []) {
    const lk = [...bytesField(1, hex(l.traceId)), ...bytesField(2, hex(l.spanId)), ...attrs(4, l.attributes)];
    if (l.flags) lk.push(...fixed32(6, l.flags));
    out.push(...bytesField(13, lk));
  }
  if (s.status) {
    const st = [];
    if (s.status.message) st.push(...strField(2, s.status.message));
    if (s.status.code) st.push(...key(3, 0), ...varint(s.status.code));
    out.push(...bytesField(15, st));
  }
  if (s.flags) out.push(...fixed32(16, s.flags));
  return out;
}
function logRecord(l) {
  const out = [];
  if (l.timeUnixNano) out.push(...fixed64(1, l.timeUnixNano));
  if (l.severityNumber) out.push(...key(2, 0), ...varint(l.severityNumber));
  if (l.severityText) out.push(...strField(3, l.severityText));
  if (l.body) out.push(...bytesField(5, anyValue(l.body)));
  out.push(...attrs(6, l.attributes));
  if (l.flags) out.push(...fixed32(8, l.flags));
  if (l.traceId) out.push(...bytesField(9, hex(l.traceId)));
  if (l.spanId) out.push(...bytesField(10, hex(l.spanId)));
  if (l.observedTimeUnixNano) out.push(...fixed64(11, l.observedTimeUnixNano));
  if (l.eventName) out.push(...strField(12, l.eventName));
  return out;
}

export function encodeTraces(req) {
  return Buffer.from((req.resourceSpans || []).flatMap((rs) =>
    bytesField(1, [
      ...(rs.resource ? bytesField(1, resource(rs.resource)) : []),
      ...(rs.scopeSpans || []).flatMap((ss) =>
        bytesField(2, [...(ss.scope ? bytesField(1, scope(ss.scope)) : []), ...(ss.spans || []).flatMap((s) => bytesField(2, span(s)))])),
    ])));
}

export function encodeLogs(req) {
  return Buffer.from((req.resourceLogs || []).flatMap((rl) =>
    bytesField(1, [
      ...(rl.resource ? bytesField(1, resource(rl.resource)) : []),
      ...(rl.scopeLogs || []).flatMap((sl) =>
        bytesField(2, [...(sl.scope ? bytesField(1, scope(sl.scope)) : []), ...(sl.logRecords || []).flatMap((l) => bytesField(2, logRecord(l)))])),
    ])));
}

/** One level of a protobuf message: {num: [value]}; varints as BigInt,
 *  length-delimited fields as Buffers. */
export function decodeMessage(buf) {
  const out = {};
  let i = 0;
  const rv = () => {
    let v = 0n, shift = 0n;
    for (;;) {
      const b = buf[i++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const k = Number(rv());
    const num = k >> 3, wt = k & 7;
    let val;
    if (wt === 0) val = rv();
    else if (wt === 2) { const n = Number(rv()); val = buf.subarray(i, i + n); i += n; }
    else if (wt === 1) { val = buf.subarray(i, i + 8); i += 8; }
    else if (wt === 5) { val = buf.subarray(i, i + 4); i += 4; }
    else throw new Error(`wire type ${wt}`);
    (out[num] ||= []).push(val);
  }
  return out;
}

// ---- building requests ----
export const str = (key, v) => ({ key, value: { stringValue: v } });
export const int = (key, v) => ({ key, value: { intValue: String(v) } });
const T0 = 1763800000000000000n; // 2025-11-22, in ns
export const ns = (ms) => String(T0 + BigInt(ms) * 1000000n);
const nsAt = ns;
export const nsToMs = (s) => Number(BigInt(s) / 1000000n);

export function traceRequest(spans, { service = 'travel-agent', project, extra = [] } = {}) {
  const resAttrs = [str('service.name', service), ...extra];
  if (project) resAttrs.push(str('flightdeck.project', project));
  return {
    resourceSpans: [{
      resource: { attributes: resAttrs },
      scopeSpans: [{ scope: { name: 'test.genai', version: '1.0.0' }, spans }],
    }],
  };
}

const msg = (role, text) => ({ role, parts: [{ type: 'text', content: text }] });

/** A GenAI agent run in one trace: invoke_agent (root) > chat, execute_tool
 *  (get_weather), chat (final answer), plus an evaluation event; ids are
 *  derived from `tag` (hex) so each call gives a new trace. Uppercase ids
 *  when upper is set. */
export function agentTrace(tag, { conv = `conv-${tag}`, fail = false, toolFail = false, upper = false, at = 0 } = {}) {
  const ns = (ms) => nsAt(ms + at);
  const h = (n, len) => {
    const s = (tag + n).replace(/[^0-9a-f]/gi, '').padStart(len, '0').slice(-len);
    return upper ? s.toUpperCase() : s;
  };
  const trace = h('a1', 32);
  const root = h('01', 16), chat1 = h('02', 16), tool = h('03', 16), chat2 = h('04', 16);
  const q = 'What is the weather in Paris?';
  const answer = 'It is sunny in Paris, 21 degrees.';
  const common = [str('gen_ai.conversation.id', conv)];
  return {
    ids: { trace: trace.toLowerCase(), root: root.toLowerCase(), chat1: chat1.toLowerCase(), tool: tool.toLowerCase(), chat2: chat2.toLowerCase() },
    question: q,
    answer,
    spans: [
      {
        traceId: trace, spanId: chat1, parentSpanId: root, name: 'chat gpt-4o', kind: 3,
        startTimeUnixNano: ns(10), endTimeUnixNano: ns(400),
        attributes: [...common, str('gen_ai.operation.name', 'chat'), str('gen_ai.provider.name', 'openai'),
          str('gen_ai.request.model', 'gpt-4o'), str('gen_ai.response.model', 'gpt-4o-2024-08-06'),
          int('gen_ai.usage.input_tokens', 1000), int('gen_ai.usage.output_tokens', 100),
          int('gen_ai.usage.cache_read.input_tokens', 400),
          str('gen_ai.system_instructions', JSON.stringify([{ type: 'text', content: 'You are a travel assistant.' }])),
          str('gen_ai.input.messages', JSON.stringify([msg('user', q)])),
          str('gen_ai.output.messages', JSON.stringify([{ role: 'assistant', parts: [
            { type: 'reasoning', content: 'I should look up the weather.' },
            { type: 'tool_call', id: 'call_1', name: 'get_weather', arguments: { city: 'Paris' } }] }]))],
      },
      {
        traceId: trace, spanId: tool, parentSpanId: root, name: 'execute_tool get_weather', kind: 1,
        startTimeUnixNano: ns(410), endTimeUnixNano: ns(600),
        attributes: [str('gen_ai.operation.name', 'execute_tool'), str('gen_ai.tool.name', 'get_weather'),
          str('gen_ai.tool.call.id', 'call_1'), str('gen_ai.tool.type', 'function'),
          str('gen_ai.tool.call.arguments', '{"city":"Paris"}'),
          ...(toolFail ? [str('error.type', 'TimeoutError')] : [str('gen_ai.tool.call.result', '{"temp_c":21,"sky":"sunny"}')])],
        ...(toolFail ? { status: { code: 2, message: 'weather service timed out' } } : {}),
      },
      {
        traceId: trace, spanId: chat2, parentSpanId: root, name: 'chat gpt-4o', kind: 3,
        startTimeUnixNano: ns(610), endTimeUnixNano: ns(900),
        attributes: [...common, str('gen_ai.operation.name', 'chat'), str('gen_ai.request.model', 'gpt-4o-mini'),
          int('gen_ai.usage.input_tokens', 2000), int('gen_ai.usage.output_tokens', 50),
          str('gen_ai.input.messages', JSON.stringify([msg('user', q),
            { role: 'assistant', parts: [{ type: 'tool_call', id: 'call_1', name: 'get_weather' }] },
            { role: 'tool', parts: [{ type: 'tool_call_response', id: 'call_1', response: { temp_c: 21 } }] }])),
          str('gen_ai.output.messages', JSON.stringify([msg('assistant', answer)]))],
        events: [{
          timeUnixNano: ns(905), name: 'gen_ai.evaluation.result',
          attributes: [str('gen_ai.evaluation.name', 'relevance'), { key: 'gen_ai.evaluation.score.value', value: { doubleValue: 0.875 } },
            str('gen_ai.evaluation.score.label', 'relevant'), str('gen_ai.evaluation.explanation', 'answers the question')],
        }],
      },
      {
        traceId: trace, spanId: root, name: 'invoke_agent WeatherBot', kind: 1,
        startTimeUnixNano: ns(0), endTimeUnixNano: ns(1000),
        attributes: [...common, str('gen_ai.operation.name', 'invoke_agent'), str('gen_ai.agent.name', 'WeatherBot'),
          str('gen_ai.agent.description', 'answers weather questions'),
          str('gen_ai.input.messages', JSON.stringify([msg('user', q)])),
          str('gen_ai.output.messages', JSON.stringify([msg('assistant', answer)]))],
        ...(fail ? { status: { code: 2, message: 'agent crashed' }, events: [{ timeUnixNano: ns(999), name: 'exception', attributes: [str('exception.type', 'RuntimeError'), str('exception.message', 'agent crashed')] }] } : { status: { code: 1 } }),
      },
    ],
  };
}
