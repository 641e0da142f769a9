// The lifecycle transition table of DESIGN.md section 4, over the API: every
// status (each reached through the real protocol: runtime events, status
// events, operator actions, a tool call executing for pausing/canceling) x
// every operator action (pause, resume, cancel, delete) and every runtime
// status event (running, retrying, completed, failed). An allowed change
// answers 200/204 with the status the table says and records one lifecycle
// event per step (with who) and the matching audit rows; a refused one
// answers 409 {"error":{"code":"invalid_transition"},"status":<current>} and
// records nothing at all (GET session and every event unchanged).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import {
  STATUSES,
  tryAction,
  sendEvents,
  reachStatus,
  snapshot,
  lifecycleSteps,
  assertLegalWalk,
  assertAuditMatches,
  listEvents,
  getSession,
  sql,
  q,
} from '../lib/fixtures.mjs';

// What the table allows, with no tool call executing except in pausing and
// canceling (reachStatus leaves one running there). null = 409.
const OPERATOR = {
  pause: { running: 'paused', retrying: 'paused' },
  resume: { paused: 'running' },
  cancel: { pending: 'canceled', running: 'canceled', retrying: 'canceled', paused: 'canceled' },
  delete: { completed: 'deleted', failed: 'deleted', canceled: 'deleted' },
};

// Runtime status events: the resulting status, and the lifecycle actions
// recorded on the way (the first event of a pending session starts it,
// except "failed", which fails it directly). A "running" report on a running
// session changes nothing and records nothing.
const RUNTIME = {
  running: { pending: ['running', ['start']], running: ['running', []], retrying: ['running', ['recover']] },
  retrying: { pending: ['retrying', ['start', 'retry']], running: ['retrying', ['retry']] },
  completed: {
    pending: ['completed', ['start', 'complete']],
    running: ['completed', ['complete']],
    retrying: ['completed', ['complete']],
    pausing: ['completed', ['complete']],
  },
  failed: {
    pending: ['failed', ['fail']],
    running: ['failed', ['fail']],
    retrying: ['failed', ['fail']],
    pausing: ['failed', ['fail']],
    paused: ['failed', ['fail']],
    canceling: ['failed', ['fail']],
  },
};

