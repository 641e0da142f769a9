// The session detail page (/sessions/ID?tab=…) in a real browser (headless
// Chromium, the launcher of browser.mjs): every tab by a click (its own URL,
// aria-current, its panel); a tool call's Arguments and Result collapsed
// until opened, as pretty JSON, and "Expand all"/"Collapse all"; "Copy link"
// copies the view with its tab and filter; a deep link opened while signed
// out lands on the same view after signing in; Pause from the header and the
// intervention in the feed; live updates (a new entry within 2 s, the status
// badge when the session completes, open details kept) without a reload; the
// Trace tab's SVG waterfall really drawn (a screenshot decoded and sampled);
// no script from any payload runs on any tab, live updates included; and the
// read-only share page in a fresh signed-out browser. One server and one
// browser for the file; no console errors, CSP violations or failed requests
// anywhere.
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openBrowser, openContext, signIn as signInAs } from './browser.mjs';
import { decodePng } from './png.mjs';
import { startServer } from '../lib/server.mjs';
import { createSession, append, getSession, listEvents, lifecycleSteps, reachStatus, sleep } from '../lib/fixtures.mjs';

const RUN = `detail-${Date.now()}`;

// The tool call whose payloads the collapse test opens.
const ARGS = { order: 9001, items: [{ sku: 'A-1', qty: 2 }, { sku: 'B-7', qty: 1 }], rush: true };
const RESULT = { status: 'shipped', carrier: 'DHL', tracking: { id: 'JD0123', events: 3 } };
const TABS = ['summary', 'activity', 'trace', 'logs', 'artifacts', 'evals', 'report', 'metadata', 'agents'];

