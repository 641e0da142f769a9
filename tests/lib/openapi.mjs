// The API's OpenAPI 3.1 document (docs/openapi.json) as a validator of real
// answers: srv.api() (server.mjs) passes every JSON answer of every HTTP test
// through checkResponse(), so the whole HTTP suite is the schema test.
//
//   import { checkResponse, findOperation, loadDoc } from '../lib/openapi.mjs';
//   checkResponse('GET', '/api/v1/sessions?limit=2', 200, 'application/json', body);
//     -> throws an Error naming the route, the status and every mismatch
//
// Answers the document does not describe (a path it lacks, a status without
// a response and no "default", a body that is not JSON) are not checked;
// openapi.test.mjs checks that every API route of the route table is in it.
// FD_OPENAPI_CHECK=0 turns the check off.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DOC_PATH = path.join(ROOT, 'docs', 'openapi.json');
const DOC_ID = 'https://flightdeck.invalid/openapi.json';

let cache = null;

/** The document, parsed (once). */
export function loadDoc() {
  return state().doc;
}

function state() {
  if (cache) return cache;
  const doc = JSON.parse(fs.readFileSync(DOC_PATH, 'utf8'));
  // strict: false: the document is OpenAPI, not only JSON Schema (its
  // "paths", "responses", ... are not schema keywords).
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  ajv.addFormat('binary', true);
  ajv.addSchema({ ...doc, $id: DOC_ID });
  // Path templates -> regexps; literal segments win over parameters
  // (/api/v1/sessions/bulk before /api/v1/sessions/{id}).
  const routes = Object.keys(doc.paths || {}).map((tpl) => {
    const segs = tpl.split('/');
    const re = new RegExp(
      '^' + segs.map((s) => (/^\{[^}]+\}$/.test(s) ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/') + '$',
    );
    return { tpl, re, params: segs.filter((s) => s.startsWith('{')).length };
  });
  routes.sort((a, b) => a.params - b.params);
  cache = { doc, ajv, routes, validators: new Map() };
  return cache;
}

const esc = (s) => s.replace(/~/g, '~0').replace(/\//g, '~1');

/** Resolve a local $ref of the document ("#/components/..."). */
function deref(doc, obj) {
  let o = obj;
  for (let i = 0; o && o.$ref && i < 10; i++) {
    o = o.$ref
      .replace(/^#\//, '')
      .split('/')
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce((acc, k) => (acc ? acc[k] : undefined), doc);
  }
  return o;
}

/** {tpl, method, operation} of the document for a request, or null. */
export function findOperation(method, urlPath) {
  const { doc, routes } = state();
  const p = urlPath.split('?')[0];
  const m = method.toLowerCase() === 'head' ? 'get' : method.toLowerCase();
  for (const r of routes) {
    if (!r.re.test(p)) continue;
    const op = doc.paths[r.tpl][m];
    if (op) return { tpl: r.tpl, method: m, operation: op };
  }
  return null;
}

/** The JSON schema pointer (and the response key used) for an answer. */
function responseSchema(method, urlPath, status) {
  const { doc } = state();
  const found = findOperation(method, urlPath);
  if (!found) return null;
  const resps = found.operation.responses || {};
  const key = [String(status), `${String(status)[0]}XX`, 'default'].find((k) => k in resps);
  if (!key) return null;
  let resp = resps[key];
  let base = `#/paths/${esc(found.tpl)}/${found.method}/responses/${esc(key)}`;
  if (resp.$ref) {
    base = resp.$ref;
    resp = deref(doc, resp);
  }
  if (!resp || !resp.content || !resp.content['application/json'] || !resp.content['application/json'].schema) return null;
  return { pointer: `${base}/content/application~1json/schema`, key, tpl: found.tpl };
}

/**
 * Check one answer against the document: throws when the body does not
 * validate against the schema for (route, method, status), or when the
 * document has a JSON schema for it and the body is not JSON.
 */
export function checkResponse(method, urlPath, status, contentType, body) {
  if (process.env.FD_OPENAPI_CHECK === '0') return;
  if (!String(urlPath).startsWith('/api/') && !String(urlPath).startsWith('/healthz')) return;
  const s = responseSchema(method, urlPath, status);
  if (!s) return;
  if (!(contentType || '').startsWith('application/json')) return; // a download, md, html
  const st = state();
  let v = st.validators.get(s.pointer);
  if (!v) {
    v = st.ajv.getSchema(DOC_ID + s.pointer);
    if (!v) throw new Error(`openapi: cannot compile ${s.pointer}`);
    st.validators.set(s.pointer, v);
  }
  if (body === undefined) {
    throw new Error(`openapi: ${method} ${urlPath} answered ${status} with a body that is not JSON (the document says JSON, ${s.tpl} ${s.key})`);
  }
  if (!v(body)) {
    const errs = v.errors
      .slice(0, 8)
      .map((e) => `  ${e.instancePath || '(body)'} ${e.message}${e.params && Object.keys(e.params).length ? ' ' + JSON.stringify(e.params) : ''}`)
      .join('\n');
    const text = JSON.stringify(body);
    throw new Error(
      `openapi: ${method} ${urlPath} answered ${status}, which does not match docs/openapi.json (${s.tpl} ${method.toLowerCase()} ${s.key}):\n${errs}\nbody: ${text.length > 1500 ? text.slice(0, 1500) + '…' : text}`,
    );
  }
}
