// OTLP ingestion load (issue 10): `conns` exporters POST /v1/traces for
// `seconds`, each request holding `traces` GenAI agent traces of 4 spans
// (tests/lib/otlp.mjs agentTrace: invoke_agent > chat, execute_tool, chat
// with an evaluation event) with message content, in OTLP/JSON or protobuf.
// Every request is new (trace ids and conversation ids carry a counter), so
// nothing is skipped as a retry. Prints and returns spans per second.
//
//   node bench/otlp_load.mjs --url http://127.0.0.1:PORT --token TOKEN
//        [--protobuf] [--conns 8] [--seconds 8] [--traces 25] [--project bench-ingest]
import http from 'node:http';
import { agentTrace, traceRequest, encodeTraces } from '../tests/lib/otlp.mjs';

const TRACE_MARK = 'deadbeef';       // the first 4 bytes of every trace id
const CONV_MARK = 'QQQQQQQQ';        // in every conversation id

function template(traces, project, protobuf) {
  const spans = [];
  for (let i = 0; i < traces; i++) {
    const t = agentTrace(`${i.toString(16).padStart(4, '0')}`, { conv: `bench-${CONV_MARK}-${i}` });
    for (const s of t.spans) spans.push({ ...s, traceId: TRACE_MARK + s.traceId.slice(8) });
  }
  const req = traceRequest(spans, { service: 'bench-agent', project });
  if (!protobuf) return { body: Buffer.from(JSON.stringify(req)), spans: spans.length };
  return { body: encodeTraces(req), spans: spans.length };
}

/** Positions of needle in buf. */
function positions(buf, needle) {
  const at = [];
  for (let i = buf.indexOf(needle); i >= 0; i = buf.indexOf(needle, i + 1)) at.push(i);
  return at;
}

export async function otlpLoad({ base, token, protobuf = false, conns = 8, seconds = 8, traces = 25, project = 'bench-ingest' }) {
  const { body, spans } = template(traces, project, protobuf);
  const traceBytes = protobuf ? Buffer.from(TRACE_MARK, 'hex') : Buffer.from(TRACE_MARK);
  const tracePos = positions(body, traceBytes);
  const convPos = positions(body, Buffer.from(CONV_MARK));
  if (tracePos.length < spans || convPos.length < traces) throw new Error('otlp_load: markers not found in the template');
  const url = new URL('/v1/traces', base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
  const headers = {
    authorization: `Bearer ${token}`,
    'content-type': protobuf ? 'application/x-protobuf' : 'application/json',
    'content-length': String(body.length),
  };
  let counter = (Date.now() % 0x7fffffff) >>> 0;
  let done = 0, errors = 0;
  const lat = [];
  const end = Date.now() + seconds * 1000;
  const t0 = Date.now();

  function next() {
    const b = Buffer.from(body);
    const n = (counter++ >>> 0).toString(16).padStart(8, '0');
    const tb = protobuf ? Buffer.from(n, 'hex') : Buffer.from(n);
    for (const p of tracePos) tb.copy(b, p);
    const cb = Buffer.from(n.toUpperCase().replace(/[0-9A-F]/g, (c) => 'ABCDEFGHIJKLMNOP'['0123456789ABCDEF'.indexOf(c)]));
    for (const p of convPos) cb.copy(b, p);
    return b;
  }

  async function worker() {
    while (Date.now() < end) {
      const b = next();
      const start = process.hrtime.bigint();
      const status = await new Promise((resolve) => {
        const req = http.request(url, { method: 'POST', agent, headers }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode));
        });
        req.on('error', () => resolve(0));
        req.end(b);
      });
      lat.push(Number(process.hrtime.bigint() - start) / 1e6);
      if (status === 200) done++;
      else errors++;
    }
  }
  await Promise.all(Array.from({ length: conns }, worker));
  const elapsed = (Date.now() - t0) / 1000;
  agent.destroy();
  lat.sort((a, b) => a - b);
  return {
    encoding: protobuf ? 'protobuf' : 'json',
    requests: done,
    errors,
    spans_per_request: spans,
    bytes_per_request: body.length,
    seconds: elapsed,
    spans_per_s: (done * spans) / elapsed,
    p99_ms: lat.length ? lat[Math.min(lat.length - 1, Math.floor(lat.length * 0.99))] : 0,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (k, d) => { const i = process.argv.indexOf(`--${k}`); return i > 0 ? process.argv[i + 1] : d; };
  const r = await otlpLoad({
    base: arg('url'), token: arg('token'), protobuf: process.argv.includes('--protobuf'),
    conns: Number(arg('conns', 8)), seconds: Number(arg('seconds', 8)), traces: Number(arg('traces', 25)),
    project: arg('project', 'bench-ingest'),
  });
  console.log(JSON.stringify(r));
}