describe('Session detail page in Chromium', () => {
  let srv, browser, context, page, shots, runtime, operator, viewer;
  const problems = []; // console errors, page errors, CSP violations, failed requests, HTTP errors
  const reader = { name: 'detail-reader', pw: 'detail-reader-password-1' };
  let rich; // a completed session with something on every tab
  let child;

  before(async () => {
    srv = await startServer();
    [runtime, operator, viewer] = await Promise.all([srv.token('runtime'), srv.token('operator'), srv.token('viewer')]);
    await srv.addUser(reader.name, reader.pw, 'viewer');

    rich = await createSession(srv, runtime, {
      agent: `${RUN}-agent`,
      name: 'Detail rich session',
      prompt: 'Check order 9001 for ACME',
      inputs: { customer: 'ACME' },
      metadata: { team: 'ops' },
    });
    const t0 = Date.now() - 60000;
    const iso = (ms) => new Date(t0 + ms).toISOString();
    await append(srv, runtime, rich.id, {
      events: [
        { type: 'user_message', content: 'Please check **order 9001**.' },
        { type: 'thought', content: 'I should call the order service.' },
        { type: 'tool_call', tool_call_id: 'c1', tool: 'get_order', arguments: ARGS },
        { type: 'tool_result', tool_call_id: 'c1', result: RESULT },
        { type: 'tool_call', tool_call_id: 'c2', tool: 'notify_ops', arguments: { channel: 'ops' } },
        { type: 'tool_result', tool_call_id: 'c2', error: { category: 'rate_limited', message: 'slow down' } },
        { type: 'error', message: 'Carrier API timed out', step: 'track' },
        { type: 'span', trace_id: 'tr1', span_id: 'root', name: 'agent.run', start: iso(0), end: iso(3000), status: 'ok' },
        { type: 'span', trace_id: 'tr1', span_id: 'llm', parent_span_id: 'root', name: 'llm.call', start: iso(500), end: iso(2000), status: 'error' },
        { type: 'log', severity: 'info', body: 'Looked up order 9001' },
        { type: 'usage', model: 'gpt-4o', prompt_tokens: 120, completion_tokens: 30, cost: 0.01 },
        { type: 'assistant_message', content: 'Order 9001 has shipped.' },
        { type: 'status', status: 'completed', response: 'Order 9001 has **shipped** with DHL.' },
      ],
    });
    child = await createSession(srv, runtime, { agent: 'sub-agent', name: 'Detail child session', parent_session_id: rich.id });
    const put = await srv.api('PUT', `/api/v1/sessions/${rich.id}/report`, {
      token: runtime,
      json: { title: 'Order 9001 report', summary: 'The order shipped.', sections: [{ title: 'Carrier', content: 'DHL, tracking JD0123.' }] },
    });
    assert.equal(put.status, 200, put.text);
    const art = await srv.api('POST', `/api/v1/sessions/${rich.id}/artifacts`, {
      token: runtime,
      json: { name: 'invoice-9001.txt', media_type: 'text/plain', content_base64: Buffer.from('invoice 9001\n').toString('base64') },
    });
    assert.ok(art.status === 200 || art.status === 201, art.text);
    const ev = await srv.api('POST', `/api/v1/sessions/${rich.id}/evals`, {
      token: runtime,
      json: { eval_id: 'accuracy-v1', state: 'passed', result: { score: 0.93 } },
    });
    assert.ok(ev.status === 200 || ev.status === 201, ev.text);

    ({ browser, context, page, shots } = await openBrowser(srv, problems));
    await signIn(page, 'admin', srv.adminPassword);
  });

  // Leave the previous page (and its live long poll) before a test makes its data.
  beforeEach(async () => {
    await page.goto('about:blank');
  });

  after(async () => {
    await browser?.close();
    await srv?.stop();
  });

  // ------------------------------------------------------------ helpers

  const signIn = (p, user, pw) => signInAs(p, srv, user, pw);
  /** A second context (another person, signed out, or no JavaScript) recording problems too. */
  const otherContext = (opts = {}) => openContext(browser, srv, problems, opts);

  const params = (p = page) => new URL(p.url()).searchParams;
  const pathAndQuery = (p = page) => {
    const u = new URL(p.url());
    return u.pathname + u.search;
  };
  /** Click and wait for the navigation (a link, or a POST -> 303 -> GET) to land. */
  const go = (locator, p = page) => Promise.all([p.waitForNavigation({ waitUntil: 'load' }), locator.click()]);
  const flash = (p = page) => p.locator('.flash .flash-message');
  const statusBadge = (p = page) => p.locator('#session-status .badge');
  const headerActions = (p = page) =>
    p.locator('#session-actions button.btn-action').evaluateAll((bs) => bs.map((b) => b.className.match(/action-(\w+)/)[1]));
  const currentTabs = (p = page) =>
    p.locator('#session-tabs a.tab[aria-current]').evaluateAll((as) => as.map((a) => [a.className.match(/tab-(\w+)/)[1], a.getAttribute('aria-current')]));
  const feed = (p = page) => p.locator('#activity-feed');
  const entries = (p = page) => p.locator('#activity-feed > li');
  /** The "Copy link" button of the header (not a share link's Copy). */
  const copyLink = (p = page) => p.locator('.session-head-actions > button[data-copy]');
  /** Poll fn() until it returns a truthy value or ms pass; returns {value, elapsed}. */
  const until = async (fn, ms) => {
    const t0 = Date.now();
    let value;
    while (!(value = await fn()) && Date.now() - t0 < ms) await sleep(50);
    return { value, elapsed: Date.now() - t0 };
  };
  /** Count main-frame navigations from now on; also mark the document (a reload loses the mark). */
  async function watchReloads(p = page) {
    await p.evaluate(() => {
      window.__detailMark = 'still here';
    });
    let navigations = 0;
    const onNav = (f) => {
      if (f === p.mainFrame()) navigations++;
    };
    p.on('framenavigated', onNav);
    return {
      mark: () => p.evaluate(() => window.__detailMark),
      count: () => navigations,
      stop: () => p.off('framenavigated', onNav),
    };
  }

  // ------------------------------------------------------------ tests

  it('tabs: each tab is a link to its own view; the current one has aria-current; its panel shows', async () => {
    await page.goto(`${srv.url}/sessions/${rich.id}`);
    assert.deepEqual(
      await page.locator('#session-tabs a.tab').evaluateAll((as) => as.map((a) => a.className.match(/tab-(\w+)/)[1])),
      TABS,
      'every tab, the report and called agents included',
    );
    assert.deepEqual(await currentTabs(), [['summary', 'page']], 'a finished session opens on its summary');
    assert.equal(await page.locator('#session-live > section').getAttribute('id'), 'summary');

    const panelShows = {
      summary: async () => {
        assert.match(await page.locator('#summary .final-response').innerText(), /Order 9001 has shipped with DHL\./);
        assert.equal(await page.locator('#summary .final-response strong').innerText(), 'shipped', 'Markdown rendered');
        assert.match(await page.locator('#summary pre.prompt').innerText(), /Check order 9001 for ACME/);
        assert.equal(await page.locator('#summary mark.input-value').first().innerText(), 'ACME', 'the input value is marked in the prompt');
      },
      activity: async () => {
        const text = await feed().innerText();
        for (const s of ['Please check order 9001', 'I should call the order service.', 'get_order', 'Carrier API timed out', 'Order 9001 has shipped.']) {
          assert.ok(text.includes(s), `the feed shows ${s}:\n${text}`);
        }
        assert.ok(text.indexOf('Please check order 9001') < text.indexOf('get_order'), 'oldest first');
      },
      trace: async () => {
        assert.equal(await page.locator('#trace svg.waterfall g.wf-row').count(), 2);
        assert.deepEqual(await page.locator('#trace .spans-table code.span-name').allInnerTexts(), ['agent.run', 'llm.call']);
      },
      logs: async () => assert.deepEqual(await page.locator('#logs .log-body').allInnerTexts(), ['Looked up order 9001']),
      artifacts: async () => {
        assert.equal(await page.locator('#artifacts .artifact-name').innerText(), 'invoice-9001.txt');
        assert.match(await page.locator('#artifacts a[download]').getAttribute('href'), new RegExp(`^/sessions/${rich.id}/artifacts/`));
      },
      evals: async () => {
        assert.equal(await page.locator('#evals code.eval-id').innerText(), 'accuracy-v1');
        assert.equal(await page.locator('#evals .eval-head .badge').innerText(), 'Passed');
      },
      report: async () => {
        assert.equal(await page.locator('#report h2.report-title').innerText(), 'Order 9001 report');
        assert.match(await page.locator('#report article.report').innerText(), /DHL, tracking JD0123\./);
      },
      metadata: async () => {
        const text = await page.locator('#metadata').innerText();
        assert.ok(text.includes(rich.id), 'the session id');
        assert.match(text, /"team":\s*"ops"/, 'the metadata JSON');
      },
      agents: async () => {
        const link = page.locator('#agents a.row-title', { hasText: 'Detail child session' });
        assert.equal(await link.getAttribute('href'), `/sessions/${child.id}`);
      },
    };

    // Visit them out of order, so each click really changes the view.
    for (const key of ['activity', 'trace', 'logs', 'artifacts', 'evals', 'report', 'metadata', 'agents', 'summary']) {
      const before = page.url();
      await go(page.locator(`#session-tabs a.tab-${key}`));
      assert.notEqual(page.url(), before, `${key}: the URL changed`);
      assert.equal(new URL(page.url()).pathname, `/sessions/${rich.id}`);
      assert.equal(params().get('tab'), key, `${key}: ?tab= in the URL`);
      assert.deepEqual(await currentTabs(), [[key, 'page']], `${key}: only this tab is current`);
      const panels = await page.locator('#session-live > section').evaluateAll((ss) => ss.map((s) => s.id));
      assert.deepEqual(panels, [key], `${key}: exactly its panel`);
      assert.ok(await page.locator(`#session-live > section#${key}`).isVisible(), `${key}: the panel is visible`);
      await panelShows[key]();
      // "Copy link" holds this very view.
      assert.equal(await copyLink().getAttribute('data-copy'), pathAndQuery(), `${key}: Copy link holds the view`);
    }
    // The browser's Back button returns to the previous tab.
    await page.goBack();
    assert.equal(params().get('tab'), 'agents');
    assert.deepEqual(await currentTabs(), [['agents', 'page']]);
    assert.deepEqual(problems, []);
  });

  it('a tool call: Arguments and Result start collapsed, open on click as pretty JSON; Expand all / Collapse all', async () => {
    await page.goto(`${srv.url}/sessions/${rich.id}?tab=activity`);
    const tool = entries().filter({ has: page.locator('code.tool-name', { hasText: /^get_order$/ }) });
    assert.equal(await tool.count(), 1);
    for (const [label, value] of [['Arguments', ARGS], ['Result', RESULT]]) {
      const d = tool.locator('details.payload').filter({ has: page.locator('summary', { hasText: label }) });
      assert.equal(await d.count(), 1, `${label}: one <details>`);
      assert.equal(await d.evaluate((el) => el.open), false, `${label}: collapsed at first`);
      assert.ok(!(await d.locator('pre').isVisible()), `${label}: the JSON is hidden while collapsed`);
      await d.locator('summary').click();
      assert.equal(await d.evaluate((el) => el.open), true, `${label}: open after a click`);
      const pre = d.locator('pre.code-block');
      assert.ok(await pre.isVisible(), `${label}: the JSON shows`);
      const text = await pre.innerText();
      assert.deepEqual(JSON.parse(text), value, `${label}: the payload itself`);
      const lines = text.split('\n');
      assert.ok(lines.length >= 6, `${label}: pretty-printed over several lines:\n${text}`);
      assert.ok(lines.slice(1, -1).every((l) => /^\s+\S/.test(l)), `${label}: inner lines are indented:\n${text}`);
      // Its box is at least as tall as a few lines: CSS does not clip it to one.
      const box = await pre.boundingBox();
      assert.ok(box.height > 60, `${label}: ${box.height} px tall`);
      await d.locator('summary').click();
      assert.equal(await d.evaluate((el) => el.open), false, `${label}: closed again`);
    }

    // Expand all / Collapse all over the whole feed.
    const button = page.locator('#activity button[data-expand-all="activity-feed"]');
    const all = feed().locator('details');
    const openStates = () => all.evaluateAll((ds) => ds.map((d) => d.open));
    const n = await all.count();
    assert.ok(n >= 3, `details in the feed: ${n}`);
    assert.ok(await button.isVisible(), 'the button shows (there is something to expand)');
    assert.equal(await button.innerText(), 'Expand all');
    assert.equal(await button.getAttribute('aria-expanded'), 'false');
    await button.click();
    assert.deepEqual(await openStates(), Array(n).fill(true), 'Expand all opened every payload');
    assert.equal(await button.innerText(), 'Collapse all');
    assert.equal(await button.getAttribute('aria-expanded'), 'true');
    await button.click();
    assert.deepEqual(await openStates(), Array(n).fill(false), 'Collapse all closed them');
    assert.equal(await button.innerText(), 'Expand all');
    // The button follows payloads opened one by one.
    for (const s of await all.locator('summary').all()) await s.click();
    const followed = await until(async () => (await button.innerText()) === 'Collapse all', 1000);
    assert.ok(followed.value, `all opened by hand: the button offers Collapse all (says ${await button.innerText()})`);
    await all.first().locator('summary').click();
    const back = await until(async () => (await button.innerText()) === 'Expand all', 1000);
    assert.ok(back.value, 'one closed again: Expand all');

    // Nothing is hidden: no "Show hidden events" link (it used to point nowhere, href="").
    assert.equal(await page.locator('#activity .feed-hidden-toggle').count(), 0);
    assert.equal(await page.locator('#activity a[href=""]').count(), 0, 'no link to nowhere');
    await page.screenshot({ path: path.join(shots, 'session-activity.png'), fullPage: true });
    assert.deepEqual(problems, []);
  });

  it('Copy link copies the current view (tab and filter) as an absolute URL; the label confirms', async () => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: srv.url });
    await page.goto(`${srv.url}/sessions/${rich.id}?tab=activity&filter=tools`);
    assert.deepEqual(
      await entries().evaluateAll((lis) => lis.map((li) => li.querySelector('.tool-name')?.textContent)),
      ['get_order', 'notify_ops'],
      'the tools filter shows the tool calls only',
    );
    const label = copyLink().locator('[data-copy-label]');
    assert.equal(await label.innerText(), 'Copy link');
    await copyLink().click();
    await copyLink().locator('[data-copy-label]', { hasText: 'Copied' }).waitFor({ timeout: 2000 });
    let copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(copied, page.url(), 'the clipboard holds the page URL');
    assert.equal(new URL(copied).searchParams.get('tab'), 'activity');
    assert.equal(new URL(copied).searchParams.get('filter'), 'tools');
    // The label comes back.
    await copyLink().locator('[data-copy-label]', { hasText: 'Copy link' }).waitFor({ timeout: 3000 });

    // Another filter, another link.
    await go(page.locator('#activity nav.pills a.pill-errors'));
    assert.equal(params().get('filter'), 'errors');
    await page.evaluate(() => navigator.clipboard.writeText('stale'));
    await copyLink().click();
    await copyLink().locator('[data-copy-label]', { hasText: 'Copied' }).waitFor({ timeout: 2000 });
    copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(copied, `${srv.url}/sessions/${rich.id}?tab=activity&filter=errors`);
    assert.deepEqual(problems, []);
  });

  it('a deep link opened while signed out lands on the same view (tab and filter) after signing in', async () => {
    const link = `/sessions/${rich.id}?tab=activity&filter=errors`;
    const o = await otherContext();
    try {
      const p = o.page;
      await p.goto(srv.url + link);
      assert.equal(new URL(p.url()).pathname, '/login', 'signed out: the sign-in form');
      assert.equal(new URL(p.url()).searchParams.get('next'), link, 'the link is kept');
      await p.fill('input[name="username"]', reader.name);
      await p.fill('input[name="password"]', reader.pw);
      await Promise.all([p.waitForURL((u) => u.pathname === `/sessions/${rich.id}`), p.click('form button[type="submit"]')]);
      assert.equal(pathAndQuery(p), link, 'exactly the shared view');
      assert.deepEqual(await currentTabs(p), [['activity', 'page']]);
      assert.equal(await p.locator('#activity nav.pills a[aria-current="page"]').innerText(), 'Errors');
      const kinds = await entries(p).evaluateAll((lis) => lis.map((li) => (li.classList.contains('ev-error') ? 'error' : li.querySelector('.tool')?.dataset.state)));
      assert.deepEqual(kinds, ['failed', 'error'], 'errors only: the failed tool call and the error event');
      assert.match(await entries(p).last().innerText(), /Carrier API timed out/);
      // A viewer reads everything but has no quick actions.
      assert.deepEqual(await headerActions(p), []);
    } finally {
      await o.ctx.close();
    }
    assert.deepEqual(problems, []);
  });

  it('Pause from the header: back on the same tab, flash, badge Paused, the intervention at the end of the feed', async () => {
    const id = await reachStatus(srv, runtime, operator, 'running', { agent: `${RUN}-pause`, name: 'Detail pause me' });
    const view = `/sessions/${id}?tab=activity`;
    await page.goto(srv.url + view);
    assert.equal(await statusBadge().innerText(), 'Running');
    assert.deepEqual(await headerActions(), ['pause', 'cancel']);
    const before = await entries().count();

    await go(page.locator('#session-actions button.action-pause'));
    assert.equal(pathAndQuery(), view, 'back on the same view');
    assert.equal(await flash().innerText(), `Session ${id} paused.`);
    assert.equal(await statusBadge().innerText(), 'Paused');
    assert.deepEqual(await headerActions(), ['resume', 'cancel']);
    assert.equal(await entries().count(), before + 1, 'one new entry');
    const last = entries().last();
    assert.match(await last.getAttribute('class'), /\bev-lifecycle\b/);
    assert.match(await last.innerText(), /Paused by user:admin/);
    assert.deepEqual(await last.locator('.transition .badge').allTextContents(), ['running', 'paused']);
    assert.equal((await getSession(srv, viewer, id)).status, 'paused');
    const step = lifecycleSteps(await listEvents(srv, viewer, id)).at(-1);
    assert.deepEqual([step.action, step.to, step.actor], ['pause', 'paused', 'user:admin']);
    assert.deepEqual(problems, []);
  });

  it('Pause with a call in flight: "Pausing" in the feed, then the runtime settles it and the page follows live', async () => {
    const id = await reachStatus(srv, runtime, operator, 'running', { agent: `${RUN}-pausing`, name: 'Detail pausing me' });
    await append(srv, runtime, id, { type: 'tool_call', tool_call_id: 'busy', tool: 'long_job', kind: 'server', arguments: { n: 1 } });
    await page.goto(`${srv.url}/sessions/${id}?tab=activity`);
    await go(page.locator('#session-actions button.action-pause'));
    assert.equal(await flash().innerText(), `Session ${id} is pausing (waiting for tool calls in flight).`);
    assert.equal(await statusBadge().innerText(), 'Pausing');
    assert.match(await entries().last().innerText(), /(Pause requested|Pausing) by user:admin/);
    assert.deepEqual(await entries().last().locator('.transition .badge').allTextContents(), ['running', 'pausing']);

    const reloads = await watchReloads();
    try {
      await sleep(300);
      await append(srv, runtime, id, { type: 'tool_result', tool_call_id: 'busy', result: { done: true } });
      const settled = await until(async () => (await statusBadge().innerText()) === 'Paused', 4000);
      assert.ok(settled.value, `the badge follows to Paused (says ${await statusBadge().innerText()})`);
      const last = entries().last();
      assert.match(await last.innerText(), /Paused by/);
      assert.deepEqual(await last.locator('.transition .badge').allTextContents(), ['pausing', 'paused']);
      assert.deepEqual(await headerActions(), ['resume', 'cancel'], 'the actions follow');
      assert.equal(await reloads.mark(), 'still here', 'no reload');
      assert.equal(reloads.count(), 0, 'no navigation');
    } finally {
      reloads.stop();
    }
    assert.deepEqual(problems, []);
  });

  it('live: a posted event shows within 2 s without a reload, open payloads stay open; completing updates the badge and ends live', async (t) => {
    const id = await reachStatus(srv, runtime, operator, 'running', { agent: `${RUN}-live`, name: 'Detail live session' });
    await append(srv, runtime, id, { events: [
      { type: 'tool_call', tool_call_id: 'l1', tool: 'lookup', arguments: { q: 'first' } },
      { type: 'tool_result', tool_call_id: 'l1', result: { hits: 1 } },
    ] });
    await page.goto(`${srv.url}/sessions/${id}?tab=activity`);
    assert.equal(await statusBadge().innerText(), 'Running');
    assert.equal(await page.locator('#live .live-label').innerText(), 'Live');
    const toolEntry = await entries().last().getAttribute('id');
    assert.match(toolEntry, /^event-\d+$/);
    const payload = page.locator(`#${toolEntry} details.payload`).first();
    await payload.locator('summary').click();
    assert.equal(await payload.evaluate((d) => d.open), true);
    const countBefore = await entries().count();
    const tabCount = () => page.locator('#session-tabs a.tab-activity .tab-count').innerText();
    const tabCountBefore = await tabCount();
    await sleep(300); // the long poll is waiting
    const reloads = await watchReloads();
    try {
      const t0 = Date.now();
      await append(srv, runtime, id, { type: 'assistant_message', content: 'Live **arrival** number one' });
      const arrived = await until(async () => (await feed().innerText()).includes('Live arrival number one'), 2000);
      const elapsed = Date.now() - t0;
      assert.ok(arrived.value, 'the new entry arrived without a reload');
      assert.ok(elapsed <= 2000, `arrived after ${elapsed} ms`);
      assert.equal(await entries().count(), countBefore + 1);
      assert.match(await entries().last().getAttribute('class'), /\bev-assistant\b/, 'at the end of the feed');
      assert.equal(await entries().last().locator('strong').innerText(), 'arrival', 'rendered as on the server');
      assert.notEqual(await tabCount(), tabCountBefore, 'the tab count follows');
      assert.equal(await payload.evaluate((d) => d.open), true, 'the payload opened before the update is still open');

      // Completed: the badge changes, the actions go, live updates end.
      await append(srv, runtime, id, { type: 'status', status: 'completed', response: 'All done, live.' });
      const done = await until(async () => (await statusBadge().innerText()) === 'Completed', 4000);
      assert.ok(done.value, `the badge changed to Completed (says ${await statusBadge().innerText()})`);
      t.diagnostic(`new entry after ${elapsed} ms, Completed after ${done.elapsed} ms`);
      assert.match(await statusBadge().getAttribute('class'), /\bstatus-completed\b/);
      assert.deepEqual(await headerActions(), ['delete'], 'a finished session: only Delete (for an admin)');
      assert.notEqual(await page.locator('#session-facts .fact', { hasText: 'Ended' }).locator('dd').innerText(), '—', 'the end time shows');
      assert.equal(await page.locator('#live').count(), 0, 'the Live toggle goes: nothing more will change');
      assert.equal(await reloads.mark(), 'still here', 'no reload');
      assert.equal(reloads.count(), 0, 'no navigation');
    } finally {
      reloads.stop();
    }
    assert.deepEqual(problems, []);
  });

  it('Trace: the SVG waterfall is drawn (screenshot decoded: not blank, each bar in its colour where the bar is)', async () => {
    await page.goto(`${srv.url}/sessions/${rich.id}?tab=trace`);
    const svg = page.locator('#trace svg.waterfall');
    assert.equal(await svg.count(), 1);
    assert.deepEqual(await svg.locator('g.wf-row text.wf-label').allTextContents(), ['agent.run', 'llm.call']);
    const box = await svg.boundingBox();
    assert.ok(box.width >= 600 && box.height >= 40, `the waterfall has a size: ${JSON.stringify(box)}`);
    const png = decodePng(await svg.screenshot({ path: path.join(shots, 'session-waterfall.png') }));
    const sx = png.width / box.width, sy = png.height / box.height;

    // Not blank: many colours, and a good share of pixels unlike the background.
    const bg = png.pixel(1, 1).join();
    const colours = new Set();
    let ink = 0;
    for (let y = 0; y < png.height; y++) {
      for (let x = 0; x < png.width; x++) {
        const c = png.pixel(x, y).join();
        colours.add(c);
        if (c !== bg) ink++;
      }
    }
    const share = ink / (png.width * png.height);
    assert.ok(colours.size >= 8, `distinct colours: ${colours.size}`);
    assert.ok(share > 0.03, `pixels drawn: ${(share * 100).toFixed(1)}%`);

    // Each bar: the pixel at its centre has the bar's computed fill; the child starts later and is shorter.
    const bars = await svg.locator('rect.wf-bar').all();
    assert.equal(bars.length, 2);
    const boxes = [];
    for (const bar of bars) {
      const b = await bar.boundingBox();
      boxes.push(b);
      const fill = (await bar.evaluate((el) => getComputedStyle(el).fill)).match(/\d+/g).map(Number);
      const px = png.pixel(Math.round((b.x + b.width / 2 - box.x) * sx), Math.round((b.y + b.height / 2 - box.y) * sy));
      assert.ok(fill.slice(0, 3).every((v, i) => Math.abs(v - px[i]) <= 3), `bar centre ${px} is its fill ${fill}`);
      assert.notEqual(px.slice(0, 3).join(), bg.split(',').slice(0, 3).join(), 'a bar is not background');
    }
    // Nothing overlaps: the axis labels above the first bar, each row's label and duration on its bar's line.
    const overlap = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
    const axis = await svg.locator('text.wf-axis').evaluateAll((ts) => ts.map((t) => [t.textContent, JSON.parse(JSON.stringify(t.getBoundingClientRect()))]));
    assert.equal(axis.length, 5);
    for (const [text, r] of axis) {
      for (const b of boxes) assert.ok(!overlap(r, b), `the axis label ${text} ${JSON.stringify(r)} is not under a bar ${JSON.stringify(b)}`);
    }
    for (const [i, row] of (await svg.locator('g.wf-row').all()).entries()) {
      for (const cls of ['wf-label', 'wf-dur']) {
        const r = await row.locator(`text.${cls}`).boundingBox();
        const mid = r.y + r.height / 2;
        assert.ok(mid > boxes[i].y && mid < boxes[i].y + boxes[i].height, `row ${i}: ${cls} sits on its bar's line`);
      }
    }
    assert.ok(boxes[1].x > boxes[0].x + 10, 'the child span starts later');
    assert.ok(boxes[1].width < boxes[0].width, 'and is shorter');
    assert.match(await bars[0].getAttribute('class'), /\bwf-ok\b/);
    assert.match(await bars[1].getAttribute('class'), /\bwf-error\b/);
    assert.deepEqual(problems, []);
  });

  it('no script from any payload runs: activity (also after live updates), summary, trace, report, logs, metadata', async () => {
    const P = (k) =>
      `Hi <script>window.__xss_${k}_s=1</script> <img src="data:," onerror="window.__xss_${k}_i=1"> ` +
      `<svg onload="window.__xss_${k}_v=1"></svg> [click me](javascript:window.__xss_${k}_j=1) ` +
      `<a href="javascript:window.__xss_${k}_a=1">raw link</a> <iframe srcdoc="<script>parent.__xss_${k}_f=1</script>"></iframe>`;
    const s = await createSession(srv, runtime, {
      agent: `${RUN}-xss`,
      name: `XSS <img src="data:," onerror="window.__xss_name_i=1"> session`,
      prompt: P('prompt'),
      inputs: { q: P('input') },
      metadata: { note: P('meta') },
    });
    const id = s.id;
    await append(srv, runtime, id, { events: [
      { type: 'user_message', content: P('user') },
      { type: 'thought', content: P('thought') },
      { type: 'tool_call', tool_call_id: 'x1', tool: '<img src="data:," onerror="window.__xss_tool_i=1">', arguments: { q: P('args') } },
      { type: 'tool_result', tool_call_id: 'x1', result: { html: P('result') } },
      { type: 'error', message: P('error'), step: '<script>window.__xss_step_s=1</script>' },
      { type: 'log', severity: 'warn', body: P('log') },
    ] });

    const clean = async (where) => {
      const found = await page.evaluate(() => {
        const flags = Object.keys(window).filter((k) => k.startsWith('__xss'));
        const scripts = [...document.scripts].map((el) => el.src || el.textContent.slice(0, 60)).filter((src) => !src.endsWith('/static/app.js'));
        const handlers = [];
        for (const el of document.querySelectorAll('*')) {
          for (const a of el.attributes) if (/^on/i.test(a.name)) handlers.push(`${el.tagName.toLowerCase()}[${a.name}]`);
        }
        const jsUrls = [...document.querySelectorAll('[href], [src], [action], [formaction]')]
          .map((el) => el.getAttribute('href') ?? el.getAttribute('src') ?? el.getAttribute('action') ?? el.getAttribute('formaction'))
          .filter((u) => /^\s*javascript:/i.test(u));
        const embeds = [...document.querySelectorAll('iframe, object, embed, [srcdoc], main img, main svg:not(.waterfall)')].map((el) => el.outerHTML.slice(0, 80));
        return { flags, scripts, handlers, jsUrls, embeds };
      });
      assert.deepEqual(found, { flags: [], scripts: [], handlers: [], jsUrls: [], embeds: [] }, `${where}: nothing from a payload became markup`);
    };
    const shows = async (where, selector, key) => {
      const text = await page.locator(selector).innerText();
      assert.ok(text.includes(`<script>window.__xss_${key}_s=1</script>`), `${where}: the payload shows as text:\n${text.slice(0, 600)}`);
    };

    await page.goto(`${srv.url}/sessions/${id}?tab=activity`);
    assert.match(await page.locator('h1#session-title').innerText(), /^XSS <img src="data:," onerror="window.__xss_name_i=1"> session$/);
    await page.locator('#activity button[data-expand-all]').click(); // open every payload
    await shows('activity', '#activity-feed', 'user');
    await shows('activity', '#activity-feed', 'thought');
    await shows('activity', '#activity-feed', 'args');
    await shows('activity', '#activity-feed', 'result');
    await shows('activity', '#activity-feed', 'error');
    // The Markdown link with a javascript: URL: clicking it runs nothing.
    const mdLink = feed().locator('a', { hasText: 'click me' }).first();
    assert.equal(await mdLink.count(), 1, 'the Markdown link is a link');
    await mdLink.click();
    await sleep(100);
    await clean('activity');

    // Live: payloads arriving while the page is open go through app.js's swap.
    await sleep(300);
    await append(srv, runtime, id, { type: 'assistant_message', content: P('live') });
    const arrived = await until(async () => (await feed().innerText()).includes('__xss_live_s'), 4000);
    assert.ok(arrived.value, 'the live payload arrived');
    await shows('activity (live)', '#activity-feed', 'live');
    await append(srv, runtime, id, { type: 'status', status: 'completed', response: P('final') });
    const done = await until(async () => (await statusBadge().innerText()) === 'Completed', 4000);
    assert.ok(done.value, 'completed');
    await sleep(200);
    await clean('activity after live updates');

    const put = await srv.api('PUT', `/api/v1/sessions/${id}/report`, {
      token: runtime,
      json: { title: '<script>window.__xss_rtitle_s=1</script>', summary: P('report'), markdown: P('reportmd') },
    });
    assert.equal(put.status, 200, put.text);

    await go(page.locator('#session-tabs a.tab-summary'));
    await shows('summary', '#summary .final-response', 'final');
    await shows('summary', '#summary pre.prompt', 'prompt');
    await shows('summary', '#summary .kv-table', 'input');
    await clean('summary');

    await go(page.locator('#session-tabs a.tab-trace'));
    assert.ok(await page.locator('#trace .waterfall-note').isVisible(), 'no spans: the waterfall of tool calls');
    assert.equal(await page.locator('#trace svg.waterfall text.wf-label').textContent(), '<img src="data:," onerror="window.__xss_tool_i=1">');
    await shows('trace', '#trace .log-lines', 'log');
    await clean('trace');

    await go(page.locator('#session-tabs a.tab-report'));
    await shows('report', '#report article.report', 'report');
    await shows('report', '#report article.report', 'reportmd');
    assert.equal(await page.locator('#report h2.report-title').innerText(), '<script>window.__xss_rtitle_s=1</script>');
    await clean('report');

    await go(page.locator('#session-tabs a.tab-logs'));
    await shows('logs', '#logs', 'log');
    await clean('logs');

    await go(page.locator('#session-tabs a.tab-metadata'));
    await shows('metadata', '#metadata', 'meta');
    await clean('metadata');
    assert.deepEqual(problems, []);
  });

  it('share: a link made in the Share panel opens read-only in a fresh signed-out browser, without actions', async () => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: srv.url });
    await page.goto(`${srv.url}/sessions/${rich.id}?tab=summary`);
    const panel = page.locator('details#share-panel');
    assert.equal(await panel.evaluate((d) => d.open), false);
    await panel.locator('summary').click();
    assert.ok(await panel.locator('form.share-form').isVisible(), 'the panel opened');
    assert.ok(await panel.locator('.share-none').isVisible(), 'no links yet');
    await panel.locator('select[name="expires"]').selectOption('24h');
    await go(panel.locator('form.share-form button[type="submit"]'));
    assert.equal(pathAndQuery(), `/sessions/${rich.id}?tab=summary`, 'back on the same view');
    assert.equal(await flash().innerText(), 'Share link created: copy it from the Share panel.');
    await page.locator('details#share-panel summary').click();
    const item = page.locator('#share-panel li.share-link');
    assert.equal(await item.count(), 1);
    assert.equal(await item.locator('.badge').innerText(), 'Active');
    const shareUrl = await item.locator('code.share-url').innerText();
    assert.match(shareUrl, /\/share\/\S+$/);
    await item.locator('button[data-copy]').click();
    await item.locator('[data-copy-label]', { hasText: 'Copied' }).waitFor({ timeout: 2000 });
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(new URL(copied).origin, srv.url, 'copied as an absolute URL');
    assert.ok(copied.endsWith(shareUrl), `the copied link ${copied} is the listed one ${shareUrl}`);

    const o = await otherContext();
    try {
      const p = o.page;
      const res = await p.goto(copied);
      assert.equal(res.status(), 200);
      assert.equal(new URL(p.url()).pathname, new URL(copied).pathname, 'no redirect to the sign-in form');
      assert.equal((await o.ctx.cookies()).filter((c) => c.name === 'fd_session').length, 0, 'signed out');
      assert.match(await p.locator('.share-banner').innerText(), /Read-only link shared by admin/);
      assert.equal(await p.locator('h1#session-title').innerText(), 'Detail rich session');
      assert.equal(await p.locator('#session-status .badge').innerText(), 'Completed');
      assert.match(await p.locator('#summary .final-response').innerText(), /Order 9001 has shipped with DHL\./);
      const noActions = async (where) => {
        assert.equal(await p.locator('main form').count(), 0, `${where}: no forms`);
        assert.equal(await p.locator('#session-actions, button.btn-action, #share-panel, #live').count(), 0, `${where}: no actions, share panel or live toggle`);
        assert.equal(await p.locator('main a[href^="/sessions"]').count(), 0, `${where}: no links into signed-in pages`);
      };
      await noActions('summary');
      // The tabs stay in the share view.
      await go(p.locator('#session-tabs a.tab-activity'), p);
      assert.equal(new URL(p.url()).pathname, new URL(copied).pathname);
      assert.equal(params(p).get('tab'), 'activity');
      assert.match(await feed(p).innerText(), /Please check order 9001/);
      await noActions('activity');
      await go(p.locator('#session-tabs a.tab-agents'), p);
      assert.equal(await p.locator('#agents .tree-name', { hasText: 'Detail child session' }).count(), 1);
      await noActions('agents');
      await p.screenshot({ path: path.join(shots, 'session-share.png'), fullPage: true });
    } finally {
      await o.ctx.close();
    }
    assert.deepEqual(problems, []);
  });
});
