// Concurrent requests never leave a session in a state the table does not
// allow (DESIGN.md section 4, last rule). Each race runs many times (bounded
// in count and in time), several sessions at once, with the racing requests
// sent together (Promise.all):
//   - pause while the last executing tool call ends;
//   - cancel and the runtime's completion at once (with and without a call);
//   - two operators pausing at once, and pause racing resume;
//   - a tool_call racing a pause (and a cancel);
//   - two people completing one task, a task completion racing a cancel,
//     a delete racing a follow-up message.
// Afterwards, for every session: the lifecycle events' (from, to) pairs are a
// legal walk of the table ending in the final status, the audit rows say the
// same, no tool_call was recorded in a status that refuses them, and the
// executing-call count matches the calls still running (a session is never
// left pausing/canceling with nothing executing).
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
  lifecycleSteps,
  assertLegalWalk,
  statusAtEachEvent,
  sql,
  q,
  TERMINAL,
} from '../lib/fixtures.mjs';

const ITER = Number(process.env.FD_RACE_ITER || 40); // per race
const PAR = 8; // sessions raced at once
const RACE_MS = 12000; // time bound per race

describe('races', () => {
  let srv, runtime, opA, opB, viewer;
  const made = []; // every session, for the final checks

  before(async () => {
    srv = await startServer();
    runtime = await srv.token('runtime');
    opA = await srv.token('operator', { name: 'race-op-a' });
    opB = await srv.token('operator', { name: 'race-op-b' });
    viewer = await srv.token('viewer');
  });
  after(async () => {
    await srv?.stop();
  });

  /** A running session, optionally with server calls executing. */
  async function running(label, calls = []) {
    const s = await createSession(srv, runtime, { agent: 'racer', name: label });
    made.push(s.id);
    await append(srv, runtime, s.id, {
      events: [{ type: 'user_message', content: 'go' }, ...calls.map((c) => ({ type: 'tool_call', tool_call_id: c, tool: 'work', kind: 'server' }))],
    });
    return s.id;
  }

  /** Run body(i) ITER times, PAR at once, within RACE_MS; returns how many ran. */
  async function repeat(body) {
    const end = Date.now() + RACE_MS;
    let n = 0;
    while (n < ITER && Date.now() < end) {
      const k = Math.min(PAR, ITER - n);
      await Promise.all(Array.from({ length: k }, (_, j) => body(n + j)));
      n += k;
    }
    assert.ok(n >= Math.min(ITER, 16), `only ${n} iterations ran in ${RACE_MS} ms`);
    return n;
  }

  const seen = (t, counts) => t.diagnostic(Object.entries(counts).map(([k, v]) => `${k}: ${v}`).join(', '));

  it('pause while the last tool call ends: always paused, settled exactly once when it was pausing', async (t) => {
    const counts = { 'pause first': 0, 'result first': 0 };
    await repeat(async (i) => {
      const id = await running(`pause-vs-result ${i}`, ['last']);
      const [p, r] = await Promise.all([
        tryAction(srv, opA, id, 'pause'),
        sendEvents(srv, runtime, id, { type: 'tool_result', tool_call_id: 'last', result: i }),
      ]);
      assert.equal(p.status, 200, p.text);
      assert.equal(r.status, 200, r.text);
      const s = await getSession(srv, viewer, id);
      assert.equal(s.status, 'paused', `${id} ends paused`);
      const steps = lifecycleSteps(await listEvents(srv, viewer, id));
      const settles = steps.filter((x) => x.action === 'settle');
      if (p.json.status === 'pausing') {
        counts['pause first']++;
        assert.equal(r.json.status, 'paused', 'the result settled it');
        assert.deepEqual(steps.map((x) => `${x.action}:${x.to}`), ['start:running', 'pause:pausing', 'settle:paused']);
        assert.equal(settles.length, 1);
      } else {
        counts['result first']++;
        assert.equal(p.json.status, 'paused');
        assert.equal(r.json.status, 'running');
        assert.deepEqual(steps.map((x) => `${x.action}:${x.to}`), ['start:running', 'pause:paused']);
        assert.equal(settles.length, 0);
      }
    });
    seen(t, counts);
  });

  it('cancel and complete at once: canceled or completed, never a transition after the end', async (t) => {
    const counts = {};
    await repeat(async (i) => {
      const withCall = i % 2 === 1;
      const id = await running(`cancel-vs-complete ${i}`, withCall ? ['busy'] : []);
      const [c, d] = await Promise.all([
        tryAction(srv, i % 3 ? opA : opB, id, 'cancel'),
        sendEvents(srv, runtime, id, { type: 'status', status: 'completed', response: 'done' }),
      ]);
      const key = `${withCall ? 'call' : 'idle'}: cancel ${c.status}${c.json?.status ? ` ${c.json.status}` : ''} / complete ${d.status}`;
      counts[key] = (counts[key] || 0) + 1;
      // Exactly one of them wins; the loser is a 409 naming the winner's status.
      assert.equal([c.status, d.status].filter((x) => x === 200).length, 1, `${c.status} ${c.text} / ${d.status} ${d.text}`);
      const loser = c.status === 200 ? d : c;
      assert.equal(loser.status, 409);
      assert.equal(loser.json.error.code, 'invalid_transition');
      if (c.status === 200) {
        assert.equal(c.json.status, withCall ? 'canceling' : 'canceled');
        assert.equal(d.json.status, c.json.status);
        if (withCall) {
          const r = await append(srv, runtime, id, { type: 'tool_result', tool_call_id: 'busy', result: 1 });
          assert.equal(r.status, 'canceled');
        }
      } else {
        assert.equal(c.json.status, 'completed');
      }
      const s = await getSession(srv, viewer, id);
      assert.ok(['canceled', 'completed'].includes(s.status), s.status);
      const steps = lifecycleSteps(await listEvents(srv, viewer, id));
      const end = steps.findIndex((x) => TERMINAL.includes(x.to));
      assert.equal(end, steps.length - 1, `nothing after the terminal step: ${JSON.stringify(steps)}`);
      assert.equal(steps.filter((x) => x.action === 'complete' || x.action === 'cancel').length, 1, 'only one of the two recorded');
      assertLegalWalk(steps, s.status, id);
    });
    seen(t, counts);
  });

  it('cancel racing the runtime failing: one terminal status, a legal path', async () => {
    await repeat(async (i) => {
      const id = await running(`cancel-vs-fail ${i}`, i % 2 ? ['busy'] : []);
      const [c, f] = await Promise.all([
        tryAction(srv, opA, id, 'cancel'),
        sendEvents(srv, runtime, id, { type: 'status', status: 'failed', error: 'crash' }),
      ]);
      // fail is allowed from canceling; cancel is not allowed from failed.
      assert.ok(c.status === 200 || (c.status === 409 && c.json.status === 'failed'), `${c.status} ${c.text}`);
      if (f.status !== 200) {
        assert.equal(f.status, 409);
        assert.equal(f.json.status, 'canceled');
      }
      const s = await getSession(srv, viewer, id);
      assert.ok(['canceled', 'failed'].includes(s.status), s.status);
      assertLegalWalk(lifecycleSteps(await listEvents(srv, viewer, id)), s.status, id);
    });
  });

  it('two operators pausing at once: one 200, one 409 naming the status the first left', async (t) => {
    const counts = { idle: 0, 'with a call': 0 };
    await repeat(async (i) => {
      const withCall = i % 2 === 1;
      counts[withCall ? 'with a call' : 'idle']++;
      const id = await running(`pause-vs-pause ${i}`, withCall ? ['w'] : []);
      const rs = await Promise.all([tryAction(srv, opA, id, 'pause'), tryAction(srv, opB, id, 'pause')]);
      const ok = rs.filter((r) => r.status === 200);
      const no = rs.filter((r) => r.status !== 200);
      assert.equal(ok.length, 1, rs.map((r) => `${r.status} ${r.text}`).join(' | '));
      assert.equal(no[0].status, 409);
      assert.equal(no[0].json.error.code, 'invalid_transition');
      const want = withCall ? 'pausing' : 'paused';
      assert.equal(ok[0].json.status, want);
      assert.equal(no[0].json.status, want, 'the loser saw the winner’s status');
      const winner = rs[0].status === 200 ? 'token:race-op-a' : 'token:race-op-b';
      const steps = lifecycleSteps(await listEvents(srv, viewer, id));
      const pauses = steps.filter((x) => x.action === 'pause');
      assert.equal(pauses.length, 1, 'one pause recorded');
      assert.equal(pauses[0].actor, winner, 'by the operator who got the 200');
      if (withCall) {
        const r = await append(srv, runtime, id, { type: 'tool_result', tool_call_id: 'w', result: 1 });
        assert.equal(r.status, 'paused');
      }
    });
    seen(t, counts);
  });

  it('pause racing resume from two operators: both 200 only when resume came second and legal', async (t) => {
    const counts = {};
    await repeat(async (i) => {
      const id = await running(`pause-vs-resume ${i}`);
      const [p, r] = await Promise.all([tryAction(srv, opA, id, 'pause'), tryAction(srv, opB, id, 'resume')]);
      assert.equal(p.status, 200, p.text);
      const key = `resume ${r.status}`;
      counts[key] = (counts[key] || 0) + 1;
      const s = await getSession(srv, viewer, id);
      const steps = lifecycleSteps(await listEvents(srv, viewer, id));
      if (r.status === 200) {
        assert.deepEqual(r.json, { id, status: 'running', previous_status: 'paused' });
        assert.equal(s.status, 'running');
        assert.deepEqual(steps.map((x) => x.action), ['start', 'pause', 'resume']);
      } else {
        assert.equal(r.status, 409);
        assert.equal(r.json.status, 'running', 'resume came first and saw running');
        assert.equal(s.status, 'paused');
        assert.deepEqual(steps.map((x) => x.action), ['start', 'pause']);
      }
      assertLegalWalk(steps, s.status, id);
    });
    seen(t, counts);
  });

  it('a tool_call racing a pause: recorded before the pause (then pausing) or refused and not recorded', async (t) => {
    const counts = { 'call first': 0, 'pause first': 0 };
    await repeat(async (i) => {
      const id = await running(`call-vs-pause ${i}`);
      const [c, p] = await Promise.all([
        sendEvents(srv, runtime, id, { type: 'tool_call', tool_call_id: 'racer', tool: 'search', kind: 'server' }),
        tryAction(srv, opA, id, 'pause'),
      ]);
      assert.equal(p.status, 200, p.text);
      const calls = sql(srv, `SELECT count(*) AS n FROM tool_calls WHERE session_id = ${q(id)}`)[0].n;
      let evs = await listEvents(srv, viewer, id);
      const callEv = evs.find((e) => e.type === 'tool_call');
      if (c.status === 200) {
        counts['call first']++;
        assert.equal(c.json.status, 'running', 'the call was accepted while running');
        assert.equal(p.json.status, 'pausing', 'so the pause had to wait for it');
        assert.equal(calls, 1);
        const pauseEv = evs.find((e) => e.type === 'lifecycle' && e.data.action === 'pause');
        assert.ok(callEv.seq < pauseEv.seq, 'the call is before the pause');
        const r = await append(srv, runtime, id, { type: 'tool_result', tool_call_id: 'racer', result: 1 });
        assert.equal(r.status, 'paused', 'paused after the result');
      } else {
        counts['pause first']++;
        assert.equal(c.status, 409, c.text);
        assert.equal(c.json.error.code, 'session_not_running');
        assert.equal(c.json.status, 'paused');
        assert.equal(p.json.status, 'paused');
        assert.equal(calls, 0, 'no tool_calls row');
        assert.equal(callEv, undefined, 'no tool_call event');
      }
      evs = await listEvents(srv, viewer, id);
      for (const { event, status } of statusAtEachEvent(evs)) {
        if (event.type === 'tool_call') assert.ok(['running', 'retrying'].includes(status), `tool_call recorded while ${status}`);
      }
      assert.equal((await getSession(srv, viewer, id)).status, 'paused');
    });
    seen(t, counts);
  });

  it('a tool_call racing a cancel, with a manual task waiting', async () => {
    await repeat(async (i) => {
      const id = await running(`call-vs-cancel ${i}`);
      await append(srv, runtime, id, { type: 'tool_call', tool_call_id: 'ask', tool: 'ask', kind: 'manual' });
      const [c, x] = await Promise.all([
        sendEvents(srv, runtime, id, { type: 'tool_call', tool_call_id: 'racer', tool: 'search', kind: 'server' }),
        tryAction(srv, opA, id, 'cancel'),
      ]);
      assert.equal(x.status, 200);
      assert.equal(sql(srv, `SELECT state FROM tool_calls WHERE session_id = ${q(id)} AND id = 'ask'`)[0].state, 'canceled');
      if (c.status === 200) {
        assert.equal(x.json.status, 'canceling');
        await append(srv, runtime, id, { type: 'tool_result', tool_call_id: 'racer', result: 1 });
        assert.equal(sql(srv, `SELECT state FROM tool_calls WHERE session_id = ${q(id)} AND id = 'racer'`)[0].state, 'canceled');
      } else {
        assert.equal(c.status, 409);
        assert.equal(x.json.status, 'canceled');
      }
      assert.equal((await getSession(srv, viewer, id)).status, 'canceled');
    });
  });

  it('two people completing one task at once: one 200, the rest 409, one tool_result', async () => {
    await repeat(async (i) => {
      const id = await running(`task-vs-task ${i}`);
      const a = await append(srv, runtime, id, { type: 'tool_call', tool_call_id: 'ask', tool: 'approve', kind: 'manual' });
      const tid = a.events[0].id;
      const rs = await Promise.all([
        srv.api('POST', `/api/v1/tasks/${tid}/complete`, { token: opA, json: { result: 'a' } }),
        srv.api('POST', `/api/v1/tasks/${tid}/complete`, { token: opB, json: { result: 'b' } }),
        srv.api('POST', `/api/v1/tasks/${tid}/complete`, { token: opA, json: { rejected: true, reason: 'c' } }),
      ]);
      assert.deepEqual(rs.map((r) => r.status).sort(), [200, 409, 409], rs.map((r) => r.text).join(' | '));
      const evs = await listEvents(srv, viewer, id);
      assert.equal(evs.filter((e) => e.type === 'tool_result').length, 1, 'one tool_result');
    });
  });

  it('cancel racing a task completion (the session paused): the call ends once, the session canceled', async (t) => {
    const counts = {};
    await repeat(async (i) => {
      const id = await running(`cancel-vs-task ${i}`);
      const a = await append(srv, runtime, id, { type: 'tool_call', tool_call_id: 'ask', tool: 'approve', kind: 'manual' });
      assert.equal((await tryAction(srv, opA, id, 'pause')).json.status, 'paused');
      const [c, d] = await Promise.all([
        tryAction(srv, opA, id, 'cancel'),
        srv.api('POST', `/api/v1/tasks/${a.events[0].id}/complete`, { token: opB, json: { result: 'ok' } }),
      ]);
      const key = `cancel ${c.status} / task ${d.status}`;
      counts[key] = (counts[key] || 0) + 1;
      assert.equal(c.status, 200, c.text); // cancel is valid from paused and from running (after the resume)
      assert.equal(c.json.status, 'canceled');
      const state = sql(srv, `SELECT state FROM tool_calls WHERE session_id = ${q(id)} AND id = 'ask'`)[0].state;
      if (d.status === 200) {
        assert.equal(d.json.session_status, 'running', 'the task resumed the session before the cancel');
        assert.equal(c.json.previous_status, 'running');
        assert.equal(state, 'succeeded');
      } else {
        assert.equal(d.status, 409, d.text);
        assert.equal(c.json.previous_status, 'paused');
        assert.equal(state, 'canceled');
      }
      const s = await getSession(srv, viewer, id);
      assert.equal(s.status, 'canceled');
      assertLegalWalk(lifecycleSteps(await listEvents(srv, viewer, id)), 'canceled', id);
    });
    seen(t, counts);
  });

  it('delete racing a follow-up message: deleted with nothing left, or continued and kept', async (t) => {
    const admin = await srv.token('admin');
    const counts = { deleted: 0, continued: 0 };
    await repeat(async (i) => {
      const id = await running(`delete-vs-continue ${i}`);
      await append(srv, runtime, id, { type: 'status', status: 'completed' });
      const [del, msg] = await Promise.all([
        tryAction(srv, admin, id, 'delete'),
        srv.api('POST', `/api/v1/sessions/${id}/input`, { token: opA, json: { type: 'message', content: 'more' } }),
      ]);
      if (del.status === 204) {
        counts.deleted++;
        made.splice(made.indexOf(id), 1);
        // Whatever order: nothing of the session is left behind.
        const left = sql(srv, `SELECT (SELECT count(*) FROM sessions WHERE id = ${q(id)}) + (SELECT count(*) FROM events WHERE session_id = ${q(id)}) AS n`)[0].n;
        assert.equal(left, 0);
        assert.equal(msg.status, 404, 'the message came second (a continued session cannot be deleted)');
      } else {
        counts.continued++;
        assert.equal(del.status, 409, del.text);
        assert.equal(del.json.status, 'running');
        assert.equal(msg.status, 200, msg.text);
        assert.equal((await getSession(srv, viewer, id)).status, 'running');
      }
    });
    seen(t, counts);
  });

  it('every session: a legal walk ending in its status, audit = lifecycle events, no call while paused, no idle pausing', async () => {
    assert.ok(made.length >= 100, `${made.length} sessions`);
    const audit = new Map();
    for (const r of sql(srv, "SELECT session_id, action, from_status, to_status, actor FROM audit WHERE action NOT IN ('create','delete') ORDER BY id")) {
      if (!audit.has(r.session_id)) audit.set(r.session_id, []);
      audit.get(r.session_id).push([r.action, r.from_status, r.to_status, r.actor]);
    }
    const execRows = new Map(
      sql(srv, "SELECT s.id, s.status, s.executing_calls AS ex, (SELECT count(*) FROM tool_calls t WHERE t.session_id = s.id AND t.state = 'running') AS running FROM sessions s").map((r) => [r.id, r]),
    );
    for (let k = 0; k < made.length; k += 16) {
      await Promise.all(
        made.slice(k, k + 16).map(async (id) => {
          const [s, evs] = await Promise.all([getSession(srv, viewer, id), listEvents(srv, viewer, id)]);
          const steps = lifecycleSteps(evs);
          assertLegalWalk(steps, s.status, id);
          assert.deepEqual(audit.get(id) || [], steps.map((x) => [x.action, x.from, x.to, x.actor]), `${id}: audit matches`);
          for (const { event, status } of statusAtEachEvent(evs)) {
            if (event.type === 'tool_call') assert.ok(['running', 'retrying'].includes(status), `${id}: tool_call while ${status}`);
          }
          const ex = execRows.get(id);
          assert.equal(ex.status, s.status);
          assert.equal(ex.ex, ex.running, `${id}: executing count = calls running`);
          if (['pausing', 'canceling'].includes(s.status)) assert.ok(ex.ex > 0, `${id}: ${s.status} with nothing executing`);
        }),
      );
    }
  });
});
