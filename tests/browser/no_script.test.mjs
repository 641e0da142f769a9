// No script from any stored or reflected text ever runs (issue 8), in a real
// browser (headless Chromium, browser.mjs). Script payloads — <script>,
// <img onerror>, <svg onload>, javascript: URLs, "><script>, '><img>,
// </textarea>, and template syntax {{x}} {{{x}}} {{#x}} — go into every
// field a page shows: session name, agent, description, prompt, inputs,
// metadata, user data, messages, thoughts, tool names, arguments and
// results, tool errors, errors and steps, log lines, span names and
// attributes, usage models, artifact names, eval ids and results, the
// report, manual task arguments (Work Center), token names and audit
// entries (admin pages), saved view names, filter values in the URL, a
// path in an error page, and the share page. Then History (also after a
// live update), every detail tab, the Work Center, the admin pages and the
// share page are visited, and on each: no payload flag was set on window,
// no dialog opened, no console error or CSP violation, and no element from
// a payload exists (no foreign <script>, no on* attribute, no javascript:
// URL, no iframe/object/embed, no img or svg from text); where a field is
// shown, it shows as the literal text that was sent.
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser, openContext } from './browser.mjs';
import { startServer } from '../lib/server.mjs';
import { createSession, append, sleep } from '../lib/fixtures.mjs';

/** Every vector at once, flags named after `k` (for fields up to 1 MB). */
const P = (k) =>
  `<script>window.__xss_${k}_s=1</script><img src="data:," onerror="window.__xss_${k}_i=1">` +
  `<svg onload="window.__xss_${k}_v=1"></svg>"><script>window.__xss_${k}_q=1</script>` +
  `'><img src="data:," onerror="window.__xss_${k}_a=1"></textarea><script>window.__xss_${k}_t=1</script>` +
  `[md](javascript:window.__xss_${k}_j=1)<a href="javascript:window.__xss_${k}_h=1">a</a>` +
  `<iframe srcdoc="<script>parent.__xss_${k}_f=1</script>"></iframe>{{x}}{{{x}}}{{#x}}y{{/x}}{{>l}}`;
/** A shorter set for fields of at most 200 bytes. */
const S = (k) => `"><script>window.__xss_${k}_s=1</script><img src="data:," onerror="window.__xss_${k}_i=1">{{x}}{{{x}}}`;
/** For fields of at most 100 bytes. */
const T = (k) => `"><img src="data:," onerror="window.__xss_${k}_i=1">{{x}}`;
/** Without '/', for artifact names (which may not hold one). */
const A = (k) => `"><img src="data:," onerror="window.__xss_${k}_i=1"><svg onload="window.__xss_${k}_v=1">{{x}}.txt`;

const TABS = ['summary', 'activity', 'trace', 'logs', 'artifacts', 'evals', 'report', 'metadata', 'agents'];

