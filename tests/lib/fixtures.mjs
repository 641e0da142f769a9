// Small helpers over the JSON API shared by the HTTP and browser tests.
import assert from 'node:assert/strict';

/** POST /api/v1/sessions; asserts 201 and returns the session JSON. */
export async function createSession(srv, token, body = {}) {
  const r = await srv.api('POST', '/api/v1/sessions', { token, json: body });
  assert.equal(r.status, 201, `create session: ${r.status} ${r.text}`);
  return r.json;
}

/** POST /api/v1/sessions/{id}/events with one event or {events:[...]}; asserts 200. */
export async function append(srv, token, id, body) {
  const r = await srv.api('POST', `/api/v1/sessions/${encodeURIComponent(id)}/events`, { token, json: body });
  assert.equal(r.status, 200, `append ${JSON.stringify(body).slice(0, 200)}: ${r.status} ${r.text}`);
  return r.json;
}

/** Every session the token can read (up to 200), newest first. */
export async function listSessions(srv, token) {
  const r = await srv.api('GET', '/api/v1/sessions?limit=200', { token });
  assert.equal(r.status, 200, `list sessions: ${r.status} ${r.text}`);
  assert.ok(Array.isArray(r.json.data), 'list has data[]');
  return r.json.data;
}

/** Every event of a session (hidden ones too), in order. */
export async function listEvents(srv, token, id) {
  const r = await srv.api('GET', `/api/v1/sessions/${encodeURIComponent(id)}/events?limit=1000&include_hidden=1`, { token });
  assert.equal(r.status, 200, `list events: ${r.status} ${r.text}`);
  assert.ok(Array.isArray(r.json.data), 'events list has data[]');
  return r.json.data;
}

/** GET /api/v1/sessions/{id}; asserts 200. */
export async function getSession(srv, token, id, query = '') {
  const r = await srv.api('GET', `/api/v1/sessions/${encodeURIComponent(id)}${query}`, { token });
  assert.equal(r.status, 200, `get session: ${r.status} ${r.text}`);
  return r.json;
}

/** POST /api/v1/sessions/{id}/pause|resume|cancel as `token`; asserts 200, returns the answer. */
export async function act(srv, token, id, action) {
  const r = await srv.api('POST', `/api/v1/sessions/${encodeURIComponent(id)}/${action}`, { token });
  assert.equal(r.status, 200, `${action} ${id}: ${r.status} ${r.text}`);
  assert.equal(r.json.id, id);
  return r.json;
}

/** The ids of /sessions/{id} links in the order a page shows them (tbody rows). */
export function sessionLinks(html) {
  const body = html.slice(Math.max(0, html.indexOf('<tbody')));
  const ids = [];
  for (const m of body.matchAll(/href="\/sessions\/([A-Za-z0-9_-]+)"/g)) {
    if (!ids.includes(m[1])) ids.push(m[1]);
  }
  return ids;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
