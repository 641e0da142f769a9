// docs/openapi.json, the API's OpenAPI 3.1 document:
// - it lists every route the route table marks "api" (`flightdeck routes`),
//   with the same method, and every route of DESIGN.md section 9;
// - it is structurally valid: OpenAPI 3.1, every $ref resolves, every path
//   parameter is declared (and every declared one is in the path), every
//   schema compiles as JSON Schema 2020-12, operation ids are unique;
// - GET /api/v1/openapi.json serves exactly this document, to anyone;
// - the check srv.api() runs on every answer (lib/openapi.mjs) catches a
//   body that does not match.
// That real answers match it is checked by every other HTTP test.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { startServer, ROOT } from '../lib/server.mjs';
import { loadDoc, checkResponse, findOperation, DOC_PATH } from '../lib/openapi.mjs';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
/** "/a/{id}/b/{aid}" -> "/a/{}/b/{}": the table's and the document's names differ. */
const norm = (p) => p.replace(/\{[^}]+\}/g, '{}');

const CLI = path.resolve(ROOT, process.env.FD_CLI || 'build/san/flightdeck');
const ROUTES = JSON.parse(execFileSync(CLI, ['routes'], { encoding: 'utf8' }));
const API_ROUTES = ROUTES.filter((r) => r.kind === 'api');

/** DESIGN.md section 9 (and README "API (v1)"), as method + path. */
const DESIGN_ROUTES = [
  'POST /api/v1/sessions', 'GET /api/v1/sessions', 'GET /api/v1/sessions/{id}', 'PATCH /api/v1/sessions/{id}',
  'DELETE /api/v1/sessions/{id}', 'POST /api/v1/sessions/{id}/pause', 'POST /api/v1/sessions/{id}/resume',
  'POST /api/v1/sessions/{id}/cancel', 'POST /api/v1/sessions/bulk', 'POST /api/v1/sessions/{id}/events',
  'GET /api/v1/sessions/{id}/events', 'GET /api/v1/sessions/{id}/events/{event_id}',
  'DELETE /api/v1/sessions/{id}/events/{event_id}', 'POST /api/v1/sessions/{id}/events/{event_id}/hide',
  'POST /api/v1/sessions/{id}/events/{event_id}/unhide', 'POST /api/v1/sessions/{id}/input',
  'GET /api/v1/sessions/{id}/client-tool-calls', 'GET /api/v1/sessions/{id}/control',
  'GET /api/v1/sessions/{id}/artifacts', 'POST /api/v1/sessions/{id}/artifacts',
  'GET /api/v1/sessions/{id}/artifacts/{artifact_id}', 'GET /api/v1/sessions/{id}/logs',
  'POST /api/v1/sessions/{id}/logs', 'PUT /api/v1/sessions/{id}/report', 'GET /api/v1/sessions/{id}/report',
  'GET /api/v1/tasks', 'POST /api/v1/tasks/{id}/complete', 'GET /healthz',
];
/** The session fields DESIGN.md and issue 7 name: the Session schema has each. */
const SESSION_FIELDS = ['duration', 'cpu_time', 'llm_cost', 'total_cost', 'llm_prompt_token_count',
  'llm_completion_token_count', 'trigger', 'env', 'devmode', 'pending', 'success', 'error', 'metadata',
  'thread_id', 'agent_ids', 'method', 'url', 'route_id', 'timeline', 'user_data'];

const doc = loadDoc();
/** method+normalised path -> true, for every operation of the document. */
const OPS = new Set();
for (const [p, item] of Object.entries(doc.paths)) {
  for (const m of METHODS) if (item[m]) OPS.add(`${m.toUpperCase()} ${norm(p)}`);
}

/** Follow a local $ref ("#/a/b"); undefined when it does not resolve. */
function resolve(ref) {
  if (!ref.startsWith('#/')) return undefined;
  return ref
    .slice(2)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((o, k) => (o && Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined), doc);
}
const deref = (o) => (o && o.$ref ? resolve(o.$ref) : o);

