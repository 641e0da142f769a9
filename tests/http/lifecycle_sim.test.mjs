// The reference runtime (`flightdeck simulate`, the sanitizer build of the
// CLI) against a real server: what it reports matches the server, and with an
// operator pausing, resuming and canceling its sessions while it plays, every
// session still ends in a status consistent with what happened and no tool
// call is ever recorded while its session is pausing, paused, canceling or
// canceled. Also a person completing the manual tasks it waits on.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import {
  getSession,
  listEvents,
  tryAction,
  lifecycleSteps,
  assertLegalWalk,
  assertAuditMatches,
  statusAtEachEvent,
  sql,
  q,
  sleep,
  TERMINAL,
} from '../lib/fixtures.mjs';

/** The JSON lines of a --json run: {sessions: [...], summary}. */
function parseRun(stdout) {
  const lines = stdout.split('\n').filter((l) => l.trim());
  const objs = lines.map((l) => {
    try {
      return JSON.parse(l);
    } catch {
      throw new Error(`not a JSON line: ${l}`);
    }
  });
  const summary = objs.filter((o) => o.summary === true);
  assert.equal(summary.length, 1, 'one summary line');
  assert.equal(objs[objs.length - 1].summary, true, 'the summary is last');
  return { sessions: objs.filter((o) => o.summary !== true), summary: summary[0] };
}

