// Secrets (issue 7): a runtime marks a value secret as {"$secret": value}
// anywhere in what it sends. Everything stored for display and search holds
// "****" instead; only the arguments of a tool call are kept unmasked, apart
// (tool_call_secrets), and only GET .../client-tool-calls (permission input)
// returns them. This test sends a secret in every kind of field, then reads
// every page tab, API answer and table it can think of.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startServer } from '../lib/server.mjs';
import { createSession, append, sql, q } from '../lib/fixtures.mjs';

const S = (n) => `S3CR3T_${n}_q9x`; // every secret value is unique and greppable
const ANY = /S3CR3T_/;

function dump(srv, tables) {
  const args = ['-readonly', '-cmd', '.timeout 5000', srv.dbPath, `.dump ${tables || ''}`.trim()];
  return execFileSync('sqlite3', args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
}

describe('secrets are masked everywhere but client-tool-calls', () => {
  let srv, runtime, viewer, operator, admin, web, sid, child, clientCalls;
  const P = (id = sid) => `/api/v1/sessions/${encodeURIComponent(id)}`;
  const secret = (n) => ({ $secret: S(n) });

  before(async () => {
    srv = await startServer();
    runtime = await srv.token('runtime');
    viewer = await srv.token('viewer');
    operator = await srv.token('operator');
    admin = await srv.token('admin');
    web = await srv.login('admin', srv.adminPassword);

    const s = await createSession(srv, runtime, {
      agent: 'vault-bot',
      name: secret('name'),
      prompt: secret('prompt'),
      inputs: { api_key: secret('input'), nested: [{ deep: secret('input_deep') }] },
      metadata: { team: 'ops', token: secret('meta') },
      user_data: { pw: secret('user_data') },
    });
    sid = s.id;
    assert.equal(s.name, '****');
    assert.deepEqual(s.metadata, { team: 'ops', token: '****' });
    child = (await createSession(srv, runtime, { agent: 'vault-child', parent_session_id: sid, metadata: { k: secret('child_meta') } })).id;

    const r = await append(srv, runtime, sid, {
      events: [
        { type: 'user_message', content: secret('user_msg') },
        { type: 'thought', content: secret('thought') },
        { type: 'tool_call', tool_call_id: 'srv1', tool: 'db_query', kind: 'server', arguments: { dsn: secret('server_args'), sql: 'select 1' } },
        { type: 'tool_result', tool_call_id: 'srv1', result: { rows: [secret('server_result')] } },
        { type: 'tool_call', tool_call_id: 'cli1', tool: 'browser_login', kind: 'client', arguments: { user: 'amy', password: secret('client_args'), list: [secret('client_args_list')] } },
        { type: 'tool_call', tool_call_id: 'cli2', tool: 'open', kind: 'client', arguments: secret('client_args_whole') },
        { type: 'tool_call', tool_call_id: 'man1', tool: 'approve', kind: 'manual', arguments: { code: secret('manual_args') } },
        { type: 'tool_call', tool_call_id: 'fail1', tool: 'fetch', kind: 'server', arguments: {} },
        { type: 'tool_result', tool_call_id: 'fail1', error: { category: 'http', message: secret('tool_error') } },
        { type: 'error', message: secret('error_event'), step: 'login' },
        { type: 'log', severity: 'warn', body: secret('log_event') },
        { type: 'span', trace_id: 't', span_id: 's1', name: 'login', start: 1700000000000, end: 1700000000100, attributes: { auth: secret('span_attr') } },
        { type: 'assistant_message', content: secret('assistant') },
        { type: 'usage', model: 'gpt', prompt_tokens: 1, completion_tokens: 1, cost: 0.001 },
      ],
    });
    assert.equal(r.accepted, 14);
    // A log line over the logs endpoint, and a client tool result.
    const l = await srv.api('POST', `${P()}/logs`, { token: runtime, json: { body: secret('log_line') } });
    assert.equal(l.status, 201, l.text);
    // PATCH with a secret in metadata.
    const pa = await srv.api('PATCH', P(child), { token: operator, json: { metadata: { x: secret('patch_meta') } } });
    assert.equal(pa.status, 200, pa.text);
    assert.deepEqual(pa.json.metadata, { x: '****' });
    // Read while the calls still wait for the client (failing ends them).
    clientCalls = await srv.api('GET', `${P()}/client-tool-calls`, { token: runtime });
    const st = await append(srv, runtime, sid, { type: 'status', status: 'failed', error: secret('status_error'), step: 'login' });
    assert.equal(st.status, 'failed');
    const rep = await srv.api('PUT', `${P()}/report`, {
      token: runtime,
      json: { title: 'Vault report', summary: 'Report with secrets', sections: [{ title: 'Creds', content: 'see data' }], data: { key: secret('report_data'), list: [secret('report_list')] } },
    });
    assert.equal(rep.status, 200, rep.text);
    assert.deepEqual(rep.json.data, { key: '****', list: ['****'] });
    const ev = await srv.api('POST', `${P()}/evals`, { token: runtime, json: { eval_id: 'leak-check', state: 'failed', result: { saw: secret('eval_result') } } });
    assert.equal(ev.status, 201, ev.text);
    assert.deepEqual(ev.json.result, { saw: '****' });
  });
  after(async () => {
    await srv?.stop();
  });

  it('client-tool-calls returns the client call arguments unmasked', async () => {
    const r = clientCalls;
    assert.equal(r.status, 200, r.text);
    const byId = Object.fromEntries(r.json.data.map((c) => [c.tool_call_id, c]));
    assert.deepEqual(byId.cli1.arguments, { user: 'amy', password: S('client_args'), list: [S('client_args_list')] });
    assert.equal(byId.cli2.arguments, S('client_args_whole'));
    // Input permission only.
    assert.equal((await srv.api('GET', `${P()}/client-tool-calls`, { token: viewer })).status, 403);
    // The separate storage holds exactly the unmasked arguments of calls with secrets.
    const rows = sql(srv, `SELECT tool_call_id, arguments FROM tool_call_secrets WHERE session_id = ${q(sid)} ORDER BY tool_call_id`);
    assert.deepEqual(rows.map((x) => x.tool_call_id), ['cli1', 'cli2', 'man1', 'srv1']);
    assert.ok(rows.find((x) => x.tool_call_id === 'srv1').arguments.includes(S('server_args')));
  });

  it('no API answer other than client-tool-calls holds a secret', async () => {
    const gets = [
      P(),
      `${P()}?include=events,messages,children,trace,timeline,logs,artifacts,evals,agents,user_data`,
      `${P(child)}?include=user_data`,
      '/api/v1/sessions?limit=200',
      `/api/v1/sessions?q=vault`,
      `${P()}/events?include_hidden=1&limit=1000`,
      `${P()}/logs`,
      `${P()}/report`,
      `${P()}/report?format=md`,
      `${P()}/report?format=html`,
      `${P()}/evals`,
      `${P()}/artifacts`,
      '/api/v1/tasks',
    ];
    const r0 = await srv.api('GET', `${P()}/events?include_hidden=1&limit=1000`, { token: admin });
    for (const e of r0.json.data) gets.push(`${P()}/events/${e.id}`);
    for (const g of gets) {
      for (const token of [admin, viewer]) {
        const r = await srv.api('GET', g, { token });
        assert.equal(r.status, 200, `${g}: ${r.status} ${r.text.slice(0, 200)}`);
        assert.ok(!ANY.test(r.text), `${g} holds a secret: ${r.text.match(/.{0,60}S3CR3T_.{0,40}/)?.[0]}`);
      }
    }
    // Masked values are visible as ****.
    const ev = r0.json.data.find((e) => e.tool_call_id === 'cli1' && e.type === 'tool_call');
    assert.equal(ev.data.arguments.password, '****');
    // Text search does not find a secret.
    const s = await srv.api('GET', `/api/v1/sessions?q=${S('thought')}`, { token: admin });
    assert.equal(s.json.data.length, 0);
  });

  it('no page holds a secret', async () => {
    const pages = ['/sessions', `/sessions?q=vault`, '/tasks', '/admin/audit'];
    for (const tab of ['summary', 'activity', 'trace', 'logs', 'artifacts', 'evals', 'report', 'metadata', 'agents']) {
      pages.push(`/sessions/${sid}?tab=${tab}`, `/sessions/${child}?tab=${tab}`);
    }
    pages.push(`/sessions/${sid}?tab=activity&filter=tools`, `/sessions/${sid}?tab=activity&filter=errors`, `/sessions/${sid}?tab=activity&include_hidden=1`);
    const events = sql(srv, `SELECT id FROM events WHERE session_id = ${q(sid)} AND type = 'tool_call'`);
    for (const e of events) pages.push(`/sessions/${sid}/events/${e.id}/arguments`, `/sessions/${sid}/events/${e.id}/result`);
    for (const p of pages) {
      const r = await web.get(p);
      assert.ok([200, 404].includes(r.status), `${p}: ${r.status}`);
      assert.ok(!ANY.test(r.text), `${p} holds a secret: ${r.text.match(/.{0,60}S3CR3T_.{0,40}/)?.[0]}`);
    }
  });

  it('the CLI shows no secret, locally or against the server (srv.cli checks every output)', async () => {
    const parts = 'events,messages,children,trace,timeline,logs,artifacts,evals,agents,user_data';
    const local = await srv.cli(['sessions', 'get', sid, '--include', parts, '--json']);
    assert.equal(JSON.parse(local.stdout).id, sid);
    await srv.cli(['sessions', 'get', sid, '--include', 'messages']);
    await srv.cli(['sessions', 'list', '--agent', 'vault-bot', '--json']);
    await srv.cli(['report', 'get', sid], { allowFail: true });
    const remote = await srv.cli(['--server', srv.url, 'sessions', 'get', sid, '--include', parts, '--json'], { env: { FLIGHTDECK_TOKEN: admin } });
    assert.equal(JSON.parse(remote.stdout).id, sid);
  });

  it('the database holds secrets only in tool_call_secrets', async () => {
    const everything = dump(srv);
    const withSecrets = everything.split('\n').filter((line) => ANY.test(line));
    assert.ok(withSecrets.length > 0);
    for (const line of withSecrets) assert.match(line, /^INSERT INTO tool_call_secrets /, `a secret outside tool_call_secrets: ${line.slice(0, 200)}`);
    for (const t of ['events', 'tool_calls', 'sessions', 'logs', 'spans', 'audit', 'search_events', 'search_pending', 'search_sessions']) {
      assert.ok(!ANY.test(dump(srv, t)), `${t} holds a secret`);
    }
    // Only tool-call arguments were kept: none of the other values anywhere.
    for (const n of ['name', 'prompt', 'input', 'meta', 'user_data', 'user_msg', 'thought', 'server_result', 'tool_error', 'error_event', 'log_event', 'span_attr', 'assistant', 'log_line', 'patch_meta', 'status_error', 'child_meta']) {
      assert.ok(!everything.includes(S(n)), `${n} is stored somewhere`);
    }
  });

  it('deleting the session or the call takes the unmasked arguments with it', async () => {
    const s = await createSession(srv, runtime, { agent: 'vault-bot' });
    await append(srv, runtime, s.id, { type: 'tool_call', tool_call_id: 'c', tool: 't', kind: 'client', arguments: { p: secret('gone') } });
    assert.equal(sql(srv, `SELECT count(*) AS n FROM tool_call_secrets WHERE session_id = ${q(s.id)}`)[0].n, 1);
    const r = await srv.api('POST', `${P(s.id)}/input`, { token: runtime, json: { type: 'tool_result', tool_call_id: 'c', result: { echo: secret('client_result') } } });
    assert.equal(r.status, 200, r.text);
    assert.ok(!dump(srv).includes(S('client_result')), 'a client tool result is masked');
    await append(srv, runtime, s.id, { type: 'status', status: 'completed' });
    const ev = sql(srv, `SELECT id FROM events WHERE session_id = ${q(s.id)} AND type = 'tool_call'`)[0].id;
    assert.equal((await srv.api('DELETE', `${P(s.id)}/events/${ev}`, { token: operator })).status, 204);
    assert.equal(sql(srv, `SELECT count(*) AS n FROM tool_call_secrets WHERE session_id = ${q(s.id)}`)[0].n, 0);
    assert.ok(!dump(srv).includes(S('gone')));
    const d = await srv.api('DELETE', P(sid), { token: admin });
    assert.equal(d.status, 204, d.text);
    assert.equal(sql(srv, `SELECT count(*) AS n FROM tool_call_secrets WHERE session_id = ${q(sid)}`)[0].n, 0);
  });

  it('a marker with more than one member is not a secret (kept as sent)', async () => {
    const s = await createSession(srv, runtime, { agent: 'vault-bot', metadata: { m: { $secret: 'visible', note: 'x' } } });
    assert.deepEqual(s.metadata, { m: { $secret: 'visible', note: 'x' } });
  });
});