describe('lifecycle transition table over the API', () => {
  let srv, runtime, operator, admin, viewer, opName;

  before(async () => {
    srv = await startServer();
    runtime = await srv.token('runtime');
    opName = `lc-operator-${process.pid}`;
    operator = await srv.token('operator', { name: opName });
    admin = await srv.token('admin');
    viewer = await srv.token('viewer');
  });
  after(async () => {
    await srv?.stop();
  });

  /** A refused request: 409 invalid_transition naming the current status, nothing written. */
  async function assertRefusedNothingWritten(r, id, status, before, label) {
    assert.equal(r.status, 409, `${label}: ${r.status} ${r.text}`);
    assert.equal(r.json?.error?.code, 'invalid_transition', `${label}: ${r.text}`);
    assert.equal(typeof r.json.error.message, 'string');
    assert.equal(r.json.status, status, `${label}: the 409 names the current status`);
    const afterSnap = await snapshot(srv, viewer, id);
    assert.deepEqual(afterSnap.session, before.session, `${label}: GET session unchanged`);
    assert.deepEqual(afterSnap.events, before.events, `${label}: no event recorded`);
    const audit = sql(srv, `SELECT count(*) AS n FROM audit WHERE session_id = ${q(id)}`)[0].n;
    assert.equal(audit, before.audit, `${label}: no audit row`);
  }

  async function snap(id) {
    const s = await snapshot(srv, viewer, id);
    s.audit = sql(srv, `SELECT count(*) AS n FROM audit WHERE session_id = ${q(id)}`)[0].n;
    return s;
  }

  for (const action of Object.keys(OPERATOR)) {
    for (const status of STATUSES) {
      const want = OPERATOR[action][status] ?? null;
      it(`${action} on ${status}: ${want ? (want === 'deleted' ? '204' : `200 -> ${want}`) : '409'}`, async () => {
        const id = await reachStatus(srv, runtime, operator, status);
        const before = await snap(id);
        const token = action === 'delete' ? admin : operator;
        const r = await tryAction(srv, token, id, action);
        const label = `${action} on ${status}`;
        if (!want) {
          await assertRefusedNothingWritten(r, id, status, before, label);
          return;
        }
        if (want === 'deleted') {
          assert.equal(r.status, 204, `${label}: ${r.text}`);
          assert.equal(r.text, '', '204 has no body');
          const g = await srv.api('GET', `/api/v1/sessions/${id}`, { token: viewer });
          assert.equal(g.status, 404, 'gone after delete');
          return;
        }
        assert.equal(r.status, 200, `${label}: ${r.text}`);
        assert.deepEqual(r.json, { id, status: want, previous_status: status });
        const s = await getSession(srv, viewer, id);
        assert.equal(s.status, want);
        const evs = await listEvents(srv, viewer, id);
        assert.equal(evs.length, before.events.length + 1, 'exactly one event: the lifecycle entry');
        const last = evs[evs.length - 1];
        assert.equal(last.type, 'lifecycle');
        assert.equal(last.actor, `token:${opName}`);
        assert.deepEqual(
          { action: last.data.action, from: last.data.from, to: last.data.to, actor: last.data.actor },
          { action, from: status, to: want, actor: `token:${opName}` },
        );
        const steps = lifecycleSteps(evs);
        assertLegalWalk(steps, want, label);
        assertAuditMatches(srv, id, steps, label);
        // Terminal statuses carry an end time; others do not.
        assert.equal(s.end_time === null || s.end_time === undefined, want !== 'canceled', `end time on ${want}: ${s.end_time}`);
      });
    }
  }

  for (const to of Object.keys(RUNTIME)) {
    for (const status of STATUSES) {
      const want = RUNTIME[to][status] ?? null;
      it(`runtime status ${to} on ${status}: ${want ? `200 -> ${want[0]}` : '409'}`, async () => {
        const id = await reachStatus(srv, runtime, operator, status);
        const before = await snap(id);
        const r = await sendEvents(srv, runtime, id, { type: 'status', status: to, error: to === 'failed' ? 'it broke' : undefined });
        const label = `status ${to} on ${status}`;
        if (!want) {
          await assertRefusedNothingWritten(r, id, status, before, label);
          // Inside a batch, the refused status event takes the whole batch with it.
          const b = await sendEvents(srv, runtime, id, {
            events: [
              { type: 'log', severity: 'info', body: 'before the status' },
              { type: 'status', status: to },
            ],
          });
          await assertRefusedNothingWritten(b, id, status, before, `${label} (in a batch)`);
          const logs = sql(srv, `SELECT count(*) AS n FROM logs WHERE session_id = ${q(id)}`)[0].n;
          assert.equal(logs, 0, 'the log line of the refused batch was not kept');
          return;
        }
        assert.equal(r.status, 200, `${label}: ${r.text}`);
        assert.equal(r.json.status, want[0]);
        const s = await getSession(srv, viewer, id);
        assert.equal(s.status, want[0]);
        const evs = await listEvents(srv, viewer, id);
        const added = lifecycleSteps(evs.slice(before.events.length));
        assert.deepEqual(
          added.map((x) => x.action),
          want[1],
          `${label}: lifecycle events recorded: ${JSON.stringify(added)}`,
        );
        for (const x of added) assert.match(x.actor, /^token:/);
        if (to === 'failed') {
          assert.equal(added[added.length - 1].detail, 'it broke', 'the error is the detail of the change');
          assert.equal(s.error, 'it broke');
        }
        const steps = lifecycleSteps(evs);
        assertLegalWalk(steps, want[0], label);
        assertAuditMatches(srv, id, steps, label);
      });
    }
  }

  it('an unknown session: 404 for every action and status event', async () => {
    for (const action of ['pause', 'resume', 'cancel']) {
      const r = await tryAction(srv, operator, 'ses_nosuchsession', action);
      assert.equal(r.status, 404, `${action}: ${r.text}`);
      assert.equal(r.json.error.code, 'not_found');
    }
    const d = await tryAction(srv, admin, 'ses_nosuchsession', 'delete');
    assert.equal(d.status, 404);
    const e = await sendEvents(srv, runtime, 'ses_nosuchsession', { type: 'status', status: 'completed' });
    assert.equal(e.status, 404);
  });

  it('who may act: viewer 403 on every action, operator 403 on delete, runtime 403 on pause', async () => {
    const running = await reachStatus(srv, runtime, operator, 'running');
    const done = await reachStatus(srv, runtime, operator, 'completed');
    const before = await snap(running);
    for (const action of ['pause', 'resume', 'cancel']) {
      const r = await tryAction(srv, viewer, running, action);
      assert.equal(r.status, 403, `viewer ${action}: ${r.text}`);
    }
    assert.equal((await tryAction(srv, runtime, running, 'pause')).status, 403);
    assert.equal((await tryAction(srv, runtime, running, 'cancel')).status, 403);
    assert.equal((await tryAction(srv, operator, done, 'delete')).status, 403);
    assert.equal((await tryAction(srv, viewer, done, 'delete')).status, 403);
    const afterSnap = await snap(running);
    assert.deepEqual(afterSnap, before, 'nothing written by refused callers');
    assert.equal((await getSession(srv, viewer, done)).status, 'completed');
  });

  it('a long walk through the table keeps every step legal and audited', async () => {
    const id = await reachStatus(srv, runtime, operator, 'pending');
    const ev = (b) => sendEvents(srv, runtime, id, b);
    const ok = async (p) => assert.equal((await p).status, 200);
    await ok(ev({ type: 'user_message', content: 'hi' })); // start
    await ok(ev({ type: 'status', status: 'retrying' })); // retry
    await ok(tryAction(srv, operator, id, 'pause')); // retrying -> paused
    await ok(tryAction(srv, operator, id, 'resume'));
    await ok(ev({ type: 'tool_call', tool_call_id: 'w1', tool: 't', kind: 'server' }));
    await ok(tryAction(srv, operator, id, 'pause')); // -> pausing
    await ok(ev({ type: 'tool_result', tool_call_id: 'w1', result: 1 })); // settle -> paused
    await ok(tryAction(srv, operator, id, 'resume'));
    await ok(ev({ type: 'status', status: 'completed' }));
    await ok(srv.api('POST', `/api/v1/sessions/${id}/input`, { token: operator, json: { type: 'message', content: 'one more' } })); // continue
    await ok(ev({ type: 'status', status: 'failed', error: 'x' }));
    await ok(srv.api('POST', `/api/v1/sessions/${id}/input`, { token: operator, json: { type: 'message', content: 'again' } }));
    await ok(tryAction(srv, operator, id, 'cancel'));
    const evs = await listEvents(srv, viewer, id);
    const steps = lifecycleSteps(evs);
    assert.deepEqual(
      steps.map((s) => s.action),
      ['start', 'retry', 'pause', 'resume', 'pause', 'settle', 'resume', 'complete', 'continue', 'fail', 'continue', 'cancel'],
    );
    assertLegalWalk(steps, 'canceled', 'long walk');
    assertAuditMatches(srv, id, steps, 'long walk');
    const s = await getSession(srv, viewer, id);
    assert.equal(s.status, 'canceled');
    assert.equal(s.retry_count, 1, 'one retry counted');
  });
});
