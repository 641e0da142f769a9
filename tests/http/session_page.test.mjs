// The session detail page (/sessions/{id}?tab=...) against known data:
// every tab, the activity window of a 20,000-event session (the window links
// reach every entry exactly once), a 5 MB tool result that is download-only,
// payloads that try to inject script, and the read-only share links
// (signature, expiry, revocation, the sharer's access).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { startServer, hiddenValue } from '../lib/server.mjs';
import { createSession, append, sql, q } from '../lib/fixtures.mjs';

const BIG = 20000;
const XSS = '<script>window.__x=1</script>';
const IMG = '<img src=x onerror="window.__x=2">';

/** Every data-seq of the activity entries on a page, in page order. */
const seqsOf = (html) => [...html.matchAll(/<li class="ev[^"]*" id="event-(\d+)" data-seq="(\d+)"/g)].map((m) => Number(m[2]));
/** The href of the pager link with this visible label (top pager), or null. */
function pagerLink(html, label) {
  const nav = /<nav class="window-pager window-pager-top"[\s\S]*?<\/nav>/.exec(html);
  assert.ok(nav, 'the page has a pager');
  const m = new RegExp(`<a class="btn btn-sm" href="([^"]+)"[^>]*>(?:<span[^>]*></span>)?${label}`).exec(nav[0]);
  return m ? m[1].replace(/&amp;/g, '&') : null;
}
const unescape = (s) => s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');

/** No markup from a payload: the page's own scripts only, no handlers, no javascript: URLs. */
function assertInert(html, where) {
  for (const m of html.matchAll(/<script\b[^>]*>/gi)) assert.match(m[0], /\bsrc="\/static\//, `${where}: ${m[0]}`);
  assert.doesNotMatch(html, /<[a-z][^>]*\son[a-z]+\s*=/i, `${where}: an inline event handler`);
  assert.doesNotMatch(html, /<img\b[^>]*src=x/i, `${where}: a raw <img> from a payload`);
  assert.doesNotMatch(html, /href="\s*javascript:/i, `${where}: a javascript: link`);
  assert.ok(!html.includes(XSS), `${where}: the raw script payload`);
}

describe('session detail page', () => {
  let srv, rt, web, csrf;
  let big, bigErrors, small, huge, hugeEvent, evil, parent, child, spanless;

  before(async () => {
    srv = await startServer();
    rt = await srv.token('runtime');
    web = await srv.login('admin', srv.adminPassword);
    csrf = hiddenValue((await web.get('/sessions')).text, 'csrf');

    // 20,000 events in batches of 1,000: thoughts "step N", a user message
    // every 500, and two errors.
    big = await createSession(srv, rt, { agent: 'long-runner', name: 'Long session', status: 'running' });
    bigErrors = [9000, 15000];
    for (let b = 0; b < BIG / 1000; b++) {
      const events = [];
      for (let i = b * 1000 + 1; i <= (b + 1) * 1000; i++) {
        if (bigErrors.includes(i)) events.push({ type: 'error', message: `step ${i} broke`, step: `s${i}` });
        else if (i % 500 === 0) events.push({ type: 'user_message', content: `step ${i} from the user` });
        else events.push({ type: 'thought', content: `step ${i}` });
      }
      await append(srv, rt, big.id, { events });
    }
    await append(srv, rt, big.id, { type: 'status', status: 'completed', response: 'all done' });

    // A small, complete session with every kind of data.
    small = await createSession(srv, rt, {
      agent: 'tabs-agent',
      name: 'Tabbed session',
      project: 'alpha',
      prompt: 'Refund order 4411 for Dana Lee, amount 129.50',
      inputs: { order: '4411', customer: 'Dana Lee' },
      metadata: { ticket: 'T-9' },
      user_data: { plan: 'gold' },
      status: 'running',
    });
    const t0 = Date.now() - 60000;
    await append(srv, rt, small.id, {
      events: [
        { type: 'user_message', content: 'Please **refund** order 4411.' },
        { type: 'thought', content: 'Look the order up.' },
        { type: 'tool_call', tool_call_id: 'c1', tool: 'lookup_order', kind: 'server', arguments: { order: '4411' } },
        { type: 'tool_result', tool_call_id: 'c1', result: { total: 129.5, currency: 'USD' } },
        { type: 'usage', model: 'model-a', prompt_tokens: 1000, completion_tokens: 200, cost: 0.01 },
        { type: 'usage', model: 'model-b', prompt_tokens: 3000, completion_tokens: 100, cost: 0.04 },
        { type: 'span', trace_id: 'a'.repeat(32), span_id: '1'.repeat(16), name: 'agent run', start: t0, end: t0 + 5000 },
        { type: 'span', trace_id: 'a'.repeat(32), span_id: '2'.repeat(16), parent_span_id: '1'.repeat(16), name: 'llm call', start: t0 + 100, end: t0 + 2100 },
        { type: 'log', severity: 'debug', body: 'cache miss for order 4411' },
        { type: 'log', severity: 'error', body: 'payment gateway said 502' },
        { type: 'assistant_message', content: 'Refunded **$129.50**.' },
        { type: 'status', status: 'completed', response: 'The refund of $129.50 is on its way.' },
      ],
    });
    const art = await srv.api('POST', `/api/v1/sessions/${small.id}/artifacts`, { token: rt, json: { name: 'receipt.txt', media_type: 'text/plain', content_base64: Buffer.from('receipt 4411').toString('base64') } });
    assert.equal(art.status, 201, art.text);
    for (const [eval_id, state] of [['relevance', 'passed'], ['tone', 'failed'], ['safety', 'pending']]) {
      const r = await srv.api('POST', `/api/v1/sessions/${small.id}/evals`, { token: rt, json: { eval_id, state, result: { note: `${eval_id} checked` } } });
      assert.ok(r.status === 200 || r.status === 201, r.text);
    }
    const rep = await srv.api('PUT', `/api/v1/sessions/${small.id}/report`, {
      token: rt,
      json: { title: 'Refund report', summary: 'Refunded **order 4411**.', sections: [{ title: 'Steps', content: '- looked up\n- refunded' }], data: { amount: 129.5 } },
    });
    assert.equal(rep.status, 200, rep.text);

    // A 5 MB tool result.
    huge = await createSession(srv, rt, { agent: 'bulk-agent', name: 'Huge result', status: 'running' });
    const r1 = await append(srv, rt, huge.id, { type: 'tool_call', tool_call_id: 'h1', tool: 'export_table', kind: 'server', arguments: { table: 'orders' } });
    hugeEvent = r1.events[0].id;
    await append(srv, rt, huge.id, { type: 'tool_result', tool_call_id: 'h1', result: { rows: 'x'.repeat(5 * 1024 * 1024) } });
    await append(srv, rt, huge.id, { type: 'status', status: 'completed', response: 'exported' });

    // Script payloads in every field a tab shows.
    evil = await createSession(srv, rt, {
      agent: `agent ${XSS}`,
      name: `name ${XSS}`,
      prompt: `prompt ${XSS} ${IMG}`,
      inputs: { [`key ${XSS}`]: `value ${IMG}` },
      metadata: { m: XSS },
      user_data: { u: IMG },
      status: 'running',
    });
    await append(srv, rt, evil.id, {
      events: [
        { type: 'user_message', content: `hi ${XSS} ${IMG} [click](javascript:window.__x=3) <a href="javascript:alert(1)">a</a>` },
        { type: 'thought', content: `${IMG} **bold** ${XSS}` },
        { type: 'tool_call', tool_call_id: 'e1', tool: `tool${XSS}`, kind: 'server', arguments: { q: XSS } },
        { type: 'tool_result', tool_call_id: 'e1', result: { html: IMG } },
        { type: 'tool_call', tool_call_id: 'e2', tool: 'failing', kind: 'server', arguments: {} },
        { type: 'tool_result', tool_call_id: 'e2', error: { category: `cat${XSS}`, message: `msg ${IMG}` } },
        { type: 'usage', model: `model${XSS}`, prompt_tokens: 1, completion_tokens: 1 },
        { type: 'span', trace_id: 'b'.repeat(32), span_id: '3'.repeat(16), name: `span ${XSS}`, start: Date.now() - 1000, end: Date.now(), attributes: { a: IMG } },
        { type: 'log', severity: 'warn', body: `log ${XSS}` },
        { type: 'error', message: `error ${XSS}`, step: `step${IMG}` },
        { type: 'status', status: 'failed', error: `failed ${XSS}`, step: `step ${IMG}` },
      ],
    });
    await srv.api('POST', `/api/v1/sessions/${evil.id}/artifacts`, { token: rt, json: { name: `a${XSS.replace(/\//g, '')}.html`, media_type: 'text/html', content_base64: Buffer.from(XSS).toString('base64') } });
    await srv.api('POST', `/api/v1/sessions/${evil.id}/evals`, { token: rt, json: { eval_id: `ev${XSS}`, state: 'failed', result: { why: IMG } } });
    await srv.api('PUT', `/api/v1/sessions/${evil.id}/report`, { token: rt, json: { title: `t ${XSS}`, summary: `s ${XSS} ${IMG} [x](javascript:alert(1))`, sections: [{ title: IMG, content: XSS }] } });

    // A caller and a called session, for the Called agents tab.
    parent = await createSession(srv, rt, { agent: 'boss', name: 'Caller', project: 'alpha', status: 'running' });
    child = await createSession(srv, rt, { agent: 'helper', name: 'Called one', project: 'alpha', status: 'running', trigger: 'agent', parent_session_id: parent.id, parent_tool_call_id: 'd1' });
    await append(srv, rt, parent.id, { type: 'tool_call', tool_call_id: 'd1', tool: 'delegate', kind: 'agent', called_session_id: child.id, arguments: {} });
    await append(srv, rt, parent.id, { type: 'usage', model: 'model-a', prompt_tokens: 100, completion_tokens: 10, cost: 1.0 });
    await append(srv, rt, child.id, { type: 'usage', model: 'model-a', prompt_tokens: 200, completion_tokens: 20, cost: 2.0 });

    // Tool calls but no spans: the waterfall is drawn from the tool calls.
    spanless = await createSession(srv, rt, { agent: 'no-spans', name: 'No spans', status: 'running' });
    await append(srv, rt, spanless.id, {
      events: [
        { type: 'tool_call', tool_call_id: 'n1', tool: 'first_tool', kind: 'server', arguments: {} },
        { type: 'tool_result', tool_call_id: 'n1', result: 1 },
        { type: 'tool_call', tool_call_id: 'n2', tool: 'second_tool', kind: 'server', arguments: {} },
      ],
    });
  });

  after(async () => {
    await srv?.stop();
  });

  describe('activity of a 20,000-event session', () => {
    it('opens on one window of 100 entries, the range and the pager shown', async () => {
      const r = await web.get(`/sessions/${big.id}?tab=activity`);
      assert.equal(r.status, 200);
      const seqs = seqsOf(r.text);
      assert.equal(seqs.length, 100, 'a window of 100');
      assert.match(r.text, /Entries 1–100 of 20,0\d\d/);
      assert.ok(pagerLink(r.text, 'Next 100'), 'Next');
      assert.ok(pagerLink(r.text, 'Newest'), 'Newest');
      assert.equal(pagerLink(r.text, 'Previous 100'), null, 'no Previous on the first window');
      // The page weighs what a small session's does, not what 20,000 events do.
      assert.ok(r.text.length < 200 * 1024, `page is ${r.text.length} bytes`);
    });

    it('Next links reach every entry exactly once, in order; Previous walks back', async () => {
      let url = `/sessions/${big.id}?tab=activity`;
      const seen = [];
      const steps = new Set();
      let pages = 0;
      const urls = [];
      while (url && pages < 300) {
        const r = await web.get(url);
        assert.equal(r.status, 200, url);
        const seqs = seqsOf(r.text);
        assert.ok(seqs.length > 0 && seqs.length <= 100, `${url}: ${seqs.length} entries`);
        seen.push(...seqs);
        for (const m of r.text.matchAll(/step (\d+)(?: from the user| broke)?</g)) steps.add(Number(m[1]));
        urls.push(url);
        url = pagerLink(r.text, 'Next 100');
        pages++;
      }
      assert.ok(pages >= BIG / 100 && pages < 300, `${pages} windows`);
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i] > seen[i - 1], `entries in order at ${i}`);
      const want = sql(srv, `SELECT seq FROM events WHERE session_id = ${q(big.id)} AND type <> 'tool_result' AND hide_reason IS NULL ORDER BY seq`).map((x) => x.seq);
      assert.deepEqual(seen, want, 'every entry of the session, once');
      for (let i = 1; i <= BIG; i++) if (!steps.has(i)) assert.fail(`step ${i} never shown`);
      // From the last window, Previous goes back window by window.
      const last = await web.get(urls[urls.length - 1]);
      const prev = pagerLink(last.text, 'Previous 100');
      assert.ok(prev, 'Previous on the last window');
      const back = seqsOf((await web.get(prev)).text);
      assert.deepEqual(back, seen.slice(seen.length - seqsOf(last.text).length - back.length, seen.length - seqsOf(last.text).length));
    });

    it('Newest shows the end, with the completed entry; First returns to the start', async () => {
      const r = await web.get(`/sessions/${big.id}?tab=activity&newest=1`);
      const seqs = seqsOf(r.text);
      assert.equal(seqs.length, 100);
      const maxSeq = sql(srv, `SELECT max(seq) AS m FROM events WHERE session_id = ${q(big.id)}`)[0].m;
      assert.equal(seqs[seqs.length - 1], maxSeq, 'the newest entry last');
      assert.match(r.text, /status-completed/);
      assert.equal(pagerLink(r.text, 'Next 100'), null, 'nothing after the newest window');
      const first = await web.get(pagerLink(r.text, 'First'));
      assert.equal(seqsOf(first.text)[0], seqsOf((await web.get(`/sessions/${big.id}?tab=activity`)).text)[0]);
    });

    it('"Jump to first error" and "Next error" reach both errors; the errors filter shows only them', async () => {
      const r = await web.get(`/sessions/${big.id}?tab=activity`);
      const jump = /<a[^>]*href="([^"]+)"[^>]*>(?:<span[^>]*><\/span>)?Jump to first error/.exec(r.text);
      assert.ok(jump, 'a jump link');
      const [path1, anchor1] = unescape(jump[1]).split('#');
      const w1 = await web.get(path1);
      assert.ok(w1.text.includes(`id="${anchor1}"`), 'the window holds the first error');
      assert.ok(w1.text.includes('step 9000 broke'));
      const entry = new RegExp(`id="${anchor1}"[\\s\\S]*?</li>`).exec(w1.text)[0];
      const next = /href="([^"]+)"[^>]*>Next error/.exec(entry);
      assert.ok(next, 'the first error links to the next one');
      const [path2, anchor2] = unescape(next[1]).split('#');
      const w2 = await web.get(path2);
      assert.ok(w2.text.includes(`id="${anchor2}"`));
      assert.ok(w2.text.includes('step 15000 broke'));

      const errs = await web.get(`/sessions/${big.id}?tab=activity&filter=errors`);
      assert.equal(seqsOf(errs.text).length, 2, 'only the two errors');
      assert.ok(errs.text.includes('step 9000 broke') && errs.text.includes('step 15000 broke'));
      const reasoning = await web.get(`/sessions/${big.id}?tab=activity&filter=reasoning`);
      assert.ok(!reasoning.text.includes('broke'), 'no errors among the reasoning');
      assert.equal(seqsOf(reasoning.text).length, 100);
    });

    it('a bad window parameter is ignored, not an error; an unknown tab is 404', async () => {
      for (const p of ['from=-5', 'from=abc', 'from=99999999999999999999', 'filter=nope', 'newest=2']) {
        const r = await web.get(`/sessions/${big.id}?tab=activity&${p}`);
        assert.equal(r.status, 200, p);
        assert.ok(seqsOf(r.text).length > 0, p);
      }
      assert.equal((await web.get(`/sessions/${big.id}?tab=nope`)).status, 404);
      assert.equal((await web.get(`/sessions/${big.id}?tab=report`)).status, 404, 'no report, no Report tab');
    });
  });

  describe('a 5 MB tool result', () => {
    it('is download-only on the page, which stays small', async () => {
      const r = await web.get(`/sessions/${huge.id}?tab=activity`);
      assert.equal(r.status, 200);
      assert.ok(r.text.length < 100 * 1024, `page is ${r.text.length} bytes`);
      assert.ok(!r.text.includes('x'.repeat(1000)), 'the result is not inline');
      const m = /<a href="([^"]+\/result)" download>/.exec(r.text);
      assert.ok(m, 'a download link for the result');
      assert.equal(m[1], `/sessions/${huge.id}/events/${hugeEvent}/result`);
      assert.match(r.text, /Result<\/span> is 5\.0 MB|Result<\/span> is 5 MB|Result<\/span> is [\d.]+ MB/);
      assert.match(r.text, /&quot;table&quot;:\s+&quot;orders&quot;/, 'the small arguments stay inline');
    });

    it('downloads in full as JSON', async () => {
      const r = await web.get(`/sessions/${huge.id}/events/${hugeEvent}/result`);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type'), /^application\/json/);
      assert.match(r.headers.get('content-disposition'), /^attachment; filename=".*-result\.json"$/);
      assert.equal(JSON.parse(r.text).rows.length, 5 * 1024 * 1024);
      assert.equal((await web.get(`/sessions/${huge.id}/events/999999/result`)).status, 404);
      assert.equal((await web.get(`/sessions/${huge.id}/events/abc/result`)).status, 404);
    });
  });

  describe('tabs of a complete session', () => {
    it('the header and the tab list, with counts; the current tab is marked', async () => {
      const r = await web.get(`/sessions/${small.id}`);
      assert.equal(r.status, 200);
      for (const tab of ['summary', 'activity', 'trace', 'logs', 'artifacts', 'evals', 'report', 'metadata']) {
        assert.match(r.text, new RegExp(`class="tab tab-${tab}" href="/sessions/${small.id}\\?tab=${tab}"`), tab);
      }
      assert.match(r.text, /class="tab tab-summary"[^>]*aria-current="page"/);
      assert.doesNotMatch(r.text, /tab-agents/, 'no Called agents tab without called sessions');
      assert.match(r.text, /Tabbed session/);
      assert.match(r.text, /status-completed/);
    });

    it('the Activity tab counts the entries the feed shows (tool results merge into their calls)', async () => {
      const r = await web.get(`/sessions/${small.id}?tab=activity`);
      const count = /class="tab tab-activity"[^>]*>Activity<span class="tab-count">(\d+)</.exec(r.text);
      assert.ok(count, 'a count on the tab');
      const range = /Entries 1–(\d+) of (\d+)/.exec(r.text);
      assert.equal(Number(count[1]), Number(range[2]));
      assert.equal(Number(count[1]), seqsOf(r.text).length);
    });

    it('hidden events are left out, counted, and shown marked on request', async () => {
      const h = await createSession(srv, rt, { agent: 'hider', name: 'Hidden bits', status: 'running' });
      const r1 = await append(srv, rt, h.id, { events: [{ type: 'thought', content: 'visible one' }, { type: 'thought', content: 'secret plan' }, { type: 'thought', content: 'visible two' }] });
      execFileSync('sqlite3', ['-cmd', '.timeout 5000', srv.dbPath, `UPDATE events SET hide_reason = 'manual' WHERE id = ${r1.events[1].id}`]);
      const shown = await web.get(`/sessions/${h.id}?tab=activity`);
      assert.ok(shown.text.includes('visible one') && shown.text.includes('visible two'));
      assert.ok(!shown.text.includes('secret plan'), 'hidden by default');
      assert.match(shown.text, /1 hidden event/);
      const toggle = /href="([^"]*hidden=1[^"]*)"/.exec(shown.text);
      assert.ok(toggle, 'a link that shows them');
      const all = await web.get(unescape(toggle[1]));
      assert.ok(all.text.includes('secret plan'));
      assert.match(all.text, /class="ev ev-thought is-hidden"/);
      assert.match(all.text, /Hidden: manual/);
    });

    it('a failure whose cause is a failed tool call links to that call', async () => {
      const f = await createSession(srv, rt, { agent: 'fails', name: 'Tool failure', status: 'running' });
      const tc = await append(srv, rt, f.id, { type: 'tool_call', tool_call_id: 'f1', tool: 'charge_card', kind: 'server', arguments: {} });
      await append(srv, rt, f.id, { type: 'tool_result', tool_call_id: 'f1', error: { category: 'declined', message: 'card declined' } });
      await append(srv, rt, f.id, { type: 'status', status: 'failed', error: 'card declined', step: 'charge_card' });
      const seq = sql(srv, `SELECT seq FROM events WHERE id = ${tc.events[0].id}`)[0].seq;
      const r = await web.get(`/sessions/${f.id}`);
      assert.match(r.text, /This session failed at step <code>charge_card<\/code>/);
      const link = /href="([^"]+)">Show in activity/.exec(r.text);
      assert.ok(link, 'the callout links to the failing entry');
      assert.equal(unescape(link[1]), `/sessions/${f.id}?tab=activity&filter=errors&from=${seq}#event-${seq}`);
      const w = await web.get(unescape(link[1]).split('#')[0]);
      assert.ok(w.text.includes(`id="event-${seq}"`));
      assert.match(w.text, /declined/);
    });

    it('Summary: the prompt with the input values marked, the inputs, the final response', async () => {
      const r = await web.get(`/sessions/${small.id}?tab=summary`);
      assert.match(r.text, /<mark class="input-value" title="Input: order">4411<\/mark>/);
      assert.match(r.text, /<mark class="input-value" title="Input: customer">Dana Lee<\/mark>/);
      assert.match(r.text, /<code>customer<\/code><\/th><td><div class="kv-value">Dana Lee/);
      assert.ok(r.text.includes('The refund of $129.50 is on its way.'));
    });

    it('Activity: Markdown rendered, tool call with pretty JSON, usage, filters', async () => {
      const r = await web.get(`/sessions/${small.id}?tab=activity`);
      assert.match(r.text, /Please <strong>refund<\/strong> order 4411\./);
      assert.match(r.text, /lookup_order/);
      assert.match(r.text, /&quot;total&quot;:\s+129\.5/, 'the result pretty-printed');
      assert.match(r.text, /model-a/);
      const tools = await web.get(`/sessions/${small.id}?tab=activity&filter=tools`);
      assert.equal(seqsOf(tools.text).length, 1, 'tool calls only');
      const reasoning = await web.get(`/sessions/${small.id}?tab=activity&filter=reasoning`);
      assert.ok(reasoning.text.includes('Look the order up.'));
      assert.ok(!reasoning.text.includes('lookup_order</'), 'no tool call among the reasoning');
    });

    it('Trace: an SVG waterfall with a bar per span, and the raw spans and logs', async () => {
      const r = await web.get(`/sessions/${small.id}?tab=trace`);
      const svg = /<svg class="waterfall"[\s\S]*?<\/svg>/.exec(r.text);
      assert.ok(svg, 'a waterfall');
      assert.ok(svg[0].includes('agent run') && svg[0].includes('llm call'));
      assert.ok((svg[0].match(/<rect\b/g) || []).length >= 2, 'a bar per span');
      assert.match(svg[0], /5(\.0)? s/, 'the root span lasts 5 s');
      assert.match(r.text, /1{16}/, 'the raw spans with their ids');
      assert.ok(r.text.includes('payment gateway said 502'), 'the logs beneath');
      const nospans = await web.get(`/sessions/${spanless.id}?tab=trace`);
      const svg2 = /<svg class="waterfall"[\s\S]*?<\/svg>/.exec(nospans.text);
      assert.ok(svg2 && svg2[0].includes('first_tool') && svg2[0].includes('second_tool'), 'tool calls drawn');
      assert.match(nospans.text, /No spans were sent/);
    });

    it('Logs: every line, and a severity filter', async () => {
      const all = await web.get(`/sessions/${small.id}?tab=logs`);
      assert.ok(all.text.includes('cache miss for order 4411') && all.text.includes('payment gateway said 502'));
      const err = await web.get(`/sessions/${small.id}?tab=logs&severity=error`);
      assert.ok(err.text.includes('payment gateway said 502'));
      assert.ok(!err.text.includes('cache miss for order 4411'), 'debug lines filtered out');
    });

    it('Artifacts: name, type, size, origin and a download', async () => {
      const r = await web.get(`/sessions/${small.id}?tab=artifacts`);
      assert.match(r.text, /receipt\.txt/);
      assert.match(r.text, /text\/plain/);
      assert.match(r.text, /12 B/);
      assert.match(r.text, /uploaded/);
      const m = /href="(\/sessions\/[^"]+\/artifacts\/[^"]+)" download/.exec(r.text);
      assert.ok(m);
      const d = await web.get(m[1]);
      assert.equal(d.status, 200);
      assert.equal(d.text, 'receipt 4411');
      assert.match(d.headers.get('content-disposition'), /^attachment/);
    });

    it('Evals: each run with its state and result', async () => {
      const r = await web.get(`/sessions/${small.id}?tab=evals`);
      assert.match(r.text, /class="badge eval-passed">Passed<\/span>\s*<code class="eval-id">relevance/);
      assert.match(r.text, /class="badge eval-failed">Failed<\/span>\s*<code class="eval-id">tone/);
      assert.match(r.text, /class="badge eval-pending">Pending<\/span>\s*<code class="eval-id">safety/);
      assert.match(r.text, /relevance checked/);
    });

    it('a tab lists at most 500 items and says where the rest are', async () => {
      const many = await createSession(srv, rt, { agent: 'evaluated', name: 'Many evals', status: 'running' });
      for (let i = 0; i < 501; i += 50) {
        await Promise.all(Array.from({ length: Math.min(50, 501 - i) }, (_, k) =>
          srv.api('POST', `/api/v1/sessions/${many.id}/evals`, { token: rt, json: { eval_id: `e${i + k}`, state: 'passed' } })));
      }
      const r = await web.get(`/sessions/${many.id}?tab=evals`);
      assert.equal((r.text.match(/<li class="eval">/g) || []).length, 500);
      assert.match(r.text, new RegExp(`Showing the first 500 of 501 evals; GET /api/v1/sessions/${many.id}/evals lists them all`));
      const few = await web.get(`/sessions/${small.id}?tab=evals`);
      assert.doesNotMatch(few.text, /Showing the/);
    });

    it('Report: inline, and downloads as Markdown, JSON and self-contained HTML', async () => {
      const r = await web.get(`/sessions/${small.id}?tab=report`);
      assert.match(r.text, /Refund report/);
      assert.match(r.text, /Refunded <strong>order 4411<\/strong>\./);
      assert.match(r.text, /<li>looked up<\/li>/);
      const md = await web.get(`/sessions/${small.id}/report?format=md`);
      assert.equal(md.status, 200);
      assert.match(md.headers.get('content-type'), /^text\/markdown/);
      assert.match(md.text, /^# Refund report/m);
      assert.match(md.text, /^## Steps/m);
      const js = await web.get(`/sessions/${small.id}/report?format=json`);
      assert.equal(JSON.parse(js.text).data.amount, 129.5);
      const html = await web.get(`/sessions/${small.id}/report?format=html`);
      assert.match(html.headers.get('content-type'), /^text\/html/);
      assert.match(html.headers.get('content-disposition'), /^attachment/);
      assert.match(html.text, /^<!doctype html>/i);
      assert.match(html.text, /<style>/, 'self-contained: its CSS inline');
      assert.doesNotMatch(html.text, /<link\b|<script\b/i, 'nothing fetched, nothing run');
    });

    it('Metadata: identity, place, tokens and cost per model, metadata and user data', async () => {
      const r = await web.get(`/sessions/${small.id}?tab=metadata`);
      assert.ok(r.text.includes(small.id));
      assert.match(r.text, /alpha/);
      const models = /<table class="data-table models-table">[\s\S]*?<\/table>/.exec(r.text);
      assert.ok(models, 'a per-model table');
      assert.match(models[0], /model-a[\s\S]*1,000[\s\S]*200/);
      assert.match(models[0], /model-b[\s\S]*3,000[\s\S]*100/);
      assert.match(r.text, /&quot;ticket&quot;:\s+&quot;T-9&quot;/);
      assert.match(r.text, /&quot;plan&quot;:\s+&quot;gold&quot;/);
    });

    it('Called agents: the tree, with cost and tokens rolled up', async () => {
      const r = await web.get(`/sessions/${parent.id}?tab=agents`);
      assert.equal(r.status, 200);
      assert.ok(r.text.includes(`href="/sessions/${child.id}"`));
      assert.ok(r.text.includes('Called one'));
      assert.match(r.text, /\$3\.00/, 'cost over the tree: $1 + $2');
      const act = await web.get(`/sessions/${parent.id}?tab=activity`);
      assert.match(act.text, /<div class="tool-called">[\s\S]*Called one/);
    });
  });

  describe('nothing from a payload runs', () => {
    for (const tab of ['summary', 'activity', 'trace', 'logs', 'artifacts', 'evals', 'report', 'metadata']) {
      it(`${tab} tab`, async () => {
        const r = await web.get(`/sessions/${evil.id}?tab=${tab}`);
        assert.equal(r.status, 200);
        assertInert(r.text, tab);
      });
    }
    it('the report downloads, and an artifact served with its own type', async () => {
      const html = await web.get(`/sessions/${evil.id}/report?format=html`);
      assertInert(html.text, 'report.html');
      assert.match(html.text, /Content-Security-Policy/);
      const list = await srv.api('GET', `/api/v1/sessions/${evil.id}/artifacts`, { token: rt });
      const a = await web.get(`/sessions/${evil.id}/artifacts/${list.json.data[0].id}`);
      assert.match(a.headers.get('content-disposition'), /^attachment/);
      assert.equal(a.headers.get('x-content-type-options'), 'nosniff');
      assert.match(a.headers.get('content-security-policy') || '', /sandbox/);
    });
  });

  describe('share links', () => {
    async function share(id, expires = '24h', client = web, token = csrf) {
      const r = await client.post(`/sessions/${id}/share`, { csrf: token, expires, return_to: `/sessions/${id}` });
      assert.equal(r.status, 303);
      const page = await client.get(`/sessions/${id}`);
      const links = [...page.text.matchAll(/\/share\/([0-9]+\.[0-9]+\.[A-Za-z0-9_-]+)/g)].map((m) => m[1]);
      assert.ok(links.length > 0, 'the Share panel lists the link');
      return { token: links[0], page: page.text };
    }
    const anon = () => srv.client();

    it('a link opens the session read-only without signing in, every tab', async () => {
      const { token, page } = await share(small.id);
      assert.match(page, /admin/, 'the panel says who created it');
      const c = anon();
      const r = await c.get(`/share/${token}`);
      assert.equal(r.status, 200);
      assert.ok(r.text.includes('Tabbed session'));
      assert.doesNotMatch(r.text, /<form\b[^>]*action="\/sessions/, 'no forms');
      assert.match(r.text, /Shared by[\s\S]*admin/i);
      for (const tab of ['activity', 'trace', 'logs', 'artifacts', 'evals', 'report', 'metadata']) {
        const t = await c.get(`/share/${token}?tab=${tab}`);
        assert.equal(t.status, 200, tab);
        assert.doesNotMatch(t.text, /href="\/sessions\//, `${tab}: no links into pages a reader cannot open`);
      }
      const md = await c.get(`/share/${token}/report?format=md`);
      assert.equal(md.status, 200);
      assert.match(md.text, /Refund report/);
      // A share link is no sign-in: the pages stay closed.
      assert.equal((await c.get(`/sessions/${small.id}`)).status, 303);
    });

    it('a tampered, foreign or truncated token is 404', async () => {
      const { token } = await share(small.id);
      const [id, exp, mac] = token.split('.');
      const flip = (s) => s.slice(0, -1) + (s.endsWith('A') ? 'B' : 'A');
      for (const bad of [`${id}.${exp}.${flip(mac)}`, `${id}.${Number(exp) + 1000}.${mac}`, `${Number(id) + 1000}.${exp}.${mac}`, `${id}.${exp}`, 'x', `${id}.${exp}.${mac}x`]) {
        assert.equal((await anon().get(`/share/${bad}`)).status, 404, bad);
      }
    });

    it('an expired link is 410, its signature valid', async () => {
      const { token } = await share(small.id, '1h');
      const [id] = token.split('.');
      // Move the link's expiry into the past and sign the token as the server would.
      const past = Date.now() - 1000;
      execFileSync('sqlite3', ['-cmd', '.timeout 5000', srv.dbPath, `UPDATE share_links SET expires_at = ${past} WHERE id = ${Number(id)}`]);
      const key = Buffer.from(sql(srv, "SELECT hex(key) AS k FROM app_keys WHERE name = 'share'")[0].k, 'hex');
      const mac = crypto.createHmac('sha256', key).update(`share|${id}|${small.id}|${past}`).digest('base64url');
      const r = await anon().get(`/share/${id}.${past}.${mac}`);
      assert.equal(r.status, 410);
      assert.match(r.text, /expired/i);
      const page = await web.get(`/sessions/${small.id}`);
      assert.match(page.text, /Expired/);
    });

    it('a revoked link is 410; only its creator or an admin may revoke', async () => {
      await srv.addUser('sharer-1', 'sharer-password-1', 'viewer', { project: 'alpha' });
      await srv.addUser('other-1', 'other-password-1', 'operator', { project: 'alpha' });
      const sharer = await srv.login('sharer-1', 'sharer-password-1');
      const sharerCsrf = hiddenValue((await sharer.get('/sessions')).text, 'csrf');
      const { token } = await share(small.id, '7d', sharer, sharerCsrf);
      const lid = Number(token.split('.')[0]);
      assert.equal((await anon().get(`/share/${token}`)).status, 200);
      // Someone else (not an admin) cannot revoke it.
      const other = await srv.login('other-1', 'other-password-1');
      const otherCsrf = hiddenValue((await other.get('/sessions')).text, 'csrf');
      await other.post(`/sessions/${small.id}/share/${lid}/revoke`, { csrf: otherCsrf });
      assert.equal(sql(srv, `SELECT revoked_at FROM share_links WHERE id = ${lid}`)[0].revoked_at, null);
      assert.equal((await anon().get(`/share/${token}`)).status, 200);
      // Its creator can.
      const r = await sharer.post(`/sessions/${small.id}/share/${lid}/revoke`, { csrf: sharerCsrf });
      assert.equal(r.status, 303);
      assert.ok(sql(srv, `SELECT revoked_at FROM share_links WHERE id = ${lid}`)[0].revoked_at);
      const gone = await anon().get(`/share/${token}`);
      assert.equal(gone.status, 410);
      assert.match(gone.text, /revoked/i);
      assert.equal((await anon().get(`/share/${token}/report?format=md`)).status, 410, 'its downloads too');
    });

    it("never shows more than the sharer may see now", async () => {
      await srv.addUser('sharer-2', 'sharer-password-2', 'viewer', { project: 'alpha' });
      const sharer = await srv.login('sharer-2', 'sharer-password-2');
      const sharerCsrf = hiddenValue((await sharer.get('/sessions')).text, 'csrf');
      // A caller in alpha whose called session lies in beta.
      const caller = await createSession(srv, rt, { agent: 'caller', name: 'Alpha caller', project: 'alpha', status: 'running' });
      const callee = await createSession(srv, rt, { agent: 'beta-secret-agent', name: 'Beta callee', project: 'beta', status: 'running', trigger: 'agent', parent_session_id: caller.id, parent_tool_call_id: 'x1' });
      await append(srv, rt, caller.id, { type: 'tool_call', tool_call_id: 'x1', tool: 'delegate', kind: 'agent', called_session_id: callee.id, arguments: {} });
      const { token } = await share(caller.id, '24h', sharer, sharerCsrf);
      for (const tab of ['activity', 'agents', 'summary']) {
        const r = await anon().get(`/share/${token}?tab=${tab}`);
        assert.equal(r.status, 200, tab);
        assert.ok(!r.text.includes('beta-secret-agent'), `${tab}: the called session's agent`);
        assert.ok(!r.text.includes(`/sessions/${callee.id}`), `${tab}: a link to it`);
      }
      // The sharer loses access to alpha: the link shows nothing any more.
      await srv.cli(['user', 'revoke', 'sharer-2', '--role', 'viewer', '--project', 'alpha']);
      assert.equal(sql(srv, "SELECT count(*) AS n FROM grants g JOIN users u ON u.id = g.user_id WHERE u.username = 'sharer-2'")[0].n, 0);
      assert.equal((await anon().get(`/share/${token}`)).status, 404);
      // A disabled sharer's links stop working.
      await srv.addUser('sharer-3', 'sharer-password-3', 'viewer', { project: 'alpha' });
      const s3 = await srv.login('sharer-3', 'sharer-password-3');
      const s3csrf = hiddenValue((await s3.get('/sessions')).text, 'csrf');
      const l3 = await share(small.id, '24h', s3, s3csrf);
      assert.equal((await anon().get(`/share/${l3.token}`)).status, 200);
      execFileSync('sqlite3', ['-cmd', '.timeout 5000', srv.dbPath, "UPDATE users SET disabled = 1 WHERE username = 'sharer-3'"]);
      assert.equal((await anon().get(`/share/${l3.token}`)).status, 410);
    });

    it('a bad expiry is refused and makes no link', async () => {
      const before = sql(srv, `SELECT count(*) AS n FROM share_links WHERE session_id = ${q(huge.id)}`)[0].n;
      for (const expires of ['', '2y', '0', '1h; DROP TABLE share_links']) {
        const r = await web.post(`/sessions/${huge.id}/share`, { csrf, expires, return_to: `/sessions/${huge.id}` });
        assert.equal(r.status, 303, expires);
      }
      assert.equal(sql(srv, `SELECT count(*) AS n FROM share_links WHERE session_id = ${q(huge.id)}`)[0].n, before);
    });
  });
});
