// Retention (issue 11): rules per project over the API and the CLI, the
// background sweep that deletes expired finished sessions in small batches
// (with their events and search text) and counts it in the audit and the
// metrics; the payload cap at ingest.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { startServer } from '../lib/server.mjs';
import { createSession, append, sql, q, until } from '../lib/fixtures.mjs';

const DAY = 86400000;

/** Write to the database beside the running server (WAL: both may write). */
function write(srv, statement) {
  execFileSync('sqlite3', ['-cmd', '.timeout 5000', srv.dbPath, statement], { encoding: 'utf8' });
}

/** n finished sessions of `project` that ended `daysAgo` days ago, each
 *  with `events` thoughts holding a searchable word; their ids. */
async function oldSessions(srv, token, project, n, daysAgo, { events = 3, word = 'zanzibar' } = {}) {
  const ids = [];
  for (let i = 0; i < n; i++) {
    const s = await createSession(srv, token, { agent: `keeper-${project}`, name: `${project} ${i}`, project });
    const evs = [];
    for (let e = 0; e < events; e++) evs.push({ type: 'thought', content: `${word} ${project} ${i}.${e}` });
    evs.push({ type: 'status', status: 'completed' });
    await append(srv, token, s.id, { events: evs });
    ids.push(s.id);
  }
  if (daysAgo) {
    const t = Date.now() - daysAgo * DAY;
    write(srv, `UPDATE sessions SET created_at = ${t - 1000}, started_at = ${t - 1000}, ended_at = ${t} ` +
      `WHERE id IN (${ids.map(q).join(',')})`);
  }
  return ids;
}

const count = (srv, table, ids) =>
  sql(srv, `SELECT count(*) AS n FROM ${table} WHERE ${table.startsWith('search_') ? 'sid' : 'session_id'} IN (${ids.map(q).join(',')})`)[0].n;
const sessionsLeft = (srv, ids) => sql(srv, `SELECT count(*) AS n FROM sessions WHERE id IN (${ids.map(q).join(',')})`)[0].n;


