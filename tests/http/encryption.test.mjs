// Encryption at rest (issue 11, docs/encryption.md): with
// FLIGHTDECK_ENCRYPT_PAYLOADS=1, event payloads, tool arguments and
// results, artifacts, reports, logs, spans, eval results and the session's
// prompt, inputs, user data, final response and error are sealed in the
// database file; every read (API, pages, CLI) opens them; the database and
// its WAL never hold one of them in clear; search covers only names,
// agents, tools and error categories, and the History page says so;
// deleting a session leaves nothing of it; `db rotate-key` re-encrypts
// under a running server; the key file is 0600 and a loose one is refused.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { startServer } from '../lib/server.mjs';
import { createSession, append, sleep } from '../lib/fixtures.mjs';
import { agentTrace, traceRequest } from '../lib/otlp.mjs';

const tag = crypto.randomBytes(4).toString('hex');
// One marker per place a payload is stored; each must never be in clear on disk.
const M = Object.fromEntries(
  ['prompt', 'input', 'userdata', 'message', 'thought', 'args', 'secret', 'result', 'errmsg', 'final',
    'log', 'artifact', 'report', 'evalres', 'span', 'sesserr'].map((k) => [k, `zq${k}${tag}`]),
);

describe('encryption at rest', () => {
  let srv, runtime, admin, web, sid, failedId, keyFile;
  const q = (s) => execFileSync('sqlite3', ['-cmd', '.timeout 5000', srv.dbPath, s], { encoding: 'utf8' }).trim();
  const fileHolds = (file, s) => fs.existsSync(file) && fs.readFileSync(file).includes(Buffer.from(s));
  const onDisk = (s) => [srv.dbPath, `${srv.dbPath}-wal`].filter((f) => fileHolds(f, s));
  const assertNothingInClear = (label) => {
    for (const [k, m] of Object.entries(M)) assert.deepEqual(onDisk(m), [], `${label}: ${k} in clear`);
  };
  const P = (id) => `/api/v1/sessions/${id}`;

  before(async () => {
    srv = await startServer({ env: { FLIGHTDECK_ENCRYPT_PAYLOADS: '1' } });
    keyFile = `${srv.dbPath}.key`;
    runtime = await srv.token('runtime');
    admin = await srv.token('admin');
    web = await srv.login('admin', srv.adminPassword);

    const s = await createSession(srv, runtime, {
      agent: `vault-agent-${tag}`, name: `Vault run ${tag}`, status: 'running',
      prompt: `Summarize ${M.prompt}`, inputs: { ticket: M.input }, user_data: { note: M.userdata },
    });
    sid = s.id;
    await append(srv, runtime, sid, { events: [
      { id: 'e1', type: 'user_message', content: `hello ${M.message}` },
      { id: 'e2', type: 'thought', content: `thinking ${M.thought}` },
      { id: 'e3', type: 'tool_call', tool_call_id: 'c1', tool: `lookup_${tag}`, kind: 'server',
        arguments: { q: M.args, token: { $secret: M.secret } } },
      { id: 'e4', type: 'tool_result', tool_call_id: 'c1', result: { found: M.result } },
      { id: 'e5', type: 'tool_call', tool_call_id: 'c2', tool: 'fetch_page', kind: 'server', arguments: { url: 'x' } },
      { id: 'e6', type: 'tool_result', tool_call_id: 'c2', error: { category: `quotaexceeded${tag}`, message: M.errmsg } },
      { id: 'e7', type: 'log', severity: 'warn', body: `log line ${M.log}` },
      { id: 'e8', type: 'span', trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16), name: 'step',
        start: Date.now() - 1000, end: Date.now(), attributes: { detail: M.span } },
      { id: 'e9', type: 'status', status: 'completed', response: `answer ${M.final}` },
    ] });
    const art = await srv.api('POST', `${P(sid)}/artifacts`, { token: runtime,
      json: { name: 'notes.txt', media_type: 'text/plain', content_base64: Buffer.from(`artifact ${M.artifact}`).toString('base64') } });
    assert.equal(art.status, 201, art.text);
    const rep = await srv.api('PUT', `${P(sid)}/report`, { token: runtime, json: { title: 'Report', summary: `report ${M.report}` } });
    assert.equal(rep.status, 200, rep.text);
    const ev = await srv.api('POST', `${P(sid)}/evals`, { token: runtime, json: { eval_id: 'accuracy', state: 'success', result: { why: M.evalres } } });
    assert.equal(ev.status, 201, ev.text);

    const f = await createSession(srv, runtime, { agent: `vault-agent-${tag}`, name: `Failing ${tag}`, status: 'running' });
    failedId = f.id;
    await append(srv, runtime, failedId, { type: 'status', status: 'failed', error: `boom ${M.sesserr}`, step: 'deploy' });
  });
  after(async () => { await srv?.stop(); });

  it('creates the key file at first start with mode 0600', () => {
    const st = fs.statSync(keyFile);
    assert.equal(st.mode & 0o777, 0o600);
    const keys = fs.readFileSync(keyFile, 'utf8').split('\n').filter((l) => l.startsWith('key '));
    assert.equal(keys.length, 1);
    assert.match(keys[0], /^key 1 [0-9a-f]{64}$/);
  });

  it('reads every payload back in clear: API, pages, downloads, CLI', async () => {
    const s = await srv.api('GET', `${P(sid)}?include=events,trace,logs,artifacts,evals,user_data`, { token: admin });
    assert.equal(s.status, 200, s.text);
    for (const k of ['prompt', 'input', 'message', 'thought', 'args', 'result', 'errmsg', 'final', 'log', 'span', 'evalres'])
      assert.ok(s.text.includes(M[k]), `API session: ${k}`);
    assert.ok(!s.text.includes(M.secret), 'secrets stay masked');
    const clientArgs = q(`SELECT count(*) FROM tool_call_secrets WHERE session_id = '${sid}' AND typeof(arguments) = 'blob'`);
    assert.equal(clientArgs, '1', 'the unmasked secret is stored sealed');
    const arts = await srv.api('GET', `${P(sid)}/artifacts`, { token: admin });
    const aid = arts.json.data[0].id;
    const dl = await srv.fetch(`${P(sid)}/artifacts/${aid}/download`, { headers: { authorization: `Bearer ${admin}` } });
    assert.equal(Buffer.from(await dl.arrayBuffer()).toString(), `artifact ${M.artifact}`);
    const rep = await srv.api('GET', `${P(sid)}/report?format=md`, { token: admin });
    assert.ok(rep.text.includes(M.report), 'report');
    const f = await srv.api('GET', P(failedId), { token: admin });
    assert.equal(f.json.error, `boom ${M.sesserr}`);

    const pages = {
      'tab=summary': ['prompt', 'final'],
      'tab=activity': ['message', 'thought', 'args', 'result', 'errmsg'],
      'tab=logs': ['log'],
      'tab=report': ['report'],
      'tab=evals': ['evalres'],
      'tab=trace': ['span'],
    };
    for (const [qs, keys] of Object.entries(pages)) {
      const r = await web.get(`/sessions/${sid}?${qs}`);
      assert.equal(r.status, 200, qs);
      for (const k of keys) assert.ok(r.text.includes(M[k]), `page ${qs}: ${k}`);
    }
    // A read-only share link shows it too.
    const csrf = await web.csrf(`/sessions/${sid}`);
    const sh = await web.post(`/sessions/${sid}/share`, { csrf, expires: '24h', return_to: `/sessions/${sid}` });
    assert.equal(sh.status, 303);
    const withLink = await web.get(`/sessions/${sid}`);
    const link = withLink.text.match(/\/share\/([0-9]+\.[0-9]+\.[A-Za-z0-9_-]+)/)[1];
    const shared = await srv.client().get(`/share/${link}?tab=activity`);
    assert.equal(shared.status, 200);
    assert.ok(shared.text.includes(M.message) && shared.text.includes(M.args), 'share link');
    const md = await srv.client().get(`/share/${link}/report?format=md`);
    assert.ok(md.text.includes(M.report), 'shared report download');
    const list = await web.get(`/sessions?agent=vault-agent-${tag}`);
    assert.ok(list.text.includes(`Failing ${tag}`));

    const cli = await srv.cli(['sessions', 'get', sid, '--json']);
    assert.ok(cli.stdout.includes(M.prompt), 'CLI');
  });

  it('holds no payload in clear in the database file or its WAL, running and after a checkpoint', async () => {
    // The raw columns are sealed BLOBs (marker 0xFD 'SL1').
    assert.equal(q(`SELECT hex(substr(body, 1, 4)) FROM events WHERE session_id = '${sid}' AND seq = 1`), 'FD534C31');
    assert.equal(q(`SELECT typeof(report) || typeof(prompt) || typeof(final_response) FROM sessions WHERE id = '${sid}'`), 'blobblobblob');
    assertNothingInClear('running');
    q('PRAGMA wal_checkpoint(TRUNCATE)');
    assertNothingInClear('after a checkpoint');
    // The search index holds none of it either (it is in the same file), and
    // a tool name, the agent and an error category are there to be found.
    assert.equal(q(`SELECT count(*) FROM search_events WHERE search_events MATCH '"${M.message}"'`), '0');
  });

  it('seals what OpenTelemetry brings (spans as received, messages, prompt) and reads it back', async () => {
    const t = agentTrace('e1', { conv: `conv-enc-${tag}` });
    const res = await srv.fetch('/v1/traces', { method: 'POST',
      headers: { authorization: `Bearer ${runtime}`, 'content-type': 'application/json' },
      body: JSON.stringify(traceRequest(t.spans)) });
    assert.equal(res.status, 200, await res.text());
    const id = `conv_conv-enc-${tag}`;
    const s = await srv.api('GET', `${P(id)}?include=events,trace`, { token: admin });
    assert.equal(s.status, 200, s.text);
    for (const text of [t.question, t.answer, 'You are a travel assistant.', 'temp_c'])
      assert.ok(s.text.includes(text), `API: ${text}`);
    const page = await web.get(`/sessions/${id}?tab=trace`);
    assert.ok(page.text.includes('gen_ai.output.messages') && page.text.includes('sunny'), 'the trace view');
    const clear = [t.question, t.answer, 'You are a travel assistant.', 'I should look up the weather.'];
    for (const text of clear) assert.deepEqual(onDisk(text), [], `running: ${text}`);
    q('PRAGMA wal_checkpoint(TRUNCATE)');
    for (const text of clear) assert.deepEqual(onDisk(text), [], `after a checkpoint: ${text}`);
    assert.equal(q(`SELECT count(*) FROM spans WHERE session_id = '${id}' AND (typeof(raw) <> 'blob' OR typeof(attributes) <> 'blob')`), '0');
  });

  it('searches names, agents, tools and error categories only, and the search box says so', async () => {
    const find = async (text) => {
      const r = await srv.api('GET', `/api/v1/sessions?q=${encodeURIComponent(text)}&limit=50`, { token: admin });
      assert.equal(r.status, 200, r.text);
      return r.json.data.map((x) => x.id);
    };
    assert.ok((await find(`vault-agent-${tag}`)).includes(sid), 'by agent');
    assert.ok((await find(`Vault run ${tag}`)).includes(sid), 'by name');
    assert.ok((await find(`lookup_${tag}`)).includes(sid), 'by tool');
    assert.ok((await find(`quotaexceeded${tag}`)).includes(sid), 'by error category');
    for (const k of ['message', 'thought', 'args', 'result', 'errmsg', 'prompt', 'final'])
      assert.deepEqual(await find(M[k]), [], `not by payload: ${k}`);
    const page = await web.get('/sessions');
    assert.match(page.text, /Search covers names, agents, tools and error categories/);
    assert.match(page.text, /placeholder="Search names, agents, tools, error categories/);
  });

  it('rotate-key re-encrypts under a running server; the old key leaves the file', async () => {
    const before = fs.readFileSync(keyFile, 'utf8');
    const beforeKeys = before.split('\n').filter((l) => l.startsWith('key '));
    // A runtime keeps writing during the rotation.
    let stop = false;
    let written = 0;
    const w = await createSession(srv, runtime, { agent: `vault-agent-${tag}`, name: 'writer', status: 'running' });
    const writer = (async () => {
      while (!stop) {
        await append(srv, runtime, w.id, { type: 'thought', content: `during rotation ${written}` });
        written++;
        await sleep(20);
      }
    })();
    const r = await srv.cli(['db', 'rotate-key']);
    stop = true;
    await writer;
    assert.match(r.stdout, /Key 2 now seals every value \(\d+ rows re-encrypted, search index rebuilt\)\. Dropped key 1 from /);
    assert.match(r.stdout, /events\s+\d+ rows re-encrypted/);
    const after = fs.readFileSync(keyFile, 'utf8');
    const afterKeys = after.split('\n').filter((l) => l.startsWith('key '));
    assert.notEqual(after, before);
    assert.equal(afterKeys.length, 1);
    assert.match(afterKeys[0], /^key 2 [0-9a-f]{64}$/);
    assert.ok(!after.includes(beforeKeys[0].split(' ')[2]), 'the old key is gone from the file');
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
    // No value is sealed with key 1 any more, in any sealed column.
    const old = "hex(substr(%, 6, 4)) = '00000001'";
    const cols = { sessions: ['prompt', 'inputs', 'user_data', 'final_response', 'error_message', 'report'], events: ['body'],
      tool_calls: ['arguments', 'result', 'error_message'], tool_call_secrets: ['arguments'], artifacts: ['content'],
      spans: ['attributes', 'raw'], logs: ['body'], eval_runs: ['result'], audit: ['detail'] };
    for (const [t, cs] of Object.entries(cols)) {
      const where = cs.map((c) => `(typeof(${c}) = 'blob' AND ${old.replace('%', c)})`).join(' OR ');
      assert.equal(q(`SELECT count(*) FROM ${t} WHERE ${where}`), '0', `${t} under key 1`);
    }
    assert.ok(Number(q("SELECT count(*) FROM events WHERE hex(substr(body, 6, 4)) = '00000002'")) > 10);
    // Everything still reads, through the running server (which learns of the new key by itself).
    const s = await srv.api('GET', `${P(sid)}?include=events,logs,evals`, { token: admin });
    assert.equal(s.status, 200, s.text);
    for (const k of ['prompt', 'message', 'args', 'result', 'final', 'log', 'evalres']) assert.ok(s.text.includes(M[k]), k);
    const ws = await srv.api('GET', `${P(w.id)}/events?limit=1000`, { token: admin });
    assert.equal(ws.json.data.filter((e) => e.type === 'thought').length, written, 'every event written during the rotation reads');
    const page = await web.get(`/sessions/${sid}?tab=activity`);
    assert.ok(page.text.includes(M.args));
    // Run again: a rotation to key 3.
    const again = await srv.cli(['db', 'rotate-key']);
    assert.match(again.stdout, /Key 3 now seals every value/);
    assertNothingInClear('after rotations');
  });

  it('finishes an interrupted rotation when run again', async () => {
    const cur = fs.readFileSync(keyFile, 'utf8').split('\n').find((l) => l.startsWith('key '));
    const id = Number(cur.split(' ')[1]);
    // Killed (SIGKILL) once it wrote the new key, before it dropped the old one.
    const keyLines = () => fs.readFileSync(keyFile, 'utf8').split('\n').filter((l) => l.startsWith('key ')).length;
    const p = spawn(srv.cliPath, ['db', 'rotate-key'], { cwd: srv.root, env: srv.env, stdio: 'ignore' });
    const exited = new Promise((resolve) => p.on('close', (code, signal) => resolve(signal)));
    for (let i = 0; i < 1000 && keyLines() < 2; i++) await sleep(10);
    p.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    const between = fs.readFileSync(keyFile, 'utf8').split('\n').filter((l) => l.startsWith('key '));
    assert.equal(between.length, 2, 'both keys are in the file');
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
    // Everything reads meanwhile, and new values are sealed with the new key.
    await append(srv, runtime, sid, { type: 'thought', content: `between ${tag}` });
    const mid = await srv.api('GET', `${P(sid)}?include=events`, { token: admin });
    assert.ok(mid.text.includes(M.message) && mid.text.includes(`between ${tag}`));
    const r = await srv.cli(['db', 'rotate-key']);
    assert.match(r.stderr, /holds 2 keys .*: finishing the rotation to key \d+, no new key/);
    assert.match(r.stdout, new RegExp(`Key ${id + 1} now seals every value .*Dropped key ${id} `));
    assert.equal(fs.readFileSync(keyFile, 'utf8').split('\n').filter((l) => l.startsWith('key ')).length, 1);
    const s = await srv.api('GET', `${P(sid)}?include=events`, { token: admin });
    assert.ok(s.text.includes(M.message));
  });

  it('a backup carries its keys; restoring it brings them back to the key file', async () => {
    const file = path.join(srv.varDir, 'sealed-backup.db');
    const b = await srv.cli(['db', 'backup', file]);
    assert.match(b.stdout, /Its encryption keys are in .*sealed-backup\.db\.key \(mode 0600\)/);
    assert.equal(fs.statSync(`${file}.key`).mode & 0o777, 0o600);
    for (const m of Object.values(M)) assert.ok(!fs.readFileSync(file).includes(Buffer.from(m)), 'the backup is sealed too');
    // The copy reads with its own key file (found beside it by default).
    const fromCopy = await srv.cli(['--db', file, 'sessions', 'get', sid, '--json']);
    assert.ok(fromCopy.stdout.includes(M.prompt));
    // A rotation drops the backup's key from the live file; restoring the
    // backup adds it back, and the running server reads the restored content.
    await srv.cli(['db', 'rotate-key']);
    const backupKey = fs.readFileSync(`${file}.key`, 'utf8').split('\n').find((l) => l.startsWith('key '));
    assert.ok(!fs.readFileSync(keyFile, 'utf8').includes(backupKey));
    const r = await srv.cli(['db', 'restore', file, '--force']);
    assert.match(r.stdout, /^Restored /);
    assert.ok(fs.readFileSync(keyFile, 'utf8').includes(backupKey), 'the backup key joined the key file');
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
    const s = await srv.api('GET', `${P(sid)}?include=events`, { token: admin });
    assert.equal(s.status, 200, s.text);
    assert.ok(s.text.includes(M.message));
  });

  it('deleting a session leaves nothing of it in the file', async () => {
    const name = `DelMe-${tag}-Zz`;
    const d = await createSession(srv, runtime, { agent: 'vault-del', name, status: 'running', prompt: `gone ${tag}` });
    await append(srv, runtime, d.id, { events: [
      { type: 'user_message', content: `del ${M.message}` },
      { type: 'status', status: 'completed' },
    ] });
    q('PRAGMA wal_checkpoint(TRUNCATE)');
    assert.deepEqual(onDisk(name), [srv.dbPath], 'the name is stored in clear before');
    // Some WAL frames hold the session's pages as they were.
    await append(srv, runtime, sid, { type: 'thought', content: 'unrelated write' });
    const del = await srv.api('DELETE', P(d.id), { token: admin });
    assert.equal(del.status, 204);
    // Without any help: secure_delete zeroed its row, and the server's
    // background thread truncates the WAL that held the old page images.
    let left = onDisk(name);
    for (let i = 0; i < 100 && left.length; i++) {
      await sleep(100);
      left = onDisk(name);
    }
    assert.deepEqual(left, [], 'nothing of the deleted session is left in the database or its WAL');
    assertNothingInClear('after the delete');

    // One event: its clear parts (the runtime's idempotency key) go too.
    const key = `DelEvt-${tag}-Kk`;
    const ack = await append(srv, runtime, sid, { id: key, type: 'thought', content: `one event ${tag}` });
    const eid = ack.events[0].id;
    q('PRAGMA wal_checkpoint(TRUNCATE)');
    assert.deepEqual(onDisk(key), [srv.dbPath]);
    const de = await srv.api('DELETE', `${P(sid)}/events/${eid}`, { token: admin });
    assert.equal(de.status, 204, de.text);
    left = onDisk(key);
    for (let i = 0; i < 100 && left.length; i++) {
      await sleep(100);
      left = onDisk(key);
    }
    assert.deepEqual(left, [], 'nothing of the deleted event is left');
  });

  it('refuses a key file open to others, or a malformed one', async () => {
    const loose = path.join(srv.varDir, 'loose.key');
    fs.copyFileSync(keyFile, loose);
    fs.chmodSync(loose, 0o644);
    const r = await srv.cli(['sessions', 'list'], { allowFail: true, env: { FLIGHTDECK_KEY_FILE: loose } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /open to group or others \(mode 0644\)/);
    const bad = path.join(srv.varDir, 'bad.key');
    fs.writeFileSync(bad, 'key 1 nothex\n', { mode: 0o600 });
    const b = await srv.cli(['sessions', 'list'], { allowFail: true, env: { FLIGHTDECK_KEY_FILE: bad } });
    assert.equal(b.code, 1);
    assert.match(b.stderr, /line 1 is malformed/);
    // The server refuses to start with it too.
    await assert.rejects(startServer({ env: { FLIGHTDECK_ENCRYPT_PAYLOADS: '1', FLIGHTDECK_KEY_FILE: loose }, timeoutMs: 8000 }));
    // With encryption off, a server still reads what was sealed (the key file is there).
    const ro = await srv.cli(['sessions', 'get', sid, '--json'], { env: { FLIGHTDECK_ENCRYPT_PAYLOADS: '0' } });
    assert.ok(ro.stdout.includes(M.prompt));
  });
});
