// Delete, bulk actions and idempotent retries (DESIGN.md sections 4, 5, 9):
// - delete: only terminal sessions (409 otherwise, nothing removed); 204
//   removes every row the session owns in every table (checked in the
//   server's SQLite file, opened read-only), while the audit keeps the
//   deletion with the status it had;
// - bulk: a result per id, only the actions the table allows applied,
//   summary counts; bad bodies refused;
// - a whole batch sent again (event ids, including status and log events)
//   records nothing twice and answers with duplicates.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import {
  createSession,
  append,
  getSession,
  listEvents,
  sendEvents,
  tryAction,
  reachStatus,
  snapshot,
  lifecycleSteps,
  assertLegalWalk,
  assertAuditMatches,
  sql,
  q,
} from '../lib/fixtures.mjs';

describe('delete, bulk and idempotent retries', () => {
  let srv, runtime, operator, admin, viewer, adminName;

  before(async () => {
    srv = await startServer();
    runtime = await srv.token('runtime');
    operator = await srv.token('operator');
    adminName = 'lc-admin';
    admin = await srv.token('admin', { name: adminName });
    viewer = await srv.token('viewer');
  });
  after(async () => {
    await srv?.stop();
  });

  /** Every table with a session_id column (so a new table is covered too), and sessions by id. */
  function rowsOf(id) {
    const tables = sql(srv, "SELECT m.name AS t FROM sqlite_master m JOIN pragma_table_info(m.name) c WHERE m.type = 'table' AND c.name = 'session_id'").map((r) => r.t);
    for (const t of ['events', 'tool_calls', 'spans', 'logs', 'artifacts', 'eval_runs', 'event_keys', 'audit']) {
      assert.ok(tables.includes(t), `table ${t} has a session_id column`);
    }
    const out = { sessions: sql(srv, `SELECT count(*) AS n FROM sessions WHERE id = ${q(id)}`)[0].n };
    for (const t of tables) out[t] = sql(srv, `SELECT count(*) AS n FROM ${t} WHERE session_id = ${q(id)}`)[0].n;
    return out;
  }

  /** A session with a bit of everything the API can write, brought to `end`. */
  async function fullSession(end) {
    const id = await reachStatus(srv, runtime, operator, 'running', { name: `full ${end}` });
    await append(srv, runtime, id, {
      events: [
        { id: 'k1', type: 'thought', content: 'plan' },
        { id: 'k2', type: 'tool_call', tool_call_id: 't1', tool: 'search', arguments: { q: 'x' } },
        { id: 'k3', type: 'tool_result', tool_call_id: 't1', result: { hits: 1 } },
        { id: 'k4', type: 'log', severity: 'warn', body: 'slow' },
        { id: 'k5', type: 'span', trace_id: 'tr1', span_id: 'sp1', name: 'step', start: Date.now() - 50, end: Date.now() },
        { id: 'k6', type: 'usage', model: 'm', prompt_tokens: 1, completion_tokens: 1, cost: 0.01 },
        { id: 'k7', type: 'error', message: 'hiccup' },
        { id: 'k8', type: 'status', status: 'retrying' },
        { id: 'k9', type: 'status', status: 'running' },
      ],
    });
    if (end === 'completed') await append(srv, runtime, id, { id: 'end', type: 'status', status: 'completed', response: 'ok' });
    if (end === 'failed') await append(srv, runtime, id, { id: 'end', type: 'status', status: 'failed', error: 'x' });
    if (end === 'canceled') assert.equal((await tryAction(srv, operator, id, 'cancel')).status, 200);
    assert.equal((await getSession(srv, viewer, id)).status, end);
    return id;
  }

  it('delete of a non-terminal session: 409 invalid_transition, nothing removed', async () => {
    for (const st of ['pending', 'running', 'retrying', 'pausing', 'paused', 'canceling']) {
      const id = await reachStatus(srv, runtime, operator, st);
      const rows = rowsOf(id);
      const before = await snapshot(srv, viewer, id);
      const r = await tryAction(srv, admin, id, 'delete');
      assert.equal(r.status, 409, `${st}: ${r.text}`);
      assert.equal(r.json.error.code, 'invalid_transition');
      assert.equal(r.json.status, st);
      assert.deepEqual(rowsOf(id), rows, `${st}: every row still there`);
      assert.deepEqual(await snapshot(srv, viewer, id), before);
    }
  });

  for (const end of ['completed', 'failed', 'canceled']) {
    it(`delete of a ${end} session: 204, no row left in any table, the audit keeps the deletion`, async () => {
      const id = await fullSession(end);
      const keep = await fullSession(end); // a neighbour that must not be touched
      const child = await createSession(srv, runtime, { agent: 'child', parent_session_id: id });
      const rows = rowsOf(id);
      for (const t of ['sessions', 'events', 'tool_calls', 'spans', 'logs', 'event_keys', 'audit']) assert.ok(rows[t] > 0, `${t} has rows before (${rows[t]})`);
      const keepRows = rowsOf(keep);
      const auditBefore = sql(srv, `SELECT id, action, from_status, to_status FROM audit WHERE session_id = ${q(id)} ORDER BY id`);

      const r = await tryAction(srv, admin, id, 'delete');
      assert.equal(r.status, 204, r.text);
      const after = rowsOf(id);
      for (const [t, n] of Object.entries(after)) if (t !== 'audit') assert.equal(n, 0, `no row left in ${t}`);
      // Audit: everything before is kept, plus one "delete" row with the status it had.
      const auditAfter = sql(srv, `SELECT id, action, from_status, to_status, actor FROM audit WHERE session_id = ${q(id)} ORDER BY id`);
      assert.deepEqual(auditAfter.slice(0, -1).map(({ actor, ...x }) => x), auditBefore);
      const del = auditAfter[auditAfter.length - 1];
      assert.deepEqual([del.action, del.from_status, del.actor], ['delete', end, `token:${adminName}`]);
      assert.deepEqual(rowsOf(keep), keepRows, 'the other session is untouched');
      // Gone from the API (every route), still 404 on a second delete.
      for (const p of ['', '/events', '/control']) {
        const g = await srv.api('GET', `/api/v1/sessions/${id}${p}`, { token: p === '/control' ? runtime : viewer });
        assert.equal(g.status, 404, `GET ${p}: ${g.status}`);
      }
      assert.equal((await tryAction(srv, admin, id, 'delete')).status, 404);
      assert.equal((await sendEvents(srv, runtime, id, { type: 'thought', content: 'x' })).status, 404);
      // A session it called keeps its own history and its link.
      const c = await getSession(srv, viewer, child.id);
      assert.equal(c.parent_session_id, id);
    });
  }

  it('delete needs the delete permission: operator 403, nothing removed', async () => {
    const id = await fullSession('completed');
    const rows = rowsOf(id);
    assert.equal((await tryAction(srv, operator, id, 'delete')).status, 403);
    assert.equal((await tryAction(srv, runtime, id, 'delete')).status, 403);
    assert.deepEqual(rowsOf(id), rows);
  });

  it('the same id can be created again after a delete, starting clean', async () => {
    const s = await createSession(srv, runtime, { id: 'reuse-me', agent: 'a' });
    await append(srv, runtime, s.id, { id: 'e1', type: 'status', status: 'completed' });
    assert.equal((await tryAction(srv, admin, s.id, 'delete')).status, 204);
    await createSession(srv, runtime, { id: 'reuse-me', agent: 'b' });
    // The old idempotency key is gone with it: the event is new.
    const r = await append(srv, runtime, 'reuse-me', { id: 'e1', type: 'status', status: 'completed' });
    assert.equal(r.accepted, 1);
    assert.equal(r.duplicates, 0);
    assert.equal(r.status, 'completed');
  });

  // ------------------------------------------------------------------ bulk

  const bulk = (json, token = operator) => srv.api('POST', '/api/v1/sessions/bulk', { token, json });

  it('bulk pause over mixed statuses and an unknown id: a result per id, only valid ones applied', async () => {
    const ids = {};
    for (const st of ['running', 'retrying', 'pausing', 'paused', 'completed', 'pending']) ids[st] = await reachStatus(srv, runtime, operator, st);
    const befores = {};
    for (const [st, id] of Object.entries(ids)) befores[st] = await snapshot(srv, viewer, id);
    const order = ['running', 'retrying', 'pausing', 'paused', 'completed', 'pending'];
    const r = await bulk({ action: 'pause', ids: [...order.map((s) => ids[s]), 'ses_unknown000'] });
    assert.equal(r.status, 200, r.text);
    const res = r.json.results;
    assert.equal(res.length, 7);
    assert.deepEqual(res.map((x) => x.id), [...order.map((s) => ids[s]), 'ses_unknown000'], 'results in request order');
    assert.deepEqual(res[0], { id: ids.running, ok: true, status: 'paused', previous_status: 'running' });
    assert.deepEqual(res[1], { id: ids.retrying, ok: true, status: 'paused', previous_status: 'retrying' });
    for (const [i, st] of [[2, 'pausing'], [3, 'paused'], [4, 'completed'], [5, 'pending']]) {
      assert.equal(res[i].ok, false, st);
      assert.equal(res[i].error.code, 'invalid_transition', st);
      assert.equal(res[i].status, st, `${st}: the result names the status`);
      assert.deepEqual(await snapshot(srv, viewer, ids[st]), befores[st], `${st}: nothing written`);
    }
    assert.equal(res[6].ok, false);
    assert.equal(res[6].error.code, 'not_found');
    assert.equal(r.json.succeeded, 2);
    assert.equal(r.json.failed, 5);
    for (const st of ['running', 'retrying']) {
      const evs = await listEvents(srv, viewer, ids[st]);
      const steps = lifecycleSteps(evs);
      assertLegalWalk(steps, 'paused', st);
      assertAuditMatches(srv, ids[st], steps, st);
    }
  });

  it('bulk resume, cancel and delete apply only where the table allows', async () => {
    const mk = async (sts) => Promise.all(sts.map((s) => reachStatus(srv, runtime, operator, s)));
    // resume
    let [paused, running, canceled] = await mk(['paused', 'running', 'canceled']);
    let r = await bulk({ action: 'resume', ids: [paused, running, canceled] });
    assert.deepEqual(r.json.results.map((x) => [x.ok, x.status, x.error?.code]), [[true, 'running', undefined], [false, 'running', 'invalid_transition'], [false, 'canceled', 'invalid_transition']]);
    assert.deepEqual([r.json.succeeded, r.json.failed], [1, 2]);
    // cancel
    const [pending, p2, r2, retrying, pausing, failed] = await mk(['pending', 'paused', 'running', 'retrying', 'pausing', 'failed']);
    r = await bulk({ action: 'cancel', ids: [pending, p2, r2, retrying, pausing, failed] });
    assert.deepEqual(r.json.results.map((x) => [x.ok, x.status]), [[true, 'canceled'], [true, 'canceled'], [true, 'canceled'], [true, 'canceled'], [false, 'pausing'], [false, 'failed']]);
    assert.deepEqual([r.json.succeeded, r.json.failed], [4, 2]);
    // delete (admin): terminal ones go, the others stay
    const [done, run2] = await mk(['completed', 'running']);
    r = await bulk({ action: 'delete', ids: [done, run2, failed, 'ses_nope'] }, admin);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.results.map((x) => [x.ok, x.status, x.error?.code]), [
      [true, 'deleted', undefined],
      [false, 'running', 'invalid_transition'],
      [true, 'deleted', undefined],
      [false, undefined, 'not_found'],
    ]);
    assert.equal((await srv.api('GET', `/api/v1/sessions/${done}`, { token: viewer })).status, 404);
    assert.equal((await getSession(srv, viewer, run2)).status, 'running');
    // The operator may not bulk-delete; the viewer may not bulk-pause.
    r = await bulk({ action: 'delete', ids: [canceled] });
    assert.equal(r.status, 403, r.text);
    r = await bulk({ action: 'pause', ids: [run2] }, viewer);
    assert.equal(r.status, 403, r.text);
    assert.equal((await getSession(srv, viewer, canceled)).status, 'canceled');
    assert.equal((await getSession(srv, viewer, run2)).status, 'running');
  });

  it('bulk is per project: sessions outside the caller\'s projects are not found, and untouched', async () => {
    const blueOp = await srv.token('operator', { project: 'blue' });
    const mine = await reachStatus(srv, runtime, operator, 'running', { project: 'blue' });
    const theirs = await reachStatus(srv, runtime, operator, 'running');
    const before = await snapshot(srv, viewer, theirs);
    const r = await bulk({ action: 'cancel', ids: [mine, theirs] }, blueOp);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.results.map((x) => [x.id, x.ok, x.status, x.error?.code]), [
      [mine, true, 'canceled', undefined],
      [theirs, false, undefined, 'not_found'],
    ]);
    assert.deepEqual(await snapshot(srv, viewer, theirs), before);
    // The single-session routes agree.
    assert.equal((await tryAction(srv, blueOp, theirs, 'pause')).status, 404);
  });

  it('bulk: the same id twice is acted on once', async () => {
    const id = await reachStatus(srv, runtime, operator, 'running');
    const r = await bulk({ action: 'pause', ids: [id, id] });
    assert.deepEqual(r.json.results.map((x) => [x.ok, x.status]), [[true, 'paused'], [false, 'paused']]);
    assert.equal(lifecycleSteps(await listEvents(srv, viewer, id)).filter((s) => s.action === 'pause').length, 1);
  });

  it('bulk bad bodies: unknown action 422, empty ids 422, more than 500 ids 413, unknown field 422', async () => {
    const id = await reachStatus(srv, runtime, operator, 'running');
    const before = await snapshot(srv, viewer, id);
    const cases = [
      [{ action: 'explode', ids: [id] }, 422, 'action'],
      [{ action: 'PAUSE', ids: [id] }, 422, 'action'],
      [{ ids: [id] }, 422, 'action'],
      [{ action: 'pause', ids: [] }, 422, 'ids'],
      [{ action: 'pause' }, 422, 'ids'],
      [{ action: 'pause', ids: id }, 422, 'ids'],
      [{ action: 'pause', ids: [id, 42] }, 422, 'ids'],
      [{ action: 'pause', ids: [id, 'bad id!'] }, 422, 'ids'],
      [{ action: 'pause', ids: Array.from({ length: 501 }, (_, i) => (i === 0 ? id : `ses_${i}`)) }, 413, 'ids'],
      [{ action: 'pause', ids: [id], force: true }, 422, 'force'],
    ];
    for (const [body, code, field] of cases) {
      const r = await bulk(body);
      assert.equal(r.status, code, `${JSON.stringify(body).slice(0, 80)}: ${r.status} ${r.text}`);
      assert.equal(r.json.error.field, field, r.text);
    }
    assert.equal((await srv.api('POST', '/api/v1/sessions/bulk', { token: operator, body: '{', headers: { 'content-type': 'application/json' } })).status, 400);
    assert.equal((await srv.api('POST', '/api/v1/sessions/bulk', { token: operator, body: 'action=pause', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).status, 415);
    assert.deepEqual(await snapshot(srv, viewer, id), before, 'nothing applied by a refused bulk');
    // Exactly 500 is fine.
    const ok = await bulk({ action: 'pause', ids: Array.from({ length: 500 }, (_, i) => (i === 0 ? id : `ses_x${i}`)) });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual([ok.json.succeeded, ok.json.failed], [1, 499]);
  });

  // ----------------------------------------------------------- idempotency

  it('a whole batch sent again (status and log events too) records nothing twice', async () => {
    const s = await createSession(srv, runtime, { agent: 'retrier' });
    const batch = {
      events: [
        { id: 'b-1', type: 'user_message', content: 'go' },
        { id: 'b-2', type: 'status', status: 'retrying', error: 'flaky upstream' },
        { id: 'b-3', type: 'status', status: 'running' },
        { id: 'b-4', type: 'log', severity: 'info', body: 'recovered' },
        { id: 'b-5', type: 'span', trace_id: 't', span_id: 's1', name: 'call', start: 1700000000000, end: 1700000000100 },
        { id: 'b-6', type: 'tool_call', tool_call_id: 'c1', tool: 'charge', kind: 'server' },
        { id: 'b-7', type: 'tool_result', tool_call_id: 'c1', result: { ok: true } },
        { id: 'b-8', type: 'usage', model: 'm', prompt_tokens: 10, completion_tokens: 5, cost: 0.5 },
        { id: 'b-9', type: 'status', status: 'completed', response: 'charged' },
      ],
    };
    const first = await sendEvents(srv, runtime, s.id, batch);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.json.accepted, 9);
    assert.equal(first.json.status, 'completed');
    const counts = () => rowsOf(s.id);
    const before = { snap: await snapshot(srv, viewer, s.id), rows: counts() };
    assert.ok(before.rows.logs === 1 && before.rows.spans === 1 && before.rows.tool_calls === 1);

    for (let k = 0; k < 3; k++) {
      const again = await sendEvents(srv, runtime, s.id, batch);
      assert.equal(again.status, 200, `retry ${k}: ${again.text}`);
      assert.equal(again.json.accepted, 0);
      assert.equal(again.json.duplicates, 9);
      assert.equal(again.json.status, 'completed', 'answers with the status as it is');
      assert.ok(again.json.events.every((e) => e.duplicate === true));
      // The acknowledgements point at the events recorded the first time.
      assert.deepEqual(again.json.events.map((e) => [e.id, e.seq]), first.json.events.map((e) => [e.id, e.seq]));
      assert.deepEqual(await snapshot(srv, viewer, s.id), before.snap, 'nothing recorded twice');
      assert.deepEqual(counts(), before.rows);
    }
    const got = await getSession(srv, viewer, s.id);
    assert.equal(got.retry_count, 1, 'the retry was counted once');
    assert.equal(got.llm_prompt_token_count, 10, 'usage counted once');
    const steps = lifecycleSteps(await listEvents(srv, viewer, s.id));
    assert.deepEqual(steps.map((x) => x.action), ['start', 'retry', 'recover', 'complete']);
    assertAuditMatches(srv, s.id, steps, s.id);
  });

  it('single events sent again one at a time are duplicates too, even when the status has moved on', async () => {
    const id = await reachStatus(srv, runtime, operator, 'running');
    const call = { id: 'solo-call', type: 'tool_call', tool_call_id: 'sc', tool: 'x' };
    const r1 = await sendEvents(srv, runtime, id, call);
    assert.equal(r1.json.accepted, 1);
    await sendEvents(srv, runtime, id, { type: 'tool_result', tool_call_id: 'sc', result: 1 });
    assert.equal((await tryAction(srv, operator, id, 'pause')).json.status, 'paused');
    const before = await snapshot(srv, viewer, id);
    // The answer to the tool_call was lost; the runtime sends it again while paused:
    // acknowledged as the duplicate it is, not refused, not recorded.
    const r2 = await sendEvents(srv, runtime, id, call);
    assert.equal(r2.status, 200, r2.text);
    assert.deepEqual([r2.json.accepted, r2.json.duplicates, r2.json.status], [0, 1, 'paused']);
    assert.deepEqual(r2.json.events[0], { ...r1.json.events[0], duplicate: true });
    // A batch that repeats it plus one new call is refused whole.
    const r3 = await sendEvents(srv, runtime, id, { events: [call, { id: 'new-call', type: 'tool_call', tool_call_id: 'nc', tool: 'x' }] });
    assert.equal(r3.status, 409);
    assert.equal(r3.json.error.code, 'session_not_running');
    assert.deepEqual(await snapshot(srv, viewer, id), before);
    // A status event sent again after the session moved on: a duplicate, not a 409.
    const done = await reachStatus(srv, runtime, operator, 'running');
    const fin = { id: 'fin', type: 'status', status: 'completed' };
    await sendEvents(srv, runtime, done, fin);
    const cont = await srv.api('POST', `/api/v1/sessions/${done}/input`, { token: operator, json: { type: 'message', content: 'more' } });
    assert.equal(cont.json.status, 'running');
    const again = await sendEvents(srv, runtime, done, fin);
    assert.equal(again.status, 200, again.text);
    assert.deepEqual([again.json.accepted, again.json.duplicates, again.json.status], [0, 1, 'running'], 'the old completion is not applied again');
  });

  it('a retried batch racing its original: recorded once', async () => {
    const id = await reachStatus(srv, runtime, operator, 'running');
    const batch = {
      events: [
        { id: 'r-1', type: 'tool_call', tool_call_id: 'rc', tool: 'x' },
        { id: 'r-2', type: 'tool_result', tool_call_id: 'rc', result: 1 },
        { id: 'r-3', type: 'log', body: 'l' },
        { id: 'r-4', type: 'status', status: 'completed' },
      ],
    };
    const rs = await Promise.all(Array.from({ length: 8 }, () => sendEvents(srv, runtime, id, batch)));
    for (const r of rs) assert.equal(r.status, 200, r.text);
    assert.equal(rs.reduce((n, r) => n + r.json.accepted, 0), 4);
    assert.equal(rs.reduce((n, r) => n + r.json.duplicates, 0), 28);
    const rows = rowsOf(id);
    assert.equal(rows.logs, 1);
    assert.equal(rows.tool_calls, 1);
    const steps = lifecycleSteps(await listEvents(srv, viewer, id));
    assert.deepEqual(steps.map((s) => s.action), ['start', 'complete']);
  });
});