async function scrape(srv, token) {
  const r = await srv.fetch('/metrics', { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200);
  return await r.text();
}

describe('retention rules over the API', () => {
  let srv, admin, operator;
  before(async () => {
    srv = await startServer({ env: { FLIGHTDECK_RETENTION_DAYS: '90' } });
    admin = await srv.token('admin');
    operator = await srv.token('operator');
  });
  after(async () => { await srv.stop(); });

  it('set, read, replace and clear a rule; each change audited', async () => {
    let r = await srv.api('GET', '/api/v1/retention', { token: admin });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { default_keep_days: 90, sweep_seconds: 300, rules: [] });
    r = await srv.api('PUT', '/api/v1/retention/alpha', { token: admin, json: { keep_days: 30, max_payload_bytes: 65536 } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.project, 'alpha');
    assert.equal(r.json.keep_days, 30);
    assert.equal(r.json.max_payload_bytes, 65536);
    assert.match(r.json.updated_by, /^token:/);
    r = await srv.api('PUT', '/api/v1/retention/beta', { token: admin, json: { keep_days: null } });
    assert.equal(r.status, 200);
    assert.equal(r.json.keep_days, null, 'forever, whatever the default');
    r = await srv.api('PUT', '/api/v1/retention/alpha', { token: admin, json: { keep_days: 7 } });
    assert.equal(r.json.keep_days, 7);
    assert.equal(r.json.max_payload_bytes, null, 'PUT replaces: an absent field is null');
    r = await srv.api('GET', '/api/v1/retention', { token: admin });
    assert.deepEqual(r.json.rules.map((x) => [x.project, x.keep_days]), [['alpha', 7], ['beta', null]]);
    r = await srv.api('DELETE', '/api/v1/retention/beta', { token: admin });
    assert.equal(r.status, 204);
    r = await srv.api('DELETE', '/api/v1/retention/beta', { token: admin });
    assert.equal(r.status, 404);
    const audit = sql(srv, "SELECT action, detail FROM audit WHERE action LIKE 'retention%' ORDER BY id");
    assert.deepEqual(audit.map((a) => a.action), ['retention_set', 'retention_set', 'retention_set', 'retention_clear']);
    assert.equal(audit[0].detail, 'project alpha: keep 30 days, payloads up to 65536 bytes');
    assert.equal(audit[3].detail, 'project beta: the default again');
  });

  it('refuses bad values and changes nothing; operators may not', async () => {
    const before = sql(srv, 'SELECT * FROM retention_rules');
    const bad = [
      [{ keep_days: 0 }, 'keep_days'], [{ keep_days: -1 }, 'keep_days'], [{ keep_days: 1.5 }, 'keep_days'],
      [{ keep_days: '30' }, 'keep_days'], [{ keep_days: 36501 }, 'keep_days'],
      [{ max_payload_bytes: 100 }, 'max_payload_bytes'], [{ max_payload_bytes: 2 ** 31 }, 'max_payload_bytes'],
      [{ keep: 3 }, 'keep'],
    ];
    for (const [json, field] of bad) {
      const r = await srv.api('PUT', '/api/v1/retention/gamma', { token: admin, json });
      assert.equal(r.status, 422, JSON.stringify(json));
      assert.equal(r.json.error.field, field, JSON.stringify(json));
    }
    let r = await srv.api('PUT', '/api/v1/retention/gamma', { token: admin, body: '[1]', headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 422);
    r = await srv.api('PUT', '/api/v1/retention/gamma', { token: admin, body: '{', headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400);
    r = await srv.api('PUT', '/api/v1/retention/gamma', { token: operator, json: { keep_days: 1 } });
    assert.equal(r.status, 403);
    assert.deepEqual(sql(srv, 'SELECT * FROM retention_rules'), before);
  });
});

describe('the admin Retention page', () => {
  let srv;
  before(async () => { srv = await startServer({ env: { FLIGHTDECK_RETENTION_DAYS: '90', FLIGHTDECK_SWEEP_SECONDS: '600' } }); });
  after(async () => { await srv.stop(); });

  it('shows the default, sets and removes rules through its forms; bad values change nothing', async () => {
    const c = await srv.login('admin', srv.adminPassword);
    let page = await c.get('/admin/retention');
    assert.equal(page.status, 200);
    assert.match(page.text, /Projects without a rule: <strong>90 days<\/strong>/);
    assert.match(page.text, /The sweep runs every 10 minutes/);
    assert.match(page.text, /aria-current="page"><span class="icon icon-clock" aria-hidden="true"><\/span>Retention/);
    assert.match(page.text, /No project has a rule of its own/);
    const csrf = await c.csrf('/admin/retention');
    let r = await c.post('/admin/retention', { csrf, project: 'shop & co', keep_days: '30', max_payload_bytes: '65536' });
    assert.equal(r.status, 303);
    assert.equal(r.location, '/admin/retention');
    page = await c.get('/admin/retention');
    assert.match(page.text, /Rule saved/);
    assert.match(page.text, /<code class="row-title">shop &amp; co<\/code><\/td>\s*<td>30 days<\/td>\s*<td>up to 65536 bytes<\/td>\s*<td>user:admin · /);
    assert.match(page.text, /action="\/admin\/retention\/shop%20%26%20co\/clear"/);
    const before = sql(srv, 'SELECT * FROM retention_rules');
    for (const bad of [{ keep_days: '0' }, { keep_days: 'x' }, { max_payload_bytes: '10' }, { keep_days: '36501' }]) {
      r = await c.post('/admin/retention', { csrf, project: 'shop & co', ...bad });
      assert.equal(r.status, 303);
      page = await c.get('/admin/retention');
      assert.match(page.text, /class="flash[^"]*error|flash-error/, JSON.stringify(bad));
    }
    r = await c.post('/admin/retention', { csrf, keep_days: '3' });
    page = await c.get('/admin/retention');
    assert.match(page.text, /the project must be 1 to 200 characters/);
    assert.deepEqual(sql(srv, 'SELECT * FROM retention_rules'), before, 'refused forms wrote nothing');
    r = await c.post('/admin/retention/shop%20%26%20co/clear', { csrf });
    assert.equal(r.status, 303);
    page = await c.get('/admin/retention');
    assert.match(page.text, /Rule removed/);
    assert.equal(sql(srv, 'SELECT count(*) AS n FROM retention_rules')[0].n, 0);
    const audit = sql(srv, "SELECT actor, action FROM audit WHERE action LIKE 'retention%' ORDER BY id");
    assert.deepEqual(audit.map((a) => `${a.actor} ${a.action}`), ['user:admin retention_set', 'user:admin retention_clear']);
  });
});

describe('the retention sweep', () => {
  let srv, admin, runtime;
  before(async () => {
    // A sweep every second, three sessions per batch; projects without a
    // rule keep 2 days.
    srv = await startServer({ env: { FLIGHTDECK_RETENTION_DAYS: '2', FLIGHTDECK_SWEEP_SECONDS: '1', FLIGHTDECK_SWEEP_BATCH: '3' } });
    admin = await srv.token('admin');
    runtime = await srv.token('runtime');
  });
  after(async () => { await srv.stop(); });

  it('deletes expired finished sessions in batches, with events and search text, audited and counted', async () => {
    // Rules: alpha keeps 1 day, gamma forever, delta 10 days; beta has none (the default, 2 days).
    for (const [p, keep_days] of [['alpha', 1], ['gamma', null], ['delta', 10]])
      assert.equal((await srv.api('PUT', `/api/v1/retention/${p}`, { token: admin, json: { keep_days } })).status, 200);
    const alphaOld = await oldSessions(srv, runtime, 'alpha', 7, 3);
    const betaOld = await oldSessions(srv, runtime, 'beta', 2, 3);
    const kept = [
      ...(await oldSessions(srv, runtime, 'alpha', 1, 0)), // ended just now
      ...(await oldSessions(srv, runtime, 'beta', 1, 1)), // 1 day < 2
      ...(await oldSessions(srv, runtime, 'gamma', 2, 400)), // forever
      ...(await oldSessions(srv, runtime, 'delta', 2, 3)), // 3 days < 10
    ];
    // A running session that started long ago is never swept.
    const running = await createSession(srv, runtime, { agent: 'still-going', project: 'alpha' });
    await append(srv, runtime, running.id, { events: [{ type: 'thought', content: 'zanzibar running' }] });
    const t = Date.now() - 50 * DAY;
    write(srv, `UPDATE sessions SET created_at = ${t}, started_at = ${t} WHERE id = ${q(running.id)}`);
    kept.push(running.id);

    const gone = [...alphaOld, ...betaOld];
    const goneEvents = count(srv, 'events', gone); // thoughts, and the lifecycle events of each
    assert.ok(goneEvents >= 9 * 4);
    const done = await until(() => sessionsLeft(srv, gone) === 0, 20000);
    assert.ok(done, `the sweep deleted the expired sessions (${sessionsLeft(srv, gone)} left)`);
    assert.equal(count(srv, 'events', gone), 0);
    assert.equal(count(srv, 'tool_calls', gone), 0);
    assert.equal(sessionsLeft(srv, kept), kept.length, 'nothing else was deleted');
    // Their search text went with them; the others' is still found.
    const hits = await srv.api('GET', '/api/v1/sessions?q=zanzibar&limit=100', { token: admin });
    assert.equal(hits.status, 200);
    assert.deepEqual(hits.json.data.map((s) => s.id).sort(), [...kept].sort());
    assert.equal(count(srv, 'search_events', gone), 0);
    assert.equal(count(srv, 'search_sessions', gone), 0);

    // The audit counts what went, per batch (3 sessions at most) and project.
    const audit = sql(srv, "SELECT actor, detail FROM audit WHERE action = 'retention' ORDER BY id");
    assert.ok(audit.length >= 4, `batches of 3: ${audit.length} audit rows`);
    let sessions = 0, events = 0;
    for (const a of audit) {
      assert.equal(a.actor, 'system:retention');
      const m = /^project (alpha|beta): deleted (\d+) sessions? and (\d+) events? that ended over (\d+) days? ago$/.exec(a.detail);
      assert.ok(m, a.detail);
      assert.ok(Number(m[2]) <= 3, `a batch holds at most 3 sessions: ${a.detail}`);
      assert.equal(m[4], m[1] === 'alpha' ? '1' : '2');
      sessions += Number(m[2]);
      events += Number(m[3]);
    }
    assert.equal(sessions, 9);
    assert.equal(events, goneEvents);
    // And the metrics.
    const text = await until(async () => {
      const s = await scrape(srv, admin);
      return /^flightdeck_retention_deleted_total\{kind="sessions"\} 9$/m.test(s) ? s : null;
    }, 5000);
    assert.ok(text, 'metrics count the deleted sessions');
    assert.match(text, new RegExp(`^flightdeck_retention_deleted_total\\{kind="events"\\} ${goneEvents}$`, 'm'));
    assert.match(text, /^flightdeck_retention_sweeps_total [1-9]\d*$/m);
  });

  it('keeps serving and ingesting while it sweeps a large backlog', async () => {
    write(srv, "DELETE FROM retention_rules WHERE project = 'alpha'");
    const backlog = await oldSessions(srv, runtime, 'backlog', 60, 5, { events: 10 });
    // Appends while the sweep works through 20 batches.
    const live = await createSession(srv, runtime, { agent: 'live', project: 'backlog' });
    let n = 0;
    while (sessionsLeft(srv, backlog) > 0 && n < 400) {
      await append(srv, runtime, live.id, { events: [{ type: 'thought', content: `live ${n++}` }] });
      assert.equal((await srv.fetch('/healthz')).status, 200);
    }
    assert.ok(await until(() => sessionsLeft(srv, backlog) === 0, 20000), 'the backlog was swept');
    assert.ok(n > 0, 'requests were answered during the sweep');
    assert.equal(sql(srv, `SELECT count(*) AS n FROM events WHERE session_id = ${q(live.id)} AND type = 'thought'`)[0].n, n);
    assert.equal(sql(srv, 'PRAGMA integrity_check')[0].integrity_check, 'ok');
  });
});

describe('the sweep with encryption at rest', () => {
  let srv, runtime;
  before(async () => {
    srv = await startServer({ env: { FLIGHTDECK_ENCRYPT_PAYLOADS: '1', FLIGHTDECK_RETENTION_DAYS: '2', FLIGHTDECK_SWEEP_SECONDS: '1' } });
    runtime = await srv.token('runtime');
  });
  after(async () => { await srv.stop(); });

  it('leaves nothing of a swept session in the database file or its WAL', async () => {
    // environment is kept clear (it is filtered on) and not indexed for search:
    // only secure_delete and the WAL scrub can take it off the disk.
    const marker = `ENVMARK${process.pid}Q`;
    const holds = () => [srv.dbPath, `${srv.dbPath}-wal`].filter((f) => fs.existsSync(f) && fs.readFileSync(f).includes(Buffer.from(marker)));
    const ids = [];
    for (let i = 0; i < 3; i++) {
      const s = await createSession(srv, runtime, { agent: 'sealed-sweep', env: marker });
      await append(srv, runtime, s.id, { events: [{ type: 'thought', content: 'secret thought' }, { type: 'status', status: 'completed' }] });
      ids.push(s.id);
    }
    assert.ok(holds().length > 0, 'the marker is on disk while the sessions exist');
    const t = Date.now() - 5 * DAY;
    write(srv, `UPDATE sessions SET created_at = ${t}, started_at = ${t}, ended_at = ${t} WHERE id IN (${ids.map(q).join(',')})`);
    assert.ok(await until(() => sessionsLeft(srv, ids) === 0, 20000), 'swept');
    assert.ok(await until(() => holds().length === 0, 20000), `no trace left on disk: ${holds().join(', ')}`);
  });
});

describe('the payload cap', () => {
  let srv, admin, runtime;
  before(async () => {
    srv = await startServer();
    admin = await srv.token('admin');
    runtime = await srv.token('runtime');
    assert.equal((await srv.api('PUT', '/api/v1/retention/capped', { token: admin, json: { max_payload_bytes: 2048 } })).status, 200);
  });
  after(async () => { await srv.stop(); });

  it('cuts long events, tool arguments and results of a capped project at ingest; others whole', async () => {
    const big = 'é'.repeat(3000) + 'THE-END';
    const s = await createSession(srv, runtime, { agent: 'capper', project: 'capped' });
    const other = await createSession(srv, runtime, { agent: 'capper', project: 'open' });
    const events = [
      { type: 'assistant_message', content: big },
      { type: 'thought', content: 'short and whole' },
      { type: 'tool_call', tool_call_id: 't1', tool: 'fetch', arguments: { url: 'https://example.com', body: big } },
      { type: 'tool_result', tool_call_id: 't1', result: { items: Array.from({ length: 1000 }, (_, i) => i) } },
    ];
    await append(srv, runtime, s.id, { events });
    await append(srv, runtime, other.id, { events: events.slice(0, 1) });
    const rows = sql(srv, `SELECT type, body, length(CAST(body AS BLOB)) AS bytes FROM events WHERE session_id = ${q(s.id)} ORDER BY seq`);
    const msg = rows.find((r) => r.type === 'assistant_message');
    assert.ok(msg.bytes <= 2048, `message stored in ${msg.bytes} bytes`);
    const content = JSON.parse(msg.body).content;
    assert.match(content, /^(é)+ … \[cut by retention: \d+ bytes\]$/u, 'cut on a character boundary, with the note');
    assert.ok(!content.includes('THE-END'));
    assert.equal(JSON.parse(rows.find((r) => r.type === 'thought').body).content, 'short and whole');
    const tc = sql(srv, `SELECT arguments, result FROM tool_calls WHERE session_id = ${q(s.id)}`)[0];
    assert.ok(Buffer.byteLength(tc.arguments) <= 2048);
    assert.equal(JSON.parse(tc.arguments).url, 'https://example.com', 'short fields stay');
    assert.match(JSON.parse(tc.arguments).body, /\[cut by retention: \d+ bytes\]$/);
    // 1,000 numbers have no string to shorten: the field is replaced by the note.
    assert.match(JSON.parse(tc.result), /^\[cut by retention: \d+ bytes\]$/);
    assert.equal(JSON.parse(rows.find((r) => r.type === 'tool_result').body).tool_call_id, 't1', 'the event keeps its shape');
    // The API shows what was stored.
    const api = await srv.api('GET', `/api/v1/sessions/${s.id}/events`, { token: admin });
    assert.match(api.json.data.find((e) => e.type === 'assistant_message').data.content, /cut by retention/);
    // Another project stores it whole.
    const whole = sql(srv, `SELECT body FROM events WHERE session_id = ${q(other.id)} AND type = 'assistant_message'`)[0];
    assert.equal(JSON.parse(whole.body).content, big);
  });
});

describe('retention from the CLI', () => {
  let srv, runtime;
  before(async () => {
    srv = await startServer({ env: { FLIGHTDECK_SWEEP_SECONDS: '86400' } });
    runtime = await srv.token('runtime');
  });
  after(async () => { await srv.stop(); });

  it('set, list, sweep, clear', async () => {
    let r = await srv.cli(['retention', 'set', 'omega', '--days', '3', '--max-payload', '4096']);
    assert.match(r.stdout, /Project omega: keep finished sessions 3 days, store payloads up to 4096/);
    r = await srv.cli(['retention', 'list']);
    assert.match(r.stdout, /^default: keep finished sessions forever/m);
    assert.match(r.stdout, /^omega: keep 3 days, payloads up to 4096 bytes \(set by cli\)$/m);
    r = await srv.cli(['retention', 'list', '--json']);
    assert.equal(JSON.parse(r.stdout)[0].keep_days, 3);
    const old = await oldSessions(srv, runtime, 'omega', 5, 4);
    r = await srv.cli(['retention', 'sweep']);
    assert.match(r.stdout, /^Deleted 5 sessions and 25 events in \d+ batch/m);
    assert.equal(sessionsLeft(srv, old), 0);
    for (const bad of [['retention', 'set', 'omega'], ['retention', 'set', 'omega', '--days', '0'],
      ['retention', 'set', 'omega', '--days', '3', '--forever'], ['retention', 'set', 'omega', '--forever', '--max-payload', '10']]) {
      r = await srv.cli(bad, { allowFail: true });
      assert.equal(r.code, 2, bad.join(' '));
    }
    r = await srv.cli(['retention', 'clear', 'omega']);
    assert.match(r.stdout, /follows the default again/);
    r = await srv.cli(['retention', 'clear', 'omega'], { allowFail: true });
    assert.equal(r.code, 1);
  });
});
