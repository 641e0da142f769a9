// bin/flightdeck as a CLI for people and scripts: every command with an API
// against the local database AND against the server (--server, token in
// FLIGHTDECK_TOKEN), --json compared with the API's own answer, the human
// output carrying the key facts, --help everywhere, exit codes (0 ok, 1
// failure / not found / refused, 2 usage), `sessions watch` following a live
// session to its end, and `db backup` of a database being written to.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startServer } from '../lib/server.mjs';
import { createSession, append, sleep } from '../lib/fixtures.mjs';

const AGENT = `cli-cmd-${process.pid}`;

describe('CLI commands, local and remote', () => {
  let srv, runtime, admin, operator, viewer;
  let live, done, flow, taskId;
  const artBytes = Buffer.from([0, 1, 2, 255, 10, 13, 0x41, 0x42, 0, 0x7f]);
  let artId;

  /** Run the CLI; remote when `token` is given (FLIGHTDECK_SERVER + FLIGHTDECK_TOKEN). */
  const run = (args, { token, env = {}, timeoutMs = 30000 } = {}) =>
    new Promise((resolve, reject) => {
      const e = { ...srv.env, ...env };
      if (token) Object.assign(e, { FLIGHTDECK_SERVER: srv.url, FLIGHTDECK_TOKEN: token });
      const p = spawn(srv.cliPath, args, { cwd: srv.root, env: e, stdio: ['ignore', 'pipe', 'pipe'] });
      const out = [];
      let stderr = '';
      const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
      p.stdout.on('data', (d) => out.push(d));
      p.stderr.on('data', (d) => (stderr += d));
      p.on('error', reject);
      p.on('close', (code, signal) => {
        clearTimeout(timer);
        const raw = Buffer.concat(out);
        resolve({ code, signal, raw, stdout: raw.toString('utf8'), stderr });
      });
    });
  /** Both ways: [local, remote(token)]. */
  const both = (args, token = admin, opts = {}) => Promise.all([run(args, opts), run(args, { ...opts, token })]);
  const ok = (r, what) => assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  const api = async (method, p, token = admin, json) => {
    const r = await srv.api(method, p, { token, json });
    return r;
  };
  const noDuration = (o) => {
    for (const s of o.data ?? [o]) delete s.duration;
    return o;
  };

  before(async () => {
    srv = await startServer();
    [runtime, admin, operator, viewer] = await Promise.all(['runtime', 'admin', 'operator', 'viewer'].map((r) => srv.token(r)));
    live = (await createSession(srv, runtime, { agent: AGENT, name: 'Live one', trigger: 'api', prompt: 'Summarize ticket 7' })).id;
    await append(srv, runtime, live, {
      events: [
        { id: 'l1', type: 'user_message', content: 'Summarize ticket 7' },
        { id: 'l2', type: 'thought', content: 'Fetching the ticket.' },
        { id: 'l3', type: 'tool_call', tool_call_id: 'm1', tool: 'approve_refund', kind: 'manual', arguments: { amount: 12 } },
      ],
    });
    done = (await createSession(srv, runtime, { agent: AGENT, name: 'Done one', trigger: 'schedule' })).id;
    await append(srv, runtime, done, {
      events: [
        { id: 'd1', type: 'user_message', content: 'Hello there' },
        { id: 'd2', type: 'assistant_message', content: 'General Kenobi.\nSecond line.' },
        { id: 'd3', type: 'status', status: 'completed', response: 'General Kenobi.' },
      ],
    });
    flow = (await createSession(srv, runtime, { agent: AGENT, kind: 'workflow', name: 'Nightly flow', trigger: 'schedule' })).id;
    await append(srv, runtime, flow, { type: 'status', status: 'failed', error: 'boom' });
    const up = await api('POST', `/api/v1/sessions/${done}/artifacts`, runtime, {
      name: 'blob.bin', content_base64: artBytes.toString('base64'), media_type: 'application/octet-stream',
    });
    assert.equal(up.status, 201, up.text);
    artId = up.json.id;
    const rep = await api('PUT', `/api/v1/sessions/${done}/report`, runtime, {
      title: 'Ticket report', summary: 'All **good**.', sections: [{ title: 'Details', content: 'Nothing else.' }], data: { n: 1 },
    });
    assert.equal(rep.status, 200, rep.text);
    const tasks = await api('GET', '/api/v1/tasks');
    taskId = tasks.json.data.find((t) => t.session_id === live).id;
  });
  after(async () => {
    await srv?.stop();
  });

  it('help: overview, help COMMAND, --help on every command, group help, unknown commands', async () => {
    const h = await run(['help']);
    ok(h, 'help');
    for (const w of ['sessions list', 'sessions watch', 'tasks complete', 'artifacts get', 'report get', 'db backup', 'history list', 'token create'])
      assert.match(h.stdout, new RegExp(w), w);
    assert.match(h.stdout, /Exit status: 0 ok; 1 .*\n2 usage/);
    const names = ['sessions list', 'sessions get', 'sessions watch', 'sessions pause', 'sessions resume', 'sessions cancel',
      'sessions delete', 'history list', 'tasks list', 'tasks complete', 'artifacts list', 'artifacts get', 'report get',
      'db migrate', 'db backup', 'setup', 'user add', 'user passwd', 'user grant', 'user revoke', 'user list',
      'token create', 'token grant', 'token revoke', 'token list', 'demo', 'routes'];
    for (const n of names) {
      const a = await run([...n.split(' '), '--help']);
      ok(a, `${n} --help`);
      assert.ok(a.stdout.startsWith(`usage: flightdeck ${n}`), `${n} --help: ${a.stdout}`);
      const b = await run(['help', ...n.split(' ')]);
      assert.equal(b.stdout, a.stdout, `help ${n}`);
      assert.match(a.stdout, /local database/);
    }
    const g = await run(['sessions', '--help']);
    ok(g, 'sessions --help');
    assert.match(g.stdout, /watch +follow a session/);
    const bare = await run(['sessions']);
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /usage: flightdeck sessions COMMAND/);
    const unknown = await run(['sessions', 'frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "sessions frobnicate"/);
    assert.equal((await run([])).code, 2);
    assert.equal((await run(['help', 'nope'])).code, 2);
  });

  it('sessions list: --json equals the API locally and remotely; --trigger, --since, table', async () => {
    const apiAns = noDuration((await api('GET', `/api/v1/sessions?agent=${AGENT}&trigger=schedule`)).json);
    const [l, r] = await both(['sessions', 'list', '--agent', AGENT, '--trigger', 'schedule', '--json']);
    ok(l, 'local');
    ok(r, 'remote');
    assert.deepEqual(noDuration(JSON.parse(l.stdout)), apiAns);
    assert.deepEqual(noDuration(JSON.parse(r.stdout)), apiAns);
    assert.deepEqual(apiAns.data.map((s) => s.id).sort(), [done, flow].sort());
    // --since: relative to now.
    const [s1, s2] = await both(['sessions', 'list', '--agent', AGENT, '--since', '1h', '--json']);
    assert.equal(JSON.parse(s1.stdout).data.length, 3);
    assert.equal(JSON.parse(s2.stdout).data.length, 3);
    // A table with the key facts.
    const [t1, t2] = await both(['sessions', 'list', '--agent', AGENT, '--status', 'completed']);
    for (const t of [t1, t2]) {
      ok(t, 'table');
      assert.match(t.stdout, /^ID +STATUS +AGENT/);
      assert.match(t.stdout, new RegExp(`${done} +completed +${AGENT}.*Done one`));
      assert.ok(!t.stdout.includes(live));
    }
    // Bad usage is exit 2 both ways, before anything is sent.
    for (const bad of [['--since', 'soon'], ['--status', 'bogus'], ['--frob', 'x'], ['--limit'], ['--since', '1h', '--start-after', '2020-01-01']]) {
      const [b1, b2] = await both(['sessions', 'list', ...bad]);
      assert.equal(b1.code, 2, `${bad}: ${b1.stderr}`);
      assert.equal(b2.code, 2, `${bad} remote: ${b2.stderr}`);
      assert.match(b1.stderr, /usage: flightdeck sessions list/);
    }
  });

  it('history list --kind workflow: the list filtered by kind, as the API answers', async () => {
    const apiAns = (await api('GET', `/api/v1/sessions?kind=workflow&agent=${AGENT}`)).json;
    const [l, r] = await both(['history', 'list', '--kind', 'workflow', '--agent', AGENT, '--json']);
    assert.deepEqual(JSON.parse(l.stdout), apiAns);
    assert.deepEqual(JSON.parse(r.stdout), apiAns);
    assert.deepEqual(apiAns.data.map((s) => s.id), [flow]);
    const [h1, h2] = await both(['history', 'list', '--kind', 'agent', '--agent', AGENT]);
    for (const h of [h1, h2]) {
      assert.match(h.stdout, new RegExp(done));
      assert.ok(!h.stdout.includes(flow));
    }
  });

  it('sessions get: human view with the conversation; --json equals the API; errors', async () => {
    const apiAns = (await api('GET', `/api/v1/sessions/${done}?include=messages,artifacts`)).json;
    const [l, r] = await both(['sessions', 'get', done, '--include', 'messages', '--include', 'artifacts', '--json']);
    assert.deepEqual(JSON.parse(l.stdout), apiAns);
    assert.deepEqual(JSON.parse(r.stdout), apiAns);
    const [h1, h2] = await both(['sessions', 'get', done, '--include', 'messages']);
    for (const h of [h1, h2]) {
      ok(h, 'get');
      assert.match(h.stdout, new RegExp(`^${done}  Done one`));
      assert.match(h.stdout, /status +completed/);
      assert.match(h.stdout, new RegExp(`agent +${AGENT} \\(agent\\)`));
      assert.match(h.stdout, /Conversation:/);
      assert.match(h.stdout, /user:\n  Hello there/);
      assert.match(h.stdout, /assistant:\n  General Kenobi\.\n  Second line\./);
    }
    assert.equal(h1.stdout, h2.stdout, 'the same view locally and remotely');
    const [e1, e2] = await both(['sessions', 'get', live, '--include', 'events']);
    assert.match(e1.stdout, /Activity:\n.*#1 +start by token:.*: pending -> running\n.*#2 +user: Summarize ticket 7\n/);
    assert.match(e2.stdout, /tool call approve_refund \(manual, m1\) \{"amount":12\}/);
    // Unknown session: 1, with the reason; remote gives the server's message and request id.
    const [n1, n2] = await both(['sessions', 'get', 'ses_nope']);
    assert.equal(n1.code, 1);
    assert.match(n1.stderr, /no session ses_nope/);
    assert.equal(n2.code, 1);
    assert.match(n2.stderr, /no session "ses_nope" \(HTTP 404 not_found, request [A-Za-z0-9]+\)/);
    const [u1, u2] = await both(['sessions', 'get', done, '--include', 'bogus']);
    assert.equal(u1.code, 2);
    assert.equal(u2.code, 2);
    assert.equal((await run(['sessions', 'get'])).code, 2);
    assert.equal((await run(['sessions', 'get', 'a', 'b'])).code, 2);
  });

  it('pause/resume/cancel/delete: a line per id, exit 1 if any failed; a viewer is refused with the server message', async () => {
    const s = (await createSession(srv, runtime, { agent: AGENT, name: 'act', status: 'running' })).id;
    // Viewer token: refused by the server.
    const v = await run(['sessions', 'pause', s], { token: viewer });
    assert.equal(v.code, 1);
    assert.match(v.stderr, new RegExp(`^${s}: failed: your role does not allow this.*\\(HTTP 403, request [A-Za-z0-9]+\\)`, 'm'));
    // Operator remote pause; local resume; remote cancel with an unknown id alongside.
    const p = await run(['sessions', 'pause', s], { token: operator });
    ok(p, 'pause');
    assert.equal(p.stdout, `${s}: ok, running -> paused\n`);
    const rs = await run(['sessions', 'resume', s, '--json']);
    ok(rs, 'resume');
    assert.deepEqual(JSON.parse(rs.stdout), { results: [{ id: s, ok: true, status: 'running', previous_status: 'paused' }], succeeded: 1, failed: 0 });
    const c = await run(['sessions', 'cancel', s, 'ses_nope'], { token: operator });
    assert.equal(c.code, 1);
    assert.match(c.stdout, new RegExp(`^${s}: ok, running -> canceled$`, 'm'));
    assert.match(c.stderr, /^ses_nope: failed: no session "ses_nope"/m);
    // Delete: operator may not (remote), a running one is refused (local), admin deletes (remote).
    const od = await run(['sessions', 'delete', s], { token: operator });
    assert.equal(od.code, 1);
    assert.match(od.stderr, /403/);
    const lr = await run(['sessions', 'delete', live]);
    assert.equal(lr.code, 1);
    assert.match(lr.stderr, /a running session cannot be deleted/);
    const d = await run(['sessions', 'delete', s], { token: admin });
    ok(d, 'delete');
    assert.equal(d.stdout, `${s}: ok, deleted\n`);
    assert.equal((await api('GET', `/api/v1/sessions/${s}`)).status, 404);
    const gone = await run(['sessions', 'delete', s]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no session/);
    assert.equal((await run(['sessions', 'pause'])).code, 2);
    assert.equal((await run(['sessions', 'pause', s, '--force'])).code, 2);
  });

  for (const mode of ['local', 'remote (admin, long-poll)', 'remote (viewer, polling)']) {
    it(`sessions watch follows a running session until it ends: ${mode}`, async () => {
      const s = (await createSession(srv, runtime, { agent: AGENT, name: `watch ${mode}` })).id;
      await append(srv, runtime, s, { id: 'w0', type: 'user_message', content: 'first words' });
      const token = mode.startsWith('local') ? undefined : mode.includes('viewer') ? viewer : admin;
      const env = { ...srv.env };
      if (token) Object.assign(env, { FLIGHTDECK_SERVER: srv.url, FLIGHTDECK_TOKEN: token });
      const p = spawn(srv.cliPath, ['sessions', 'watch', s], { cwd: srv.root, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (err += d));
      const exited = new Promise((r) => p.on('close', (code) => r(code)));
      const waitFor = async (re, ms = 5000) => {
        const end = Date.now() + ms;
        while (Date.now() < end) {
          if (re.test(out)) return;
          await sleep(50);
        }
        assert.fail(`no ${re} within ${ms} ms:\n${out}\n${err}`);
      };
      try {
        await waitFor(/user: first words/);
        await append(srv, runtime, s, { id: 'w1', type: 'thought', content: 'thinking hard' });
        await waitFor(/#\d+ +thought: thinking hard/);
        await append(srv, runtime, s, { id: 'w2', type: 'error', message: 'disk almost full', step: 'save' });
        await waitFor(/error: disk almost full at save/);
        await append(srv, runtime, s, { id: 'w3', type: 'status', status: 'completed', response: 'all done' });
        const code = await Promise.race([exited, sleep(8000).then(() => 'timeout')]);
        assert.equal(code, 0, `exit ${code}\n${out}\n${err}`);
        assert.match(out, /#\d+ +complete by token:\S+: running -> completed\n.*#\d+ +assistant: all done\n/);
        assert.match(out, new RegExp(`Session ${s} ended: completed\\.\\n$`));
        // Each entry once, in order.
        const lines = out.trim().split('\n');
        assert.equal(lines.filter((l) => /thinking hard/.test(l)).length, 1);
        assert.ok(lines.findIndex((l) => /first words/.test(l)) < lines.findIndex((l) => /thinking hard/.test(l)));
      } finally {
        if (p.exitCode === null) p.kill('SIGKILL');
      }
    });
  }

  it('sessions watch: --json lines; an ended session prints and exits at once; unknown id exits 1', async () => {
    const [l, r] = await both(['sessions', 'watch', done, '--json']);
    for (const w of [l, r]) {
      ok(w, 'watch ended');
      const lines = w.stdout.trim().split('\n').map((x) => JSON.parse(x));
      assert.deepEqual(lines.at(-1), { session_id: done, status: 'completed', ended: true });
      assert.deepEqual(lines.slice(0, -1).map((e) => e.type).filter((t) => t !== 'lifecycle'), ['user_message', 'assistant_message', 'assistant_message']);
      assert.deepEqual(lines.slice(0, -1), (await api('GET', `/api/v1/sessions/${done}/events`)).json.data);
    }
    const [n1, n2] = await both(['sessions', 'watch', 'ses_nope']);
    assert.equal(n1.code, 1);
    assert.equal(n2.code, 1);
    assert.match(n2.stderr, /HTTP 404/);
  });

  it('tasks list and complete, local and remote, as the API answers', async () => {
    const apiAns = (await api('GET', '/api/v1/tasks')).json;
    const [l, r] = await both(['tasks', 'list', '--json']);
    assert.deepEqual(JSON.parse(l.stdout), apiAns);
    assert.deepEqual(JSON.parse(r.stdout), apiAns);
    const [t1, t2] = await both(['tasks', 'list']);
    for (const t of [t1, t2]) assert.match(t.stdout, new RegExp(`^${taskId} +${live} +approve_refund .*\\{"amount":12\\}`, 'm'));
    // A viewer may not complete it.
    const v = await run(['tasks', 'complete', String(taskId), '--result', '{"ok":true}'], { token: viewer });
    assert.equal(v.code, 1);
    assert.match(v.stderr, /HTTP 403/);
    // Bad usage.
    for (const bad of [['abc'], [String(taskId), '--result', '{nope'], [String(taskId), '--result', '1', '--reject', 'x'], []]) {
      const b = await run(['tasks', 'complete', ...bad]);
      assert.equal(b.code, 2, `${bad}: ${b.stderr}`);
    }
    // Remote complete with a result.
    const c = await run(['tasks', 'complete', String(taskId), '--result', '{"approved":true}', '--json'], { token: operator });
    ok(c, 'complete');
    assert.deepEqual(JSON.parse(c.stdout), { id: taskId, session_id: live, state: 'succeeded', session_status: 'running' });
    // Again: no longer waiting (the server's 409), and locally too.
    const again = await both(['tasks', 'complete', String(taskId)]);
    for (const a of again) assert.equal(a.code, 1, a.stderr);
    // A second task, rejected locally.
    await append(srv, runtime, live, { id: 'l4', type: 'tool_call', tool_call_id: 'm2', tool: 'review_draft', kind: 'manual', arguments: {} });
    const t = (await api('GET', '/api/v1/tasks')).json.data.find((x) => x.tool_call_id === 'm2');
    const rj = await run(['tasks', 'complete', String(t.id), '--reject', 'not today']);
    ok(rj, 'reject');
    assert.equal(rj.stdout, `Task ${t.id} rejected; session ${live} is running.\n`);
    const ev = (await api('GET', `/api/v1/sessions/${live}/events?type=tool_result`)).json.data.at(-1);
    assert.equal(ev.data.error.message, 'not today');
    assert.equal((await run(['tasks', 'complete', '999999'])).code, 1);
  });

  it('artifacts list and get: the API list, the raw bytes to stdout or -o FILE', async () => {
    const apiAns = (await api('GET', `/api/v1/sessions/${done}/artifacts`)).json;
    const [l, r] = await both(['artifacts', 'list', done, '--json']);
    assert.deepEqual(JSON.parse(l.stdout), apiAns);
    assert.deepEqual(JSON.parse(r.stdout), apiAns);
    const [h1, h2] = await both(['artifacts', 'list', done]);
    for (const h of [h1, h2]) assert.match(h.stdout, new RegExp(`${artId} +blob\\.bin +application/octet-stream +10 B +uploaded`));
    const [g1, g2] = await both(['artifacts', 'get', done, artId]);
    assert.deepEqual(g1.raw, artBytes);
    assert.deepEqual(g2.raw, artBytes);
    for (const [i, token] of [[1, undefined], [2, viewer]]) {
      const f = path.join(srv.varDir, `art-${i}.bin`);
      const o = await run(['artifacts', 'get', done, artId, '-o', f], { token });
      ok(o, '-o');
      assert.equal(o.stdout, '');
      assert.deepEqual(fs.readFileSync(f), artBytes);
    }
    const [n1, n2] = await both(['artifacts', 'get', done, 'art_nope']);
    assert.equal(n1.code, 1);
    assert.match(n1.stderr, /no artifact art_nope/);
    assert.equal(n2.code, 1);
    assert.match(n2.stderr, /HTTP 404/);
    const [m1, m2] = await both(['artifacts', 'list', 'ses_nope']);
    assert.equal(m1.code, 1);
    assert.equal(m2.code, 1);
    assert.equal((await run(['artifacts', 'list', done, '--limit', '0'])).code, 2);
    assert.equal((await run(['artifacts', 'get', done])).code, 2);
  });

  it('report get: md (default), json and html as the API serves them', async () => {
    for (const fmt of ['md', 'html']) {
      const apiText = (await srv.api('GET', `/api/v1/sessions/${done}/report?format=${fmt}`, { token: admin })).text;
      const [l, r] = await both(['report', 'get', done, ...(fmt === 'md' ? [] : ['--format', fmt])]);
      assert.equal(l.stdout, apiText, `${fmt} local`);
      assert.equal(r.stdout, apiText, `${fmt} remote`);
    }
    const apiJson = (await api('GET', `/api/v1/sessions/${done}/report`)).json;
    const [j1, j2] = await both(['report', 'get', done, '--json']);
    assert.deepEqual(JSON.parse(j1.stdout), apiJson);
    assert.deepEqual(JSON.parse(j2.stdout), apiJson);
    assert.match(j1.stdout, /Ticket report/);
    const [n1, n2] = await both(['report', 'get', flow]);
    assert.equal(n1.code, 1);
    assert.match(n1.stderr, /has no report/);
    assert.equal(n2.code, 1);
    assert.match(n2.stderr, /no_report/);
    assert.equal((await run(['report', 'get', done, '--format', 'pdf'])).code, 2);
  });

  it('remote errors: network failure, bad URL, no token; admin and db commands are local only', async () => {
    const net = await run(['--server', 'http://127.0.0.1:1', 'sessions', 'list'], { env: { FLIGHTDECK_TOKEN: admin } });
    assert.equal(net.code, 1);
    assert.match(net.stderr, /cannot reach http:\/\/127\.0\.0\.1:1/);
    const bad = await run(['sessions', 'list', '--server', 'ftp://127.0.0.1/'], { env: { FLIGHTDECK_TOKEN: admin } });
    assert.equal(bad.code, 2);
    const creds = await run(['sessions', 'list', '--server', `http://u:p@127.0.0.1:${srv.port}`], { env: { FLIGHTDECK_TOKEN: admin } });
    assert.equal(creds.code, 2);
    const noTok = await run(['--server', srv.url, 'sessions', 'list']);
    assert.equal(noTok.code, 2);
    assert.match(noTok.stderr, /FLIGHTDECK_TOKEN/);
    const badTok = await run(['sessions', 'list'], { token: 'not-a-token' });
    assert.equal(badTok.code, 1);
    assert.match(badTok.stderr, /HTTP 401/);
    for (const cmd of [['token', 'list'], ['db', 'backup', '/tmp/x.db'], ['user', 'list'], ['db', 'migrate']]) {
      const r = await run(['--server', srv.url, ...cmd], { env: { FLIGHTDECK_TOKEN: admin } });
      assert.equal(r.code, 2, cmd.join(' '));
      assert.match(r.stderr, /works on the local database only/);
    }
    // FLIGHTDECK_SERVER in the environment does not move admin commands off the local database.
    const tl = await run(['token', 'list', '--json'], { token: admin });
    ok(tl, 'token list with FLIGHTDECK_SERVER set');
    assert.ok(JSON.parse(tl.stdout).length >= 4);
    // --db wins over FLIGHTDECK_SERVER.
    const dbw = await run(['--db', srv.dbPath, 'sessions', 'list', '--agent', AGENT, '--json'], { token: 'not-a-token' });
    ok(dbw, '--db over FLIGHTDECK_SERVER');
    assert.equal((await run(['--db', srv.dbPath, '--server', srv.url, 'sessions', 'list'])).code, 2);
  });

  it('db backup: a consistent copy of a database being written to; refuses to overwrite without --force', async () => {
    // Writers: sessions and events arriving while the backup runs.
    let stop = false;
    let written = 0;
    const writer = (async () => {
      while (!stop) {
        const s = await createSession(srv, runtime, { agent: `${AGENT}-bk`, status: 'running' });
        await append(srv, runtime, s.id, { events: Array.from({ length: 20 }, (_, i) => ({ id: `b${i}`, type: 'thought', content: `t${i}` })) });
        written++;
      }
    })();
    const file = path.join(srv.varDir, 'backup.db');
    try {
      await sleep(300);
      const b = await run(['db', 'backup', file]);
      ok(b, 'backup');
      assert.match(b.stdout, /^Backed up .* to .*backup\.db \(\d+ pages, schema version \d+\)\.\n$/);
      await sleep(300);
    } finally {
      stop = true;
      await writer;
    }
    assert.ok(written > 0);
    const q = (db, sqlText) => execFileSync('sqlite3', ['-readonly', db, sqlText], { encoding: 'utf8' }).trim();
    assert.equal(q(file, 'PRAGMA integrity_check'), 'ok');
    assert.equal(q(file, 'PRAGMA journal_mode'), 'delete');
    assert.ok(!fs.existsSync(`${file}-wal`));
    // A snapshot: every copied session has all of a batch's events or none (batches are atomic).
    const counts = (db) => q(db, `SELECT DISTINCT (SELECT count(*) FROM events e WHERE e.session_id = s.id) FROM sessions s WHERE agent = '${AGENT}-bk'`).split('\n').map(Number);
    const hi = Math.max(...counts(srv.dbPath)); // every batch written by now
    for (const n of counts(file)) assert.ok(n === hi || n === hi - 20, `a session with ${n} events in the copy: ${counts(file)} live: ${counts(srv.dbPath)}`);
    const copied = Number(q(file, 'SELECT count(*) FROM sessions'));
    const liveCount = Number(q(srv.dbPath, 'SELECT count(*) FROM sessions'));
    assert.ok(copied > 0 && copied <= liveCount, `${copied} <= ${liveCount}`);
    assert.equal(q(file, 'SELECT count(*) FROM schema_migrations') !== '', true);
    // The CLI reads the copy like any database.
    const fromCopy = await run(['--db', file, 'sessions', 'get', done, '--json']);
    ok(fromCopy, 'read the copy');
    assert.equal(JSON.parse(fromCopy.stdout).id, done);
    // Overwrite: refused, then --force.
    const again = await run(['db', 'backup', file]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists; add --force/);
    const forced = await run(['db', 'backup', file, '--force']);
    ok(forced, '--force');
    assert.equal(Number(q(file, 'SELECT count(*) FROM sessions')), Number(q(srv.dbPath, 'SELECT count(*) FROM sessions')));
    const self = await run(['db', 'backup', srv.dbPath, '--force']);
    assert.equal(self.code, 1);
    assert.match(self.stderr, /the database itself/);
    assert.equal((await run(['db', 'backup'])).code, 2);
    assert.deepEqual(fs.readdirSync(srv.varDir).filter((n) => n.includes('.tmp-')), []);
  });
});