describe('no script from any payload runs, on any page', () => {
  let srv, browser, context, page, runtime, operator;
  let evil, child, shareToken;
  const problems = [];
  const dialogs = [];
  let ownConfirm = null;
  /** Answers >= 400 this test asks for on purpose. */
  const expected404 = new Set();
  const ignore = (kind, info) => {
    if (kind === 'response') return (info.status === 404 || info.status === 400) && expected404.has(new URL(info.url).pathname);
    if (kind === 'console') return /status of 40[04]/.test(info.text) && info.type === 'error' && expected404.size > 0;
    if (kind === 'requestfailed') return info.errorText === 'net::ERR_ABORTED';
    return false;
  };

  before(async () => {
    srv = await startServer();
    [runtime, operator] = await Promise.all([srv.token('runtime'), srv.token('operator')]);
    // A token whose name is a payload, if the CLI takes it (its actions show in the audit).
    const tn = await srv.cli(['token', 'create', '--name', S('tokname'), '--role', 'runtime'], { allowFail: true });
    const evilToken = tn.code === 0 ? tn.stdout.trim() : runtime;

    evil = await createSession(srv, evilToken, {
      agent: S('agent'),
      name: P('name'),
      description: P('desc'),
      prompt: P('prompt'),
      inputs: { [S('inkey')]: P('input') },
      metadata: { [S('mkey')]: P('meta'), n: S('meta2') },
      user_data: { u: P('udata') },
      env: T('env'),
      cluster: T('cluster'),
      deployment: S('deploy'),
      thread_id: S('thread'),
      trigger_source: S('source'),
      actor: S('actor'),
      method: 'POST',
      url: `https://x.example/${P('url')}`,
      route_id: S('route'),
      status: 'running',
    });
    const t0 = Date.now() - 30000;
    await append(srv, evilToken, evil.id, {
      events: [
        { type: 'user_message', content: P('user') },
        { type: 'thought', content: P('thought') },
        { type: 'assistant_message', content: P('assistant') },
        { type: 'tool_call', tool_call_id: 'x1', tool: S('tool'), kind: 'server', arguments: { [S('argkey')]: P('args') } },
        { type: 'tool_result', tool_call_id: 'x1', result: { html: P('result') } },
        { type: 'tool_call', tool_call_id: 'x2', tool: S('tool2'), kind: 'server', arguments: {} },
        { type: 'tool_result', tool_call_id: 'x2', error: { category: T('errcat'), message: P('errmsg') } },
        { type: 'tool_call', tool_call_id: 'm1', tool: S('task'), kind: 'manual', arguments: { q: P('taskargs') } },
        { type: 'usage', model: S('model'), prompt_tokens: 10, completion_tokens: 5, cost: 0.01 },
        { type: 'span', trace_id: 't'.repeat(32), span_id: 'a'.repeat(16), name: S('span'), start: t0, end: t0 + 4000, status: 'error', attributes: { [S('attrkey')]: P('attr') } },
        { type: 'span', trace_id: 't'.repeat(32), span_id: 'b'.repeat(16), parent_span_id: 'a'.repeat(16), name: S('span2'), start: t0 + 100, end: t0 + 900 },
        { type: 'log', severity: 'error', body: P('log') },
        { type: 'error', message: P('error'), step: S('step') },
      ],
    });
    child = await createSession(srv, evilToken, { agent: S('childagent'), name: P('child'), trigger: 'agent', parent_session_id: evil.id, parent_tool_call_id: 'd1', status: 'running' });
    await append(srv, evilToken, evil.id, { type: 'tool_call', tool_call_id: 'd1', tool: S('delegate'), kind: 'agent', called_session_id: child.id, arguments: {} });
    const art = await srv.api('POST', `/api/v1/sessions/${evil.id}/artifacts`, { token: evilToken, json: { name: A('art'), media_type: 'text/html', content_base64: Buffer.from(P('artbody')).toString('base64') } });
    assert.equal(art.status, 201, art.text);
    const ev = await srv.api('POST', `/api/v1/sessions/${evil.id}/evals`, { token: evilToken, json: { eval_id: S('evalid'), state: 'failed', result: { why: P('evalres') } } });
    assert.equal(ev.status, 201, ev.text);
    const rep = await srv.api('PUT', `/api/v1/sessions/${evil.id}/report`, {
      token: evilToken,
      json: { title: P('rtitle'), summary: P('rsum'), sections: [{ title: P('rsect'), content: P('rsecc') }], markdown: P('rmd'), data: { [S('rdkey')]: P('rdata') } },
    });
    assert.equal(rep.status, 200, rep.text);
    // A completed session with a payload response and failure, for the History summary strip.
    const done = await createSession(srv, evilToken, { agent: S('agent'), name: P('done'), status: 'running' });
    await append(srv, evilToken, done.id, { type: 'status', status: 'failed', error: P('failerr'), step: S('failstep') });
    // An operator action audited, and a PATCH naming fields.
    await srv.api('PATCH', `/api/v1/sessions/${done.id}`, { token: operator, json: { description: P('patched') } });

    ({ browser, context, page } = await openBrowser(srv, problems, { ignore }));
    page.on('dialog', async (d) => {
      // The page's own confirm (data-confirm on the Reject button) is accepted when a test expects it.
      if (ownConfirm && d.type() === 'confirm' && d.message() === ownConfirm) {
        ownConfirm = null;
        await d.accept();
        return;
      }
      dialogs.push(`${d.type()}: ${d.message()}`);
      await d.dismiss();
    });
    await page.goto(`${srv.url}/login`);
    await page.fill('input[name="username"]', 'admin');
    await page.fill('input[name="password"]', srv.adminPassword);
    await Promise.all([page.waitForURL(/\/sessions$/), page.click('form button[type="submit"]')]);
  });

  // Each test answers for what happens during it.
  beforeEach(() => {
    problems.length = 0;
    dialogs.length = 0;
  });

  after(async () => {
    await browser?.close();
    await srv?.stop();
  });

  /** The page's own CSRF token. */
  const csrf = async (p = page) => p.locator('input[name="csrf"]').first().getAttribute('value');

  /** Nothing from a payload ran or became markup on page p. */
  async function clean(where, p = page) {
    await sleep(150); // let any onerror/onload fire first
    const found = await p.evaluate(() => {
      const flags = Object.keys(window).filter((k) => k.startsWith('__xss'));
      const scripts = [...document.scripts].map((el) => el.getAttribute('src') || `inline: ${el.textContent.slice(0, 60)}`).filter((src) => src !== '/static/app.js');
      const handlers = [];
      for (const el of document.querySelectorAll('*')) {
        for (const a of el.attributes) if (/^on/i.test(a.name)) handlers.push(`${el.tagName.toLowerCase()}[${a.name}]`);
      }
      const jsUrls = [...document.querySelectorAll('[href], [src], [action], [formaction], [xlink\\:href]')]
        .map((el) => el.getAttribute('href') ?? el.getAttribute('src') ?? el.getAttribute('action') ?? el.getAttribute('formaction') ?? el.getAttribute('xlink:href'))
        .filter((u) => /^\s*(javascript|data|vbscript):/i.test(u || ''));
      const embeds = [...document.querySelectorAll('iframe, object, embed, frame, [srcdoc], base, meta[http-equiv="refresh"], main img:not([src^="/static/"]), main svg:not(.waterfall):not(.chart)')]
        .map((el) => el.outerHTML.slice(0, 100));
      // A textarea whose text escaped its element would have left its closing tag early.
      const textareas = [...document.querySelectorAll('textarea')].filter((t) => /__xss/.test(t.value)).map((t) => t.name);
      return { flags, scripts, handlers, jsUrls, embeds, textareas };
    });
    assert.deepEqual(found, { flags: [], scripts: [], handlers: [], jsUrls: [], embeds: [], textareas: [] }, `${where}: nothing from a payload became markup`);
    assert.deepEqual(dialogs, [], `${where}: no dialog`);
    assert.deepEqual(problems, [], `${where}: no console error, CSP violation or failed request`);
  }

  /** The text of selector holds the payload literally. */
  async function shows(where, selector, text, p = page) {
    const got = await p.locator(selector).first().innerText();
    assert.ok(got.includes(text), `${where}: shows ${JSON.stringify(text.slice(0, 50))} as text in ${selector}:\n${got.slice(0, 400)}`);
  }

  it('every tab of the session page', async () => {
    for (const tab of TABS) {
      await page.goto(`${srv.url}/sessions/${evil.id}?tab=${tab}`);
      await clean(`tab ${tab}`);
    }
    await page.goto(`${srv.url}/sessions/${evil.id}?tab=activity`);
    assert.equal(await page.locator('h1#session-title').innerText(), P('name'), 'the name shows as sent, template syntax included');
    await page.locator('#activity button[data-expand-all]').click();
    for (const k of ['user', 'thought', 'assistant', 'args', 'result', 'errmsg', 'error']) await shows('activity', '#activity-feed', `<script>window.__xss_${k}_s=1</script>`);
    await shows('activity', '#activity-feed', '{{{x}}}');
    await clean('activity, expanded');
    // The activity filters and a hidden-events view.
    for (const q of ['filter=errors', 'filter=tools', 'filter=reasoning', 'hidden=1']) {
      await page.goto(`${srv.url}/sessions/${evil.id}?tab=activity&${q}`);
      await clean(`activity ${q}`);
    }
    await page.goto(`${srv.url}/sessions/${evil.id}?tab=summary`);
    await shows('summary', '#summary pre.prompt', `<script>window.__xss_prompt_s=1</script>`);
    await page.goto(`${srv.url}/sessions/${evil.id}?tab=metadata`);
    await shows('metadata', '#metadata', `<script>window.__xss_meta_s=1</script>`);
    await shows('metadata', '#metadata', `<script>window.__xss_udata_s=1</script>`);
    await page.goto(`${srv.url}/sessions/${evil.id}?tab=report`);
    await shows('report', '#report', `<script>window.__xss_rsum_s=1</script>`);
    await page.goto(`${srv.url}/sessions/${child.id}?tab=summary`);
    await clean('the called session, its caller named in the header');
    await page.goto(`${srv.url}/sessions/${evil.id}?tab=agents`);
    await shows('agents', 'main', `<script>window.__xss_child_s=1</script>`);
    await clean('agents');
  });

  it('History: the list, the summary strip, filter chips from the URL, and a live update', async () => {
    await page.goto(`${srv.url}/sessions`);
    await shows('history', 'main', `<script>window.__xss_name_s=1</script>`);
    await clean('history');
    const qs = [`agent=${encodeURIComponent(S('agent'))}`, `q=${encodeURIComponent(S('qtext'))}`, `environment=${encodeURIComponent(S('fenv'))}`,
      `meta=${encodeURIComponent(`${S('fmk')}=${S('fmv')}`)}`, `source=${encodeURIComponent(S('fsrc'))}`, `status=${encodeURIComponent(S('fstatus'))}`,
      `sort=${encodeURIComponent(S('fsort'))}`, `start_after=${encodeURIComponent(S('fafter'))}`, `cursor=${encodeURIComponent(S('fcur'))}`,
      `return_to=${encodeURIComponent(P('fret'))}`];
    for (const q of qs) {
      expected404.add('/sessions'); // a refused filter is a 400 error page, not a problem
      const r = await page.goto(`${srv.url}/sessions?${q}`);
      assert.ok([200, 400].includes(r.status()), `?${q}: ${r.status()}`);
      await clean(`history ?${q.slice(0, 30)}`);
      expected404.clear();
    }
    // Live: a session that arrives while the page is open comes in through app.js.
    await page.goto(`${srv.url}/sessions`);
    await sleep(500);
    await createSession(srv, runtime, { agent: S('liveagent'), name: P('live'), status: 'running' });
    let seen = false;
    for (let i = 0; i < 40 && !seen; i++) {
      await sleep(150);
      seen = (await page.locator('main').innerText()).includes('__xss_live_s');
    }
    assert.ok(seen, 'the live session arrived');
    await clean('history after a live update');
  });

  it('saved views: a payload view name in the sidebar and in its flash', async () => {
    await page.goto(`${srv.url}/sessions`);
    const name = `"><img src="data:," onerror="window.__xss_view_i=1">{{x}}`;
    const saved = await page.request.post(`${srv.url}/views`, { form: { csrf: await csrf(), name, query: 'status=failed', return_to: '/sessions' }, maxRedirects: 0 });
    assert.equal(saved.status(), 303);
    await page.goto(`${srv.url}/sessions`);
    await shows('saved view', 'main', name);
    await clean('history with the saved view and its flash');
    // Too long, with a payload: refused, and the message shows it as text at most.
    const r = await page.request.post(`${srv.url}/views`, { form: { csrf: await csrf(), name: `${P('viewlong')}`, query: '', return_to: '/sessions' }, maxRedirects: 0 });
    assert.equal(r.status(), 303);
    await page.goto(`${srv.url}/sessions`);
    await clean('history after a refused view');
  });

  it('Work Center: the manual task with payload tool name and arguments', async () => {
    await page.goto(`${srv.url}/tasks`);
    await shows('tasks', 'main', `<script>window.__xss_taskargs_s=1</script>`);
    await shows('tasks', 'main', S('task'));
    await clean('tasks');
    // A rejected completion whose reason is a payload: the flash and the session feed.
    const form = page.locator('form.task-form').first();
    await form.locator('textarea[name="result"]').fill(P('taskresult'));
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), form.locator('button[value="complete"]').click()]);
    await clean('tasks after a refused result');
    await form.locator('input[name="reason"]').fill(P('reason'));
    ownConfirm = 'Reject this task? The agent receives the rejection and your reason.';
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), form.locator('button[value="reject"]').click()]);
    assert.equal(ownConfirm, null, 'the page asked its own confirm');
    await clean('tasks after a rejection');
    await page.goto(`${srv.url}/sessions/${evil.id}?tab=activity`);
    await shows('activity', '#activity-feed', `<script>window.__xss_reason_s=1</script>`);
    await clean('activity with the rejection');
  });

  it('admin pages: users, tokens (a payload token name), the audit log and its filters', async () => {
    // Hostile names through the admin forms are refused; the flash shows them as text at most.
    await page.goto(`${srv.url}/admin/users`);
    for (const [url, form] of [['/admin/users', { username: S('uname'), password: 'a-good-password-1', role: 'viewer', project: '' }],
      ['/admin/tokens', { name: S('tname'), role: 'runtime', project: S('tproj') }],
      ['/admin/users', { username: 'fine-user-1', password: 'a-good-password-1', role: S('role'), project: '' }]]) {
      await page.goto(`${srv.url}${url}`);
      const r = await page.request.post(`${srv.url}${url}`, { form: { csrf: await csrf(), ...form }, maxRedirects: 0 });
      assert.ok(r.status() === 303 || r.status() === 400 || r.status() === 422, `${url}: ${r.status()}`);
      await page.goto(`${srv.url}${url}`);
      await clean(`${url} after a hostile form`);
    }
    for (const p of ['/admin/users', '/admin/tokens', '/admin/audit']) {
      await page.goto(`${srv.url}${p}`);
      await clean(p);
    }
    await page.goto(`${srv.url}/admin/audit`);
    await shows('audit', 'main', 'edit');
    for (const f of ['actor', 'action', 'session']) {
      await page.goto(`${srv.url}/admin/audit?${f}=${encodeURIComponent(S(`audit${f}`))}`);
      await clean(`/admin/audit?${f}=`);
    }
  });

  it('the share page, every tab, in a fresh signed-out browser', async () => {
    await page.goto(`${srv.url}/sessions/${evil.id}`);
    const r = await page.request.post(`${srv.url}/sessions/${evil.id}/share`, { form: { csrf: await csrf(), expires: '24h', return_to: `/sessions/${evil.id}` }, maxRedirects: 0 });
    assert.equal(r.status(), 303);
    await page.goto(`${srv.url}/sessions/${evil.id}`);
    await clean('session page with the Share panel');
    shareToken = (/\/share\/([0-9]+\.[0-9]+\.[A-Za-z0-9_-]+)/.exec(await page.content()) || [])[1];
    assert.ok(shareToken, 'the Share panel lists the link');
    const { ctx: anon, page: p } = await openContext(browser, srv, problems);
    p.on('dialog', async (d) => {
      dialogs.push(`[share] ${d.type()}: ${d.message()}`);
      await d.dismiss();
    });
    try {
      for (const tab of TABS) {
        const res = await p.goto(`${srv.url}/share/${shareToken}?tab=${tab}`);
        assert.equal(res.status(), 200, tab);
        await clean(`share ${tab}`, p);
      }
      assert.equal(await p.locator('h1').first().innerText(), P('name'));
    } finally {
      await anon.close();
    }
  });

  it('reflected: a payload in the path of an error page and in the sign-in next', async () => {
    const path404 = `/sessions/${encodeURIComponent(S('path'))}`;
    expected404.add(new URL(srv.url + path404).pathname);
    await page.goto(`${srv.url}${path404}`);
    await clean('404 page');
    await page.goto(`${srv.url}/nothing/${encodeURIComponent('{{x}}<script>window.__xss_p2_s=1</script>')}`);
    expected404.clear();
    problems.length = 0; // the 404s above are the point
    dialogs.length = 0;
    const anon = await browser.newContext();
    const p = await anon.newPage();
    p.on('dialog', async (d) => {
      dialogs.push(`[login] ${d.type()}: ${d.message()}`);
      await d.dismiss();
    });
    try {
      await p.goto(`${srv.url}/login?next=${encodeURIComponent(`"><script>window.__xss_next_s=1</script>`)}`);
      await clean('login with a payload next', p);
      await p.goto(`${srv.url}/login?next=${encodeURIComponent('javascript:window.__xss_next_j=1')}`);
      await p.fill('input[name="username"]', 'admin');
      await p.fill('input[name="password"]', srv.adminPassword);
      await Promise.all([p.waitForURL(/\/sessions$/), p.click('form button[type="submit"]')]);
      await clean('after sign-in with a javascript: next', p);
    } finally {
      await anon.close();
    }
  });
});
