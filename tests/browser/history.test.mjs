// The History page (/sessions) in a real browser (headless Chromium, the
// launcher of browser.mjs): filter through the status menu and the agent
// select, chips that drop one filter each; sort by a column header both ways;
// a copied link reproduces the view for another person; row selection, the
// bulk bar and a confirmed bulk cancel; a quick action that keeps the
// filters; live updates (new rows, status changes, the Live toggle) without
// a reload; saved views; the summary strip; and the whole page without
// JavaScript. Every test works on its own agent name, so no test sees another
// test's sessions. One server and one browser for the file; no console
// errors, CSP violations or failed requests anywhere.
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openBrowser, openContext, signIn as signInAs } from './browser.mjs';
import { startServer } from '../lib/server.mjs';
import { append, getSession, reachStatus, act, sleep } from '../lib/fixtures.mjs';

const RUN = `hist-${Date.now()}`;
const agentFor = (n) => `${RUN}-${n}`;

describe('History page in Chromium', () => {
  let srv, browser, context, page, shots, runtime, operator, viewer;
  const problems = []; // console errors, page errors, CSP violations, failed requests, HTTP errors
  const other = { name: 'hist-viewer', pw: 'hist-viewer-password-1' };

  before(async () => {
    srv = await startServer();
    [runtime, operator, viewer] = await Promise.all([srv.token('runtime'), srv.token('operator'), srv.token('viewer')]);
    await srv.addUser(other.name, other.pw, 'viewer');
    ({ browser, context, page, shots } = await openBrowser(srv, problems));
    await signIn(page, 'admin', srv.adminPassword);
  });

  // Leave the previous page before a test makes its data: otherwise that
  // page's live update would fetch itself again and the test's first
  // navigation would abort that fetch (a failed request).
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

  /** A session of `agent` brought to `status`, with an optional cost (a usage event while running). */
  async function make(agent, status, { name, cost } = {}) {
    const id = await reachStatus(srv, runtime, operator, cost === undefined ? status : 'running', { agent, name: name || `${agent} ${status}` });
    if (cost !== undefined) {
      await append(srv, runtime, id, { type: 'usage', model: 'gpt-4o', prompt_tokens: 100, completion_tokens: 10, cost });
      if (status === 'completed') await append(srv, runtime, id, { type: 'status', status: 'completed', response: 'done' });
      else if (status === 'failed') await append(srv, runtime, id, { type: 'status', status: 'failed', error: 'boom' });
      else assert.equal(status, 'running', 'make(): cost only for running, completed, failed');
    }
    return id;
  }

  const rowIds = (p = page) => p.locator('#sessions-live tbody tr[data-id]').evaluateAll((trs) => trs.map((t) => t.dataset.id));
  const row = (id, p = page) => p.locator(`#sessions-live tbody tr[data-id="${id}"]`);
  const badge = (id, p = page) => row(id, p).locator('.col-status .badge');
  const flash = (p = page) => p.locator('.flash .flash-message');
  const chips = (p = page) => p.locator('ul.filter-chips a.filter-chip').evaluateAll((as) => as.map((a) => a.getAttribute('aria-label')));
  const params = (p = page) => new URL(p.url()).searchParams;
  const pathAndQuery = (p = page) => {
    const u = new URL(p.url());
    return u.pathname + u.search;
  };
  /** Click and wait for the navigation (a link, or a POST -> 303 -> GET) to land. */
  const go = (locator, p = page) => Promise.all([p.waitForNavigation({ waitUntil: 'load' }), locator.click()]);
  const bar = (p = page) => p.locator('#bulk-form');
  const visibleBulkActions = (p = page) =>
    bar(p).locator('button[data-bulk-action]').evaluateAll((bs) => bs.filter((b) => !b.hidden && b.offsetParent !== null).map((b) => b.dataset.bulkAction));
  /** The ids of the API's list for a query string, in its order. */
  const apiIds = async (query) => {
    const r = await srv.api('GET', `/api/v1/sessions?${query}`, { token: viewer });
    assert.equal(r.status, 200, r.text);
    return r.json.data.map((s) => s.id);
  };
  /** Poll fn() until it returns a truthy value or ms pass; returns {value, elapsed}. */
  const until = async (fn, ms) => {
    const t0 = Date.now();
    let value;
    while (!(value = await fn()) && Date.now() - t0 < ms) await sleep(100);
    return { value, elapsed: Date.now() - t0 };
  };

  // ------------------------------------------------------------ tests

  it('filter: status menu + agent select, Apply; chips; removing a chip drops exactly that filter', async () => {
    const agent = agentFor(1);
    const run1 = await make(agent, 'running');
    const run2 = await make(agent, 'running');
    const done = await make(agent, 'completed');
    const failed = await make(agent, 'failed');
    const noise = await make(agentFor('1-other'), 'running'); // another agent, same status

    await page.goto(`${srv.url}/sessions`);
    assert.equal(await page.locator('ul.filter-chips').count(), 0, 'no chips without filters');
    const menu = page.locator('details.status-menu');
    assert.equal(await menu.getAttribute('open'), null, 'the status menu starts closed');
    await menu.locator('summary').click();
    assert.notEqual(await menu.getAttribute('open'), null, 'the status menu opened');
    await menu.locator('input[name="status"][value="running"]').check();
    assert.equal(await menu.locator('[data-status-summary]').innerText(), 'Running', 'the menu summary follows the ticked box');
    await page.selectOption('#f-agent', agent);
    await go(page.locator('form.history-filters button[type="submit"]', { hasText: 'Apply' }));

    assert.equal(new URL(page.url()).pathname, '/sessions');
    assert.deepEqual(params().getAll('status'), ['running']);
    assert.equal(params().get('agent'), agent);
    assert.deepEqual(new Set(await rowIds()), new Set([run1, run2]), 'only the running sessions of the agent');
    assert.ok(!(await rowIds()).includes(noise));
    assert.deepEqual(await chips(), ['Remove filter Status: Running', `Remove filter Agent: ${agent}`]);
    // The form shows what is applied.
    assert.equal(await page.locator('#f-agent').inputValue(), agent);
    assert.equal(await page.locator('details.status-menu [data-status-summary]').innerText(), 'Running');
    assert.ok(await page.locator('details.status-menu input[value="running"]').isChecked());
    assert.match(await page.locator('#sessions-count').innerText(), /^2 sessions on this page$/);

    // Remove the status chip: the agent filter stays, every status is back.
    await go(page.locator('a.filter-chip[aria-label="Remove filter Status: Running"]'));
    assert.deepEqual(params().getAll('status'), [], 'status dropped');
    assert.equal(params().get('agent'), agent, 'agent kept');
    assert.deepEqual(new Set(await rowIds()), new Set([run1, run2, done, failed]));
    assert.deepEqual(await chips(), [`Remove filter Agent: ${agent}`]);

    // Remove the agent chip too: no chips, the other agent's session is listed again.
    await go(page.locator(`a.filter-chip[aria-label="Remove filter Agent: ${agent}"]`));
    assert.equal(params().get('agent'), null);
    assert.equal(await page.locator('ul.filter-chips').count(), 0);
    assert.ok((await rowIds()).includes(noise));
    assert.deepEqual(problems, []);
  });

  it('sort: the Cost header sorts by cost descending, again ascending; aria-sort follows', async () => {
    const agent = agentFor(2);
    const cheap = await make(agent, 'completed', { cost: 0.01 });
    const dear = await make(agent, 'completed', { cost: 0.9 });
    const mid = await make(agent, 'running', { cost: 0.25 });
    // The API agrees on the costs.
    assert.deepEqual(
      await Promise.all([cheap, dear, mid].map(async (id) => (await getSession(srv, viewer, id)).total_cost)),
      [0.01, 0.9, 0.25],
    );

    await page.goto(`${srv.url}/sessions?agent=${encodeURIComponent(agent)}`);
    assert.deepEqual(await rowIds(), [mid, dear, cheap], 'newest first by default');
    const th = page.locator('thead th.col-cost');
    assert.equal(await th.getAttribute('aria-sort'), 'none');
    assert.equal(await page.locator('thead th.col-started').getAttribute('aria-sort'), 'descending');

    await go(th.locator('a.sort-link'));
    assert.equal(params().get('sort'), 'cost');
    assert.notEqual(params().get('direction'), 'asc');
    assert.equal(params().get('agent'), agent, 'the filter stays');
    assert.deepEqual(await rowIds(), [dear, mid, cheap], 'cost descending');
    assert.deepEqual(await rowIds(), await apiIds(`agent=${encodeURIComponent(agent)}&sort=cost`), 'same order as the API');
    assert.equal(await th.getAttribute('aria-sort'), 'descending');
    assert.equal(await page.locator('thead th.col-started').getAttribute('aria-sort'), 'none');
    assert.ok(await th.locator('a.sort-link.is-sorted .icon-sort-desc').count(), 'descending arrow');
    assert.deepEqual(await page.locator('#sessions-live tbody td.col-cost').allInnerTexts(), ['$0.90', '$0.25', '$0.01'], 'cost cells');

    await go(page.locator('thead th.col-cost a.sort-link'));
    assert.equal(params().get('sort'), 'cost');
    assert.equal(params().get('direction'), 'asc');
    assert.deepEqual(await rowIds(), [cheap, mid, dear], 'cost ascending');
    assert.deepEqual(await rowIds(), await apiIds(`agent=${encodeURIComponent(agent)}&sort=cost&direction=asc`));
    assert.equal(await page.locator('thead th.col-cost').getAttribute('aria-sort'), 'ascending');
    assert.ok(await page.locator('thead th.col-cost a.sort-link.is-sorted .icon-sort-asc').count(), 'ascending arrow');
    assert.deepEqual(problems, []);
  });

  it('a copied link reproduces the view (filter + sort) for another person in a new browser context', async () => {
    const agent = agentFor(3);
    const a = await make(agent, 'running', { cost: 0.3 });
    const b = await make(agent, 'running', { cost: 0.02 });
    const c = await make(agent, 'running', { cost: 0.7 });
    await make(agent, 'completed', { cost: 5 }); // filtered out by status

    await page.goto(`${srv.url}/sessions`);
    await page.locator('details.status-menu summary').click();
    await page.locator('details.status-menu input[name="status"][value="running"]').check();
    await page.selectOption('#f-agent', agent);
    await go(page.locator('form.history-filters button[type="submit"]'));
    await go(page.locator('thead th.col-cost a.sort-link'));
    await go(page.locator('thead th.col-cost a.sort-link'));
    assert.deepEqual(params().getAll('status'), ['running']);
    assert.equal(params().get('agent'), agent);
    assert.equal(params().get('sort'), 'cost');
    assert.equal(params().get('direction'), 'asc');
    const ids = await rowIds();
    assert.deepEqual(ids, [b, a, c], 'running only, cost ascending');

    // "Copy link" copies this very view as an absolute URL.
    assert.equal(await page.locator('button[data-copy]').getAttribute('data-copy'), pathAndQuery(), 'Copy link holds the current view');
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: srv.url });
    await page.locator('button[data-copy]').click();
    await page.locator('button[data-copy] [data-copy-label]', { hasText: 'Copied' }).waitFor({ timeout: 2000 });
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(copied, page.url(), 'the clipboard holds the page URL');

    // Another person (a viewer), signed in in a fresh context, opens it.
    const o = await otherContext();
    try {
      await signIn(o.page, other.name, other.pw);
      await o.page.goto(copied);
      assert.deepEqual(await rowIds(o.page), ids, 'same rows in the same order');
      assert.equal(await o.page.locator('thead th.col-cost').getAttribute('aria-sort'), 'ascending');
      assert.deepEqual(await chips(o.page), await chips());
      assert.equal(await o.page.locator('#f-agent').inputValue(), agent);
      // A viewer has no bulk actions: no bar, no checkboxes, no quick actions.
      assert.equal(await o.page.locator('#sessions-live.no-bulk').count(), 1);
      assert.ok(!(await o.page.locator('#bulk-form').isVisible()), 'no bulk bar');
      assert.ok(!(await o.page.locator('#sessions-live input.row-select').first().isVisible()), 'no row checkboxes');
      assert.equal(await o.page.locator('#sessions-live button.btn-action').count(), 0);
    } finally {
      await o.ctx.close();
    }
    assert.deepEqual(problems, []);
  });

  it('select rows: the bulk bar offers only common actions; select-all; Cancel asks (dismiss: nothing; accept: both canceled)', async () => {
    const agent = agentFor(4);
    const r1 = await make(agent, 'running');
    const r2 = await make(agent, 'running');
    const r3 = await make(agent, 'running');
    const done = await make(agent, 'completed');
    const url = `${srv.url}/sessions?agent=${encodeURIComponent(agent)}&sort=status`;
    await page.goto(url);
    const before = pathAndQuery();
    assert.equal(await rowIds().then((x) => x.length), 4);
    assert.ok(!(await bar().isVisible()), 'the bar is hidden until a row is checked');

    const box = (id) => row(id).locator('input.row-select');
    await box(r1).check();
    await box(r2).check();
    assert.ok(await bar().isVisible(), 'the bar shows');
    assert.equal(await bar().locator('[data-bulk-count]').innerText(), '2 selected');
    assert.deepEqual(await visibleBulkActions(), ['pause', 'cancel']);
    assert.ok(!(await bar().locator('[data-bulk-none]').isVisible()));
    assert.ok(await row(r1).evaluate((tr) => tr.classList.contains('is-selected')));
    const all = page.locator('input.select-all');
    assert.equal(await all.evaluate((el) => el.indeterminate), true, 'some rows: indeterminate');

    // A completed row has no action in common with running ones.
    await box(done).check();
    assert.equal(await bar().locator('[data-bulk-count]').innerText(), '3 selected');
    assert.deepEqual(await visibleBulkActions(), []);
    assert.ok(await bar().locator('[data-bulk-none]').isVisible());
    assert.equal(await bar().locator('[data-bulk-none]').innerText(), 'No action applies to all selected sessions');

    // Select all: every row of the page.
    await all.check();
    const boxes = page.locator('#sessions-live input.row-select');
    assert.deepEqual(await boxes.evaluateAll((bs) => bs.map((b) => b.checked)), [true, true, true, true]);
    assert.equal(await bar().locator('[data-bulk-count]').innerText(), '4 selected');
    assert.equal(await all.evaluate((el) => el.indeterminate), false);
    // And clear it again.
    await all.uncheck();
    assert.deepEqual(await boxes.evaluateAll((bs) => bs.map((b) => b.checked)), [false, false, false, false]);
    assert.ok(!(await bar().isVisible()), 'nothing selected: the bar hides');

    await box(r1).check();
    await box(r2).check();
    assert.deepEqual(await visibleBulkActions(), ['pause', 'cancel']);

    // Dismissed: nothing is posted, nothing changes.
    let message = '';
    page.once('dialog', (d) => {
      message = d.message();
      d.dismiss();
    });
    await bar().locator('button[data-bulk-action="cancel"]').click();
    await sleep(400);
    assert.equal(message, 'Cancel the selected sessions? Tool calls in flight finish first; this cannot be undone.');
    assert.equal(pathAndQuery(), before);
    assert.equal(await flash().count(), 0);
    for (const id of [r1, r2, r3]) assert.equal((await getSession(srv, viewer, id)).status, 'running', `${id} untouched`);
    assert.ok(await box(r1).isChecked(), 'the selection stays');

    // Accepted: posted, back on the same view with a flash.
    let asked = 0;
    page.once('dialog', (d) => {
      asked++;
      d.accept();
    });
    await go(bar().locator('button[data-bulk-action="cancel"]'));
    assert.equal(asked, 1, 'the confirm dialog was shown');
    assert.equal(pathAndQuery(), before, 'back on the same filtered, sorted view');
    assert.equal(await flash().innerText(), 'Canceled 2 sessions.');
    assert.ok(await page.locator('.flash.flash-ok').isVisible());
    for (const id of [r1, r2]) {
      assert.ok(['canceled', 'canceling'].includes((await getSession(srv, viewer, id)).status), `${id} canceled`);
      assert.equal(await badge(id).innerText(), 'Canceled');
    }
    assert.equal((await getSession(srv, viewer, r3)).status, 'running', 'the unselected one is untouched');
    assert.equal((await getSession(srv, viewer, done)).status, 'completed');
    assert.equal(await page.locator('#sessions-live input.row-select:checked').count(), 0, 'a fresh page: nothing selected');
    assert.deepEqual(problems, []);
  });

  it('a quick action on a row: Pause keeps the filters, flash and badge Paused', async () => {
    const agent = agentFor(5);
    const id = await make(agent, 'running', { cost: 0.1 });
    const other5 = await make(agent, 'running', { cost: 0.2 });
    await page.goto(`${srv.url}/sessions?agent=${encodeURIComponent(agent)}&sort=cost&direction=asc`);
    const before = pathAndQuery();
    assert.equal(await badge(id).innerText(), 'Running');
    await go(row(id).locator('button.action-pause'));
    assert.equal(pathAndQuery(), before, 'the same view (filters and sort) after the redirect');
    assert.equal(await flash().innerText(), `Session ${id} paused.`);
    assert.equal(await badge(id).innerText(), 'Paused');
    assert.equal(await badge(other5).innerText(), 'Running');
    assert.deepEqual(await rowIds(), [id, other5], 'same rows, same order');
    assert.deepEqual(await row(id).locator('button.btn-action').evaluateAll((bs) => bs.map((b) => b.className.match(/action-(\w+)/)[1])), ['resume', 'cancel']);
    assert.equal((await getSession(srv, viewer, id)).status, 'paused');
    assert.deepEqual(problems, []);
  });

  it('live: a new session and a status change show without a reload; the Live toggle pauses and resumes', async (t) => {
    const agent = agentFor(6);
    const first = await make(agent, 'running');
    await page.goto(`${srv.url}/sessions?agent=${encodeURIComponent(agent)}`);
    assert.deepEqual(await rowIds(), [first]);
    const toggle = page.locator('#live button.live-toggle');
    assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
    assert.equal(await page.locator('#live .live-label').innerText(), 'Live');
    // Let the first long poll start, then mark the document: a reload would lose the mark.
    await sleep(300);
    await page.evaluate(() => {
      window.__historyMark = 'still here';
    });
    let navigations = 0;
    const onNav = (f) => {
      if (f === page.mainFrame()) navigations++;
    };
    page.on('framenavigated', onNav);
    const mark = () => page.evaluate(() => window.__historyMark);

    try {
      // A new session appears.
      const s2 = (await srv.api('POST', '/api/v1/sessions', { token: runtime, json: { agent, name: 'live arrival' } })).json.id;
      const arrived = await until(async () => (await row(s2).count()) === 1, 4000);
      assert.ok(arrived.value, 'the new row arrived without a reload');
      assert.ok(arrived.elapsed < 4000, `arrived after ${arrived.elapsed} ms`);
      assert.deepEqual(await rowIds(), [s2, first], 'newest first');
      assert.equal(await badge(s2).innerText(), 'Pending');
      assert.match(await page.locator('#sessions-count').innerText(), /^2 sessions on this page$/, 'the count outside the region follows');

      // A status change shows.
      await act(srv, operator, first, 'cancel');
      const changed = await until(async () => (await badge(first).innerText()) === 'Canceled', 4000);
      assert.ok(changed.value, `the badge changed to Canceled (now ${await badge(first).innerText()})`);
      t.diagnostic(`new row after ${arrived.elapsed} ms, status change after ${changed.elapsed} ms`);

      assert.equal(await mark(), 'still here', 'no reload');
      assert.equal(navigations, 0, 'no navigation');

      // Paused: nothing arrives.
      await toggle.click();
      assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
      assert.equal(await page.locator('#live .live-label').innerText(), 'Paused');
      const s3 = (await srv.api('POST', '/api/v1/sessions', { token: runtime, json: { agent, name: 'while paused' } })).json.id;
      await sleep(3000);
      assert.equal(await row(s3).count(), 0, 'paused: the new row does not appear');

      // Resumed: it arrives.
      await toggle.click();
      assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
      assert.equal(await page.locator('#live .live-label').innerText(), 'Live');
      const resumed = await until(async () => (await row(s3).count()) === 1, 4000);
      assert.ok(resumed.value, 'resumed: the row arrived');
      t.diagnostic(`after resuming, the held-back row arrived after ${resumed.elapsed} ms`);
      assert.deepEqual(await rowIds(), [s3, s2, first]);
      assert.equal(await mark(), 'still here', 'still no reload');
      assert.equal(navigations, 0, 'still no navigation');
    } finally {
      page.off('framenavigated', onNav);
    }
    await page.screenshot({ path: path.join(shots, 'history-live.png'), fullPage: true });
    assert.deepEqual(problems, []);
  });

  it('saved view: "Save this view" lists it in the sidebar; clicking it reproduces the filter', async () => {
    const agent = agentFor(7);
    const failed = await make(agent, 'failed');
    await make(agent, 'running');
    await make(agent, 'completed');
    const name = `Failed ${agent}`;
    await page.goto(`${srv.url}/sessions?agent=${encodeURIComponent(agent)}&status=failed`);
    assert.deepEqual(await rowIds(), [failed]);
    const views = page.locator('aside.views');
    assert.equal(await views.locator('a.view-link', { hasText: name }).count(), 0);

    await views.locator('details.save-view summary').click();
    await views.locator('#view-name').fill(name);
    await go(views.locator('form.save-view-form button[type="submit"]'));
    assert.equal(await flash().innerText(), `Saved view "${name}".`);
    const link = page.locator('aside.views a.view-link', { hasText: name });
    assert.equal(await link.count(), 1, 'the sidebar lists the view');

    // From the unfiltered list, the view brings the filter back.
    await page.goto(`${srv.url}/sessions`);
    await go(page.locator('aside.views a.view-link', { hasText: name }));
    assert.deepEqual(params().getAll('status'), ['failed']);
    assert.equal(params().get('agent'), agent);
    assert.deepEqual(await rowIds(), [failed]);
    assert.deepEqual(await chips(), ['Remove filter Status: Failed', `Remove filter Agent: ${agent}`]);
    assert.deepEqual(problems, []);
  });

  it('summary strip: a status facet filters the list; the chart is an SVG with bars', async () => {
    const agent = agentFor(8);
    await make(agent, 'running');
    await make(agent, 'completed');
    const f1 = await make(agent, 'failed');
    const f2 = await make(agent, 'failed');
    await page.goto(`${srv.url}/sessions?agent=${encodeURIComponent(agent)}`);
    const summary = page.locator('section.history-summary');
    assert.ok(await summary.isVisible());
    assert.equal(await summary.locator('.stat').first().locator('.stat-value').innerText(), '4', 'four sessions in the strip');
    assert.equal(await summary.locator('.stat-failure .stat-sub').innerText(), '2 failed');
    const svg = summary.locator('svg.chart');
    assert.equal(await svg.count(), 1);
    assert.ok((await svg.locator('rect').count()) > 0, 'the chart has rects');
    const segs = await svg.locator('rect.seg').evaluateAll((rs) => rs.map((r) => r.getAttribute('class')));
    assert.ok(segs.some((c) => c.includes('status-failed')), `a failed segment: ${segs}`);
    const box = await svg.boundingBox();
    assert.ok(box && box.width > 100 && box.height > 20, `the chart is drawn: ${JSON.stringify(box)}`);

    const facet = summary.locator('a.facet:has(.badge.status-failed)');
    assert.equal(await facet.locator('.facet-count').innerText(), '2');
    await go(facet);
    assert.deepEqual(params().getAll('status'), ['failed']);
    assert.equal(params().get('agent'), agent, 'the agent filter stays');
    assert.deepEqual(new Set(await rowIds()), new Set([f1, f2]));
    const selected = page.locator('section.history-summary a.facet.is-selected:not(.facet-agent)');
    assert.equal(await selected.count(), 1);
    assert.equal(await selected.getAttribute('aria-current'), 'true');
    assert.equal(await selected.locator('.badge').innerText(), 'Failed');
    assert.deepEqual(problems, []);
  });

  it('without JavaScript: rows, the filter form and a bulk action (every button shown) work', async () => {
    const agent = agentFor(9);
    const r1 = await make(agent, 'running');
    const r2 = await make(agent, 'running');
    const done = await make(agent, 'completed');
    const o = await otherContext({ javaScriptEnabled: false });
    const p = o.page;
    try {
      await signIn(p, 'admin', srv.adminPassword);
      assert.equal(await p.locator('html.js').count(), 0, 'app.js did not run');
      await p.goto(`${srv.url}/sessions?agent=${encodeURIComponent(agent)}`);
      assert.deepEqual(new Set(await rowIds(p)), new Set([r1, r2, done]), 'the rows are rendered by the server');
      assert.ok(!(await p.locator('#live').isVisible()), 'no Live toggle without JS');

      // The filter form: open the status menu (native <details>), tick, Apply.
      await p.locator('details.status-menu summary').click();
      await p.locator('details.status-menu input[name="status"][value="running"]').check();
      await go(p.locator('form.history-filters button[type="submit"]'), p);
      assert.deepEqual(params(p).getAll('status'), ['running']);
      assert.equal(params(p).get('agent'), agent);
      assert.deepEqual(new Set(await rowIds(p)), new Set([r1, r2]));
      const chipLabels = await chips(p);
      assert.deepEqual(chipLabels, ['Remove filter Status: Running', `Remove filter Agent: ${agent}`]);

      // Back to every status: the bulk bar shows with every button.
      await go(p.locator('a.filter-chip[aria-label="Remove filter Status: Running"]'), p);
      const filtered = pathAndQuery(p);
      assert.ok(await bar(p).isVisible(), 'the bar always shows without JS');
      assert.equal(await bar(p).locator('[data-bulk-count]').innerText(), 'With the selected sessions:');
      assert.deepEqual(await visibleBulkActions(p), ['pause', 'resume', 'cancel', 'delete']);

      // Pause two running sessions and the completed one: the server says which could not be paused.
      for (const id of [r1, r2, done]) await row(id, p).locator('input.row-select').check();
      await go(bar(p).locator('button[data-bulk-action="pause"]'), p);
      assert.equal(pathAndQuery(p), filtered, 'back on the same view');
      assert.equal(
        await flash(p).innerText(),
        `Paused 2 of 3 sessions. Not paused: ${done} (Completed: not allowed in that status).`,
      );
      assert.equal(await badge(r1, p).innerText(), 'Paused');
      assert.equal(await badge(r2, p).innerText(), 'Paused');
      assert.equal((await getSession(srv, viewer, r1)).status, 'paused');
      assert.equal((await getSession(srv, viewer, r2)).status, 'paused');
      assert.equal((await getSession(srv, viewer, done)).status, 'completed');

      // Cancel posts at once (the confirm is JavaScript's): no dialog, canceled.
      let dialogs = 0;
      p.on('dialog', (d) => {
        dialogs++;
        d.dismiss();
      });
      await row(r1, p).locator('input.row-select').check();
      await go(bar(p).locator('button[data-bulk-action="cancel"]'), p);
      assert.equal(dialogs, 0);
      assert.equal(await flash(p).innerText(), 'Canceled 1 session.');
      assert.equal((await getSession(srv, viewer, r1)).status, 'canceled');
      await p.screenshot({ path: path.join(shots, 'history-nojs.png'), fullPage: true });
    } finally {
      await o.ctx.close();
    }
    assert.deepEqual(problems, []);
  });
});