describe('openapi: the document covers the API', () => {
  it('the route table has API routes to compare with', () => {
    assert.ok(API_ROUTES.length >= 20, `only ${API_ROUTES.length} api routes`);
  });
  for (const r of API_ROUTES) {
    it(`route table: ${r.method} ${r.pattern}`, () => {
      assert.ok(OPS.has(`${r.method} ${norm(r.pattern)}`), `${r.method} ${r.pattern} is not in docs/openapi.json`);
    });
  }
  it('every route of DESIGN.md section 9 is in it', () => {
    const missing = DESIGN_ROUTES.filter((k) => {
      const [m, p] = k.split(' ');
      return !OPS.has(`${m} ${norm(p)}`);
    });
    assert.deepEqual(missing, []);
  });
  it('every operation of the document is a route of the table, or of DESIGN.md section 9 (being built)', () => {
    const known = new Set([...API_ROUTES.map((r) => `${r.method} ${norm(r.pattern)}`),
      ...DESIGN_ROUTES.map((k) => `${k.split(' ')[0]} ${norm(k.split(' ')[1])}`)]);
    const extra = [...OPS].filter((k) => !known.has(k));
    assert.deepEqual(extra, [], 'operations no route serves');
  });
  it('the Session schema names every session field', () => {
    const props = Object.keys(doc.components.schemas.Session.properties);
    assert.deepEqual(SESSION_FIELDS.filter((f) => !props.includes(f)), []);
  });
  it('list parameters carry their limits', () => {
    const param = (p, m, name) =>
      [...(doc.paths[p].parameters || []), ...(doc.paths[p][m].parameters || [])].map(deref).find((x) => x.name === name);
    assert.deepEqual(param('/api/v1/sessions', 'get', 'limit').schema, { type: 'integer', minimum: 1, maximum: 200, default: 50 });
    assert.equal(param('/api/v1/sessions/{id}/events', 'get', 'limit').schema.maximum, 1000);
    assert.equal(param('/api/v1/sessions/{id}/artifacts', 'get', 'limit').schema.maximum, 200);
    assert.equal(param('/api/v1/sessions/{id}/logs', 'get', 'limit').schema.maximum, 1000);
    assert.equal(param('/api/v1/sessions', 'get', 'offset').schema.maximum, 100000);
  });
});