describe('flightdeck simulate against the server', () => {
  let srv, runtime, operator, viewer;

  before(async () => {
    srv = await startServer();
    runtime = await srv.token('runtime');
    operator = await srv.token('operator', { name: 'sim-operator' });
    viewer = await srv.token('viewer');
  });
  after(async () => {
    await srv?.stop();
  });

  const simulate = (args, opts = {}) =>
    srv.cli(['simulate', '--server', srv.url, '--token', runtime, '--json', ...args], { allowFail: true, timeoutMs: 60000, ...opts });

  /** Every invariant of one session, as recorded by the server. */
  async function checkSession(id) {
    const [s, evs] = await Promise.all([getSession(srv, viewer, id), listEvents(srv, viewer, id)]);
    const steps = lifecycleSteps(evs);
    assertLegalWalk(steps, s.status, id);
    assertAuditMatches(srv, id, steps, id);
    for (const { event, status } of statusAtEachEvent(evs)) {
      if (event.type === 'tool_call') assert.ok(['running', 'retrying'].includes(status), `${id}: tool_call ${event.tool_call_id} recorded while ${status}`);
    }
    // No event id recorded twice.
    const keys = evs.map((e) => e.client_id).filter(Boolean);
    assert.equal(new Set(keys).size, keys.length, `${id}: an event id recorded twice`);
    return { s, evs, steps };
  }

  it('--sessions 20 --concurrency 4 --scenario mixed: exit 0, every session in the status it reports', async (t) => {
    const r = await simulate(['--sessions', '20', '--concurrency', '4', '--scenario', 'mixed', '--seed', '7']);
    assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    const { sessions, summary } = parseRun(r.stdout);
    assert.equal(sessions.length, 20);
    assert.equal(new Set(sessions.map((s) => s.id)).size, 20);
    assert.deepEqual([summary.sessions, summary.played, summary.errors, summary.exit_code], [20, 20, 0, 0]);
    assert.equal(summary.completed + summary.failed + summary.canceled + summary.other, 20);
    const byStatus = {};
    const scenarios = new Set();
    for (const rep of sessions) {
      assert.equal(rep.error, undefined, `${rep.id}: ${rep.error}`);
      const { s, evs } = await checkSession(rep.id);
      assert.equal(s.status, rep.status, `${rep.id} (${rep.scenario}) is ${s.status}, reported ${rep.status}`);
      assert.ok(TERMINAL.includes(s.status), `${rep.id} ended (${s.status})`);
      const calls = evs.filter((e) => e.type === 'tool_call').length;
      assert.equal(calls, rep.tool_calls, `${rep.id}: tool calls reported ${rep.tool_calls}, recorded ${calls}`);
      byStatus[s.status] = (byStatus[s.status] || 0) + 1;
      // What the scenario did is what the server recorded.
      const rows = sql(srv, `SELECT kind, state, error_category FROM tool_calls WHERE session_id = ${q(rep.id)}`);
      if (rep.scenario === 'retry') assert.ok(s.retry_count >= 1, `${rep.id}: retry scenario, retry_count ${s.retry_count}`);
      if (rep.scenario === 'fail') {
        assert.equal(s.status, 'failed');
        assert.ok(evs.some((e) => e.type === 'error'), `${rep.id}: an error event`);
        assert.ok(rows.some((c) => c.state === 'failed'), `${rep.id}: a failed call`);
      }
      if (rep.scenario === 'client') {
        const client = rows.filter((c) => c.kind === 'client');
        assert.ok(client.length >= 1, `${rep.id}: client calls`);
        assert.ok(client.every((c) => c.state === 'succeeded' || c.state === 'failed'), `${rep.id}: client calls resolved`);
      }
      scenarios.add(rep.scenario);
    }
    assert.deepEqual([...scenarios].sort(), ['client', 'complete', 'fail', 'retry'], 'mixed plays every scenario but manual');
    assert.equal(byStatus.completed || 0, summary.completed);
    assert.equal(byStatus.failed || 0, summary.failed);
    assert.ok(summary.completed > 0 && summary.failed > 0, 'mixed: some complete, some fail');
    // The mixed scenario leaves nothing executing and no call waiting.
    const open = sql(srv, "SELECT count(*) AS n FROM tool_calls WHERE state IN ('running','waiting_for_client','waiting_for_human')")[0].n;
    assert.equal(open, 0);
    t.diagnostic(`${JSON.stringify(byStatus)} in ${summary.seconds} s`);
  });

  it('--resend 30: resent requests are acknowledged as duplicates, nothing recorded twice', async () => {
    const r = await simulate(['--sessions', '6', '--concurrency', '3', '--scenario', 'retry', '--resend', '30', '--seed', '3']);
    assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    const { sessions, summary } = parseRun(r.stdout);
    assert.ok(summary.duplicates > 0, 'some requests were resent');
    for (const rep of sessions) {
      const { s } = await checkSession(rep.id);
      assert.equal(s.status, rep.status);
    }
  });

  it('an operator pausing, resuming and canceling sessions while they play', async (t) => {
    const run = simulate(['--sessions', '12', '--concurrency', '4', '--scenario', 'mixed', '--step-ms', '120', '--tools', '6', '--seed', '11']);
    let done = false;
    run.finally(() => (done = true));
    const paused = new Set();
    const canceled = new Set();
    const resumedAt = new Map();
    const acted = { pause: 0, resume: 0, cancel: 0, refused: 0 };
    const end = Date.now() + 45000;
    let round = 0;
    while (!done && Date.now() < end) {
      round++;
      const list = await srv.api('GET', '/api/v1/sessions?limit=200', { token: operator });
      for (const s of list.json.data) {
        if (!s.id.startsWith('sim_')) continue;
        if (['running', 'retrying'].includes(s.status) && !paused.has(s.id) && !canceled.has(s.id)) {
          // Every third session we touch is canceled; the others are paused (once).
          const action = (paused.size + canceled.size) % 3 === 2 ? 'cancel' : 'pause';
          const r = await tryAction(srv, operator, s.id, action);
          if (r.status === 200) {
            acted[action]++;
            (action === 'cancel' ? canceled : paused).add(s.id);
          } else {
            assert.equal(r.status, 409, r.text); // it changed under us: fine, but never anything else
            acted.refused++;
          }
        } else if (s.status === 'paused' && paused.has(s.id) && !resumedAt.has(s.id)) {
          // Leave it paused a moment, so the runtime really waits.
          resumedAt.set(s.id, Date.now() + 250);
        }
      }
      for (const [id, at] of resumedAt) {
        if (at && Date.now() >= at) {
          const r = await tryAction(srv, operator, id, 'resume');
          if (r.status === 200) acted.resume++;
          else assert.equal(r.status, 409, r.text);
          resumedAt.set(id, 0);
        }
      }
      await sleep(40);
    }
    // Anything still paused by us gets resumed so the run can finish.
    for (let k = 0; k < 200 && !done; k++) {
      for (const id of paused) {
        const s = await getSession(srv, viewer, id);
        if (s.status === 'paused') await tryAction(srv, operator, id, 'resume');
      }
      await sleep(50);
    }
    const r = await run;
    t.diagnostic(`${round} operator rounds; ${JSON.stringify(acted)}`);
    assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    assert.ok(acted.pause >= 2, `paused ${acted.pause} sessions while they ran`);
    assert.ok(acted.cancel >= 1, `canceled ${acted.cancel} sessions while they ran`);
    assert.ok(acted.resume >= 1, `resumed ${acted.resume}`);
    const { sessions, summary } = parseRun(r.stdout);
    assert.equal(sessions.length, 12);
    assert.equal(summary.errors, 0);
    for (const rep of sessions) {
      const { s, steps } = await checkSession(rep.id);
      assert.equal(s.status, rep.status, `${rep.id} is ${s.status}, the runtime says ${rep.status}`);
      assert.ok(TERMINAL.includes(s.status), `${rep.id} ended (${s.status})`);
      if (canceled.has(rep.id)) {
        assert.equal(s.status, 'canceled', `${rep.id} was canceled by the operator`);
        assert.ok(steps.some((x) => x.action === 'cancel' && x.actor === 'token:sim-operator'));
      }
      if (paused.has(rep.id)) {
        assert.ok(steps.some((x) => x.action === 'pause' && x.actor === 'token:sim-operator'), `${rep.id}: our pause is in its history`);
      }
      // Nothing executing is left behind.
      const ex = sql(srv, `SELECT executing_calls AS n FROM sessions WHERE id = ${q(rep.id)}`)[0].n;
      if (s.status !== 'completed') assert.equal(ex, 0, `${rep.id}: ${ex} calls still executing`);
    }
    // A canceled session's calls never end as succeeded after the cancel.
    for (const id of canceled) {
      const rows = sql(srv, `SELECT t.id, t.state, t.ended_at, (SELECT min(e.time) FROM events e WHERE e.session_id = t.session_id AND e.type = 'lifecycle' AND json_extract(e.body, '$.action') = 'cancel') AS cancel_time FROM tool_calls t WHERE t.session_id = ${q(id)}`);
      for (const row of rows) {
        if (row.ended_at !== null && row.cancel_time !== null && row.ended_at > row.cancel_time) {
          assert.equal(row.state, 'canceled', `${id}/${row.id} ended after the cancel as ${row.state}`);
        }
      }
    }
  });

  it('--scenario manual: the runtime waits for a person; completing its tasks (one while paused) lets it finish', async () => {
    const run = simulate(['--sessions', '3', '--concurrency', '3', '--scenario', 'manual', '--tools', '3', '--seed', '5']);
    let done = false;
    run.finally(() => (done = true));
    const completed = new Set();
    let pausedOne = null;
    const end = Date.now() + 40000;
    while (!done && Date.now() < end && completed.size < 3) {
      const tasks = (await srv.api('GET', '/api/v1/tasks', { token: viewer })).json.data.filter((x) => x.session_id.startsWith('sim_'));
      for (const task of tasks) {
        if (completed.has(task.id)) continue;
        if (!pausedOne) {
          // Pause while the task waits: at once (a waiting call does not hold it up).
          const p = await tryAction(srv, operator, task.session_id, 'pause');
          assert.equal(p.status, 200, p.text);
          assert.equal(p.json.status, 'paused');
          pausedOne = task.session_id;
        }
        const r = await srv.api('POST', `/api/v1/tasks/${task.id}/complete`, { token: operator, json: { result: { approved: true } } });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.session_status, 'running', 'completing the task resumes a paused session');
        completed.add(task.id);
      }
      await sleep(50);
    }
    const r = await run;
    assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    assert.equal(completed.size, 3, 'one task per session');
    const { sessions } = parseRun(r.stdout);
    for (const rep of sessions) {
      const { s, steps } = await checkSession(rep.id);
      assert.equal(s.status, rep.status);
      assert.equal(s.status, 'completed');
      if (rep.id === pausedOne) {
        const resume = steps.find((x) => x.action === 'resume');
        assert.ok(resume, 'resumed');
        assert.equal(resume.detail, 'task completed');
      }
    }
  });
});