describe('openapi: the document is valid OpenAPI 3.1', () => {
  it('has the 3.1 frame: openapi, info, paths, a bearer scheme, the error schema', () => {
    assert.match(doc.openapi, /^3\.1\.\d+$/);
    assert.equal(typeof doc.info.title, 'string');
    assert.equal(typeof doc.info.version, 'string');
    assert.deepEqual(doc.components.securitySchemes.bearer, {
      ...doc.components.securitySchemes.bearer, type: 'http', scheme: 'bearer',
    });
    assert.deepEqual(doc.security, [{ bearer: [] }]);
    assert.deepEqual(doc.components.schemas.Error.required, ['error']);
    for (const p of Object.keys(doc.paths)) assert.match(p, /^\//, `path ${p}`);
  });

  it('every $ref resolves', () => {
    const bad = [];
    (function walk(o, where) {
      if (Array.isArray(o)) return o.forEach((x, i) => walk(x, `${where}/${i}`));
      if (!o || typeof o !== 'object') return;
      if (typeof o.$ref === 'string' && resolve(o.$ref) === undefined) bad.push(`${where}: ${o.$ref}`);
      for (const [k, v] of Object.entries(o)) walk(v, `${where}/${k}`);
    })(doc, '#');
    assert.deepEqual(bad, []);
  });

  it('every path parameter is declared, and every declared one is in the path', () => {
    const faults = [];
    for (const [p, item] of Object.entries(doc.paths)) {
      const inPath = [...p.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const m of METHODS) {
        if (!item[m]) continue;
        const declared = [...(item.parameters || []), ...(item[m].parameters || [])].map(deref);
        for (const d of declared) {
          assert.ok(d && d.name && d.in, `${m} ${p}: a parameter without name or in`);
          if (d.in === 'path' && !inPath.includes(d.name)) faults.push(`${m} ${p}: declares {${d.name}}, not in the path`);
          if (d.in === 'path' && d.required !== true) faults.push(`${m} ${p}: {${d.name}} is not required: true`);
        }
        for (const n of inPath) {
          if (!declared.some((d) => d.in === 'path' && d.name === n)) faults.push(`${m} ${p}: {${n}} is not declared`);
        }
      }
    }
    assert.deepEqual(faults, []);
  });

  it('every operation has an operationId (unique), responses, and an error response', () => {
    const ids = new Set();
    for (const [p, item] of Object.entries(doc.paths)) {
      for (const m of METHODS) {
        const op = item[m];
        if (!op) continue;
        assert.ok(op.operationId, `${m} ${p}: no operationId`);
        assert.ok(!ids.has(op.operationId), `operationId ${op.operationId} twice`);
        ids.add(op.operationId);
        assert.ok(op.responses && Object.keys(op.responses).length, `${m} ${p}: no responses`);
        for (const k of Object.keys(op.responses)) assert.match(k, /^([1-5]\d\d|[1-5]XX|default)$/, `${m} ${p}: response key ${k}`);
        assert.ok(op.responses.default, `${m} ${p}: no default (error) response`);
        for (const s of op.security || doc.security) {
          for (const name of Object.keys(s)) assert.ok(doc.components.securitySchemes[name], `${m} ${p}: unknown scheme ${name}`);
        }
      }
    }
  });

  it('every schema compiles as JSON Schema 2020-12', () => {
    const ajv = new Ajv2020({ strict: false });
    addFormats(ajv);
    ajv.addFormat('binary', true);
    ajv.addSchema({ ...doc, $id: 'urn:flightdeck:openapi' });
    for (const name of Object.keys(doc.components.schemas)) {
      assert.ok(ajv.getSchema(`urn:flightdeck:openapi#/components/schemas/${name}`), `schema ${name}`);
    }
  });

  it('/healthz and the document itself need no token; everything else needs the bearer token', () => {
    for (const [p, item] of Object.entries(doc.paths)) {
      for (const m of METHODS) {
        if (!item[m]) continue;
        const route = ROUTES.find((r) => r.method === m.toUpperCase() && norm(r.pattern) === norm(p));
        if (!route) continue;
        const isPublic = Array.isArray(item[m].security) && item[m].security.length === 0;
        assert.equal(isPublic, route.permission === 'none', `${m} ${p}: permission ${route.permission}`);
      }
    }
  });
});

describe('openapi: served, and the check of answers', () => {
  let srv;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv?.stop();
  });

  it('GET /api/v1/openapi.json serves docs/openapi.json, to anyone, with an ETag', async () => {
    const r = await srv.api('GET', '/api/v1/openapi.json');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    const file = fs.readFileSync(DOC_PATH, 'utf8');
    assert.ok(r.text === file, `GET /api/v1/openapi.json (${r.text.length} bytes) is not docs/openapi.json (${file.length} bytes): rebuild (make san)`);
    assert.match(r.headers.get('etag') || '', /^"[0-9a-f]{32}(-gzip)?"$/, 'strong; -gzip when lighttpd compressed it (fetch accepts gzip)');
    const again = await srv.api('GET', '/api/v1/openapi.json', { headers: { 'if-none-match': r.headers.get('etag') } });
    assert.equal(again.status, 304);
    const post = await srv.api('POST', '/api/v1/openapi.json', { json: {} });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });

  it('findOperation prefers a literal segment over a parameter', () => {
    assert.equal(findOperation('POST', '/api/v1/sessions/bulk').tpl, '/api/v1/sessions/bulk');
    assert.equal(findOperation('GET', '/api/v1/sessions/bulk').tpl, '/api/v1/sessions/{id}');
    assert.equal(findOperation('HEAD', '/api/v1/tasks?x=1').method, 'get');
    assert.equal(findOperation('GET', '/sessions'), null);
  });

  it('a body that does not match the document throws, naming route, status and member', () => {
    assert.throws(
      () => checkResponse('GET', '/api/v1/sessions/x/control', 200, 'application/json', { status: 'sleeping', seq: 1 }),
      (e) => /GET \/api\/v1\/sessions\/x\/control answered 200/.test(e.message) && /tool_calls_allowed/.test(e.message) && /\/status/.test(e.message),
    );
    assert.throws(() => checkResponse('GET', '/api/v1/tasks', 404, 'application/json', { error: { code: 'x' } }), /message/);
    assert.throws(() => checkResponse('GET', '/api/v1/tasks', 200, 'application/json', undefined), /not JSON/);
    // Not described: not checked.
    checkResponse('GET', '/sessions', 200, 'text/html', undefined);
    checkResponse('GET', '/api/v1/sessions/x/report', 200, 'text/markdown', undefined);
  });
});
