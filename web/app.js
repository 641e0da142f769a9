// Flightdeck: progressive enhancement only. Every page works without this
// file; it refreshes relative times and running durations, asks before
// destructive submits (data-confirm), copies links (data-copy), closes
// pop-over menus (details.menu), selects read-only values on click, opens
// and closes every <details> of a list at once (data-expand-all), on the
// History page adds bulk selection, and on the History and session detail
// pages live updates.
// No inline handlers anywhere: the Content-Security-Policy forbids them.
'use strict';

(() => {
  const root = document.documentElement;
  root.classList.add('js');

  // --- (a) relative times: <time class="rel" datetime="RFC 3339"> -------
  // The same words as the server (cgi/fmt.c, fmt_rel): "just now",
  // "3 min ago", "5 h ago", "2 days ago". Past 30 days the server prints a
  // date, which stays as it is.
  const SEC = 1000;

  const relText = (ms) => {
    const d = Math.max(0, Math.floor(ms / SEC));
    if (d < 45) return 'just now';
    if (d < 3600) return `${Math.floor((d + 30) / 60)} min ago`;
    if (d < 86400) return `${Math.floor(d / 3600)} h ago`;
    if (d < 86400 * 30) {
      const days = Math.floor(d / 86400);
      return `${days} day${days === 1 ? '' : 's'} ago`;
    }
    return null;
  };

  const refreshTimes = () => {
    const now = Date.now();
    for (const el of document.querySelectorAll('time.rel[datetime]')) {
      const at = Date.parse(el.getAttribute('datetime'));
      if (Number.isNaN(at)) continue;
      const text = relText(now - at);
      if (text !== null && el.textContent !== text) el.textContent = text;
    }
  };

  // --- live durations: <span data-live-since="RFC 3339"> (running) ------
  // The same format as the server (cgi/fmt.c, fmt_duration): "840 ms",
  // "12.4 s", "3m 12s", "2h 05m", "3d 4h".
  const pad = (n) => String(n).padStart(2, '0');
  const durText = (ms) => {
    ms = Math.max(0, Math.floor(ms));
    if (ms < 1000) return `${ms} ms`;
    if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
    if (ms < 3600000) return `${Math.floor(ms / 60000)}m ${pad(Math.floor(ms / 1000) % 60)}s`;
    if (ms < 86400000) return `${Math.floor(ms / 3600000)}h ${pad(Math.floor(ms / 60000) % 60)}m`;
    return `${Math.floor(ms / 86400000)}d ${Math.floor(ms / 3600000) % 24}h`;
  };

  const refreshDurations = () => {
    const now = Date.now();
    for (const el of document.querySelectorAll('[data-live-since]')) {
      const since = Date.parse(el.getAttribute('data-live-since'));
      if (Number.isNaN(since)) continue;
      const text = durText(now - since);
      if (el.textContent !== text) el.textContent = text;
    }
  };

  // The one-second ticker starts when the page has a live duration, or
  // gets one later (the History page's live updates).
  let durationTimer = 0;
  const ensureDurationTicker = () => {
    if (!durationTimer && document.querySelector('[data-live-since]')) {
      durationTimer = setInterval(refreshDurations, SEC);
    }
  };

  const start = () => {
    refreshTimes();
    refreshDurations();
    setInterval(refreshTimes, 30 * SEC);
    ensureDurationTicker();
    updateBulk();
    syncExpandButtons();
    startLive();
  };

  // --- (b) confirm before submitting: <form data-confirm="message"> -------
  // A submit button may carry its own data-confirm (bulk actions).
  let confirming = false; // a confirm dialog is open: live updates wait
  let leaving = false;    // a form was submitted: the page is about to go
  document.addEventListener('submit', (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    const button = event.submitter;
    const message = (button && button.dataset.confirm) || form.dataset.confirm;
    if (!message) return;
    confirming = true;
    try {
      if (!window.confirm(message)) event.preventDefault();
    } finally {
      confirming = false;
    }
  }, true);
  // Bubbling phase, after every check: a submit that goes ahead.
  document.addEventListener('submit', (event) => {
    if (!event.defaultPrevented) leaving = true;
  });
  window.addEventListener('pageshow', (event) => {
    if (!event.persisted) return;
    // Back from the bfcache: the page is live again.
    leaving = false;
    updateBulk();
    resumeLive();
  });

  // --- (c) copy a link: <button data-copy="url or empty"> ----------------
  const copyText = async (text) => {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return;
      } catch {
        // refused (no focus, no permission): try the old way below
      }
    }
    // Fallback for plain HTTP, where there is no Clipboard API.
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.className = 'sr-only';
    document.body.append(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    if (!ok) throw new Error('copy refused');
  };

  document.addEventListener('click', async (event) => {
    const button = event.target instanceof Element ? event.target.closest('button[data-copy]') : null;
    if (!button) return;
    event.preventDefault();
    const label = button.querySelector('[data-copy-label]') || button;
    if (!button.dataset.copyText) button.dataset.copyText = label.textContent;
    // A site path ("/sessions?…") is copied as an absolute URL; any other
    // value (a token) as it is; no value copies the page's address.
    const value = button.dataset.copy || '';
    const text = !value ? window.location.href
      : value.startsWith('/') && !value.startsWith('//') ? window.location.origin + value : value;
    let done = 'Copied';
    try {
      await copyText(text);
      button.classList.add('is-done');
    } catch {
      done = 'Copy failed';
    }
    label.textContent = done;
    clearTimeout(Number(button.dataset.copyTimer));
    button.dataset.copyTimer = String(setTimeout(() => {
      label.textContent = button.dataset.copyText;
      button.classList.remove('is-done');
    }, 1600));
  });

  // --- (d) pop-over menus: <details class="menu"> ------------------------
  // Without JS a menu opens and closes with its summary. With it, opening
  // one closes the others, and a click outside or Escape closes it.
  const openMenus = () => document.querySelectorAll('details.menu[open]');

  document.addEventListener('toggle', (event) => {
    const menu = event.target;
    if (!(menu instanceof HTMLDetailsElement) || !menu.classList.contains('menu') || !menu.open) return;
    for (const other of openMenus()) if (other !== menu) other.open = false;
  }, true); // toggle does not bubble: listen while it travels down

  document.addEventListener('click', (event) => {
    for (const menu of openMenus()) if (!menu.contains(event.target)) menu.open = false;
  });

  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return;
    for (const menu of openMenus()) {
      const focusWasInside = menu.contains(document.activeElement);
      menu.open = false;
      if (focusWasInside) menu.querySelector('summary').focus();
    }
  });

  // --- (e) <input readonly data-select-all>: one click selects it all -----
  const selectAll = (event) => {
    const el = event.target;
    if (el instanceof HTMLInputElement && el.hasAttribute('data-select-all')) el.select();
  };
  document.addEventListener('focusin', selectAll);
  document.addEventListener('click', selectAll);

  // --- (e2) <button data-expand-all="ID">: every <details> in #ID at once --
  // "Expand all" opens them all; once all are open the button reads
  // "Collapse all" (aria-expanded true) and closes them. It follows the
  // details a person opens one by one, and hides when there is nothing to
  // open. The button may sit in a live region: everything is looked up when
  // used.
  const expandTargets = (button) => {
    const box = document.getElementById(button.dataset.expandAll);
    return box ? [...box.querySelectorAll('details')] : [];
  };
  function syncExpandButtons() {
    for (const button of document.querySelectorAll('button[data-expand-all]')) {
      const all = expandTargets(button);
      const allOpen = all.length > 0 && all.every((d) => d.open);
      button.hidden = all.length === 0;
      const text = allOpen ? 'Collapse all' : 'Expand all';
      if (button.textContent !== text) button.textContent = text;
      button.setAttribute('aria-expanded', String(allOpen));
    }
  }
  let expandSyncQueued = false;
  const queueExpandSync = () => {
    if (expandSyncQueued) return;
    expandSyncQueued = true;
    requestAnimationFrame(() => {
      expandSyncQueued = false;
      syncExpandButtons();
    });
  };
  document.addEventListener('click', (event) => {
    const button = event.target instanceof Element ? event.target.closest('button[data-expand-all]') : null;
    if (!button) return;
    const all = expandTargets(button);
    const open = !all.every((d) => d.open);
    for (const d of all) d.open = open;
    syncExpandButtons();
  });
  document.addEventListener('toggle', (event) => {
    const el = event.target;
    if (el instanceof HTMLDetailsElement && !el.classList.contains('menu')) queueExpandSync();
  }, true); // toggle does not bubble

  // --- (f) History page: bulk selection -----------------------------------
  // Rows are <tr data-id data-actions="pause cancel"> holding a checkbox
  // input.row-select (form="bulk-form"); the header has input.select-all;
  // the bar is form#bulk-form.bulk-bar with [data-bulk-count], one button
  // per action [data-bulk-action], [data-bulk-none] and [data-bulk-clear].
  // Without this script the bar always shows and the server reports per
  // id what could not be done. Everything is delegated from document, so it
  // keeps working after the live region is replaced.
  const liveRegion = () => document.getElementById('sessions-live');
  const rowBoxes = (region) => [...region.querySelectorAll('input.row-select')];

  function updateBulk() {
    const region = liveRegion();
    if (!region) return;
    const boxes = rowBoxes(region);
    const picked = boxes.filter((box) => box.checked);
    for (const box of boxes) box.closest('tr')?.classList.toggle('is-selected', box.checked);
    const all = region.querySelector('input.select-all');
    if (all) {
      all.checked = picked.length > 0 && picked.length === boxes.length;
      all.indeterminate = picked.length > 0 && picked.length < boxes.length;
    }
    const bar = region.querySelector('.bulk-bar');
    if (!bar) return;
    bar.classList.toggle('is-active', picked.length > 0);
    const count = bar.querySelector('[data-bulk-count]');
    if (count) count.textContent = `${picked.length} selected`;
    // Only the actions that every selected row allows.
    let common = null;
    for (const box of picked) {
      const own = (box.closest('tr')?.dataset.actions || '').split(/\s+/).filter(Boolean);
      common = common === null ? new Set(own) : new Set(own.filter((a) => common.has(a)));
    }
    let shown = 0;
    for (const button of bar.querySelectorAll('[data-bulk-action]')) {
      const ok = common !== null && common.has(button.dataset.bulkAction);
      button.hidden = !ok;
      if (ok) shown += 1;
    }
    const none = bar.querySelector('[data-bulk-none]');
    if (none) none.hidden = picked.length === 0 || shown > 0;
  }

  // The status filter's summary follows the checkboxes before the form is
  // applied, in the server's words: "Any status", "Failed", "3 statuses".
  const updateStatusSummary = (menu) => {
    const out = menu.querySelector('[data-status-summary]');
    if (!out) return;
    const picked = menu.querySelectorAll('input[name="status"]:checked');
    out.textContent = picked.length === 0 ? 'Any status'
      : picked.length === 1 ? picked[0].closest('label').textContent.trim()
        : `${picked.length} statuses`;
  };

  document.addEventListener('change', (event) => {
    const el = event.target;
    if (!(el instanceof HTMLInputElement)) return;
    if (el.classList.contains('select-all')) {
      const region = liveRegion();
      if (region) for (const box of rowBoxes(region)) box.checked = el.checked;
      updateBulk();
    } else if (el.classList.contains('row-select')) {
      updateBulk();
    } else if (el.name === 'status' && el.closest('.status-menu')) {
      updateStatusSummary(el.closest('.status-menu'));
    }
  });

  // Shift-click selects (or clears) every row between the last one clicked
  // and this one.
  let lastPickedId = null;
  document.addEventListener('click', (event) => {
    const box = event.target;
    if (box instanceof Element && box.closest('[data-bulk-clear]')) {
      const region = liveRegion();
      if (!region) return;
      for (const b of rowBoxes(region)) b.checked = false;
      updateBulk();
      region.querySelector('input.select-all')?.focus();
      return;
    }
    if (!(box instanceof HTMLInputElement) || !box.classList.contains('row-select')) return;
    const region = liveRegion();
    if (event.shiftKey && region && lastPickedId !== null && lastPickedId !== box.value) {
      const boxes = rowBoxes(region);
      const from = boxes.findIndex((b) => b.value === lastPickedId);
      const to = boxes.indexOf(box);
      if (from >= 0 && to >= 0) {
        for (let i = Math.min(from, to); i <= Math.max(from, to); i++) boxes[i].checked = box.checked;
        updateBulk();
      }
    }
    lastPickedId = box.value;
  });

  // --- (g) live updates: the History page and the session detail page ------
  // <div id="live" data-changes-url="/changes" data-gen="N"> holds the
  // toggle button.live-toggle (aria-pressed). A long poll on
  // changes_url?since=GEN&wait=20 answers {"token"} (or {"gen"}) as soon as
  // anything changed, or after 20 s; a server with no long-poll slot free
  // answers at once, and the script then asks every 1.5 s. On a new
  // generation the page is fetched again and #sessions-live replaced:
  // checked rows stay checked, focus stays where it was, at most one page
  // fetch per 1.5 s. After an error it waits 2 s. No swap while a confirm
  // dialog is open, a form is being submitted, or focus is in a form inside
  // the region (the swap waits until focus leaves it).
  // The session detail page has no #sessions-live but several regions
  // [data-live-region][id] (status badge, actions, facts, alert, tabs, the
  // current tab): each is replaced by the element of the same id in the
  // fetched page when its HTML changed; open <details> stay open, focus stays
  // on the same control. A fetched page without #live is a session that
  // ended: after that last swap the toggle goes and live updates stop.
  const FOCUSABLE = 'a[href], button, input, select, textarea, summary';
  const THROTTLE = 1500;  // at most one page fetch per 1.5 s
  const RETRY = 2000;     // after an error (network, 503, 429 …)
  const REPOLL = 1500;    // after an unchanged answer the server did not hold
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  let resumeLive = () => {};

  const detailRegions = (root = document) => [...root.querySelectorAll('[data-live-region][id]')];

  function startLive() {
    const live = document.getElementById('live');
    const history = Boolean(liveRegion());
    if (!live || !live.dataset.changesUrl || (!history && detailRegions().length === 0)) return;
    const toggle = live.querySelector('.live-toggle');
    const label = live.querySelector('.live-label');
    let seen = live.dataset.gen || '';  // newest generation the server reported
    let run = 0;                        // bumped to end the current loop
    let poll = null;                    // AbortController of the long poll
    let lastPage = 0;                   // when the page was last fetched
    let paused = false;

    const setOffline = (off) => {
      live.classList.toggle('is-offline', off);
      if (toggle && !paused) toggle.title = off ? 'Reconnecting…' : 'Pause live updates';
    };

    // Signed out (or no longer allowed): 401/403, or redirected elsewhere
    // (to the sign-in page). Live updates stop; the toggle can retry.
    const signedOut = (res, path) => res.status === 401 || res.status === 403
      || (res.redirected && new URL(res.url).pathname !== path);

    const blocked = () => {
      if (leaving || confirming) return true;
      const active = document.activeElement;
      if (!active || active === document.body || !active.closest('form')) return false;
      const regions = history ? [liveRegion()] : detailRegions();
      return regions.some((region) => region && region.contains(active));
    };
    // Does a fetched page hold what this page swaps?
    const hasRegions = (doc) => (history ? Boolean(doc.getElementById('sessions-live'))
      : detailRegions(doc).length > 0);

    // Where focus is, so it can be put back on the same control after the swap.
    const focusKey = (region) => {
      const active = document.activeElement;
      if (!active || !region.contains(active)) return null;
      const row = active.closest('tr[data-id]');
      const scope = row || region;
      return { id: row ? row.dataset.id : null, index: [...scope.querySelectorAll(FOCUSABLE)].indexOf(active) };
    };
    const restoreFocus = (region, key) => {
      if (!key || key.index < 0) return;
      const scope = key.id === null ? region
        : [...region.querySelectorAll('tr[data-id]')].find((tr) => tr.dataset.id === key.id);
      const el = scope && scope.querySelectorAll(FOCUSABLE)[key.index];
      if (el) el.focus({ preventScroll: true });
    };

    const apply = (doc) => {
      const region = liveRegion();
      const fresh = doc.getElementById('sessions-live');
      if (!region || !fresh) return false;
      const picked = new Set(rowBoxes(region).filter((b) => b.checked).map((b) => b.value));
      const key = focusKey(region);
      const scrollLeft = region.querySelector('.table-wrap')?.scrollLeft || 0;
      region.className = fresh.className;
      region.replaceChildren(...[...fresh.childNodes].map((node) => document.importNode(node, true)));
      for (const box of rowBoxes(region)) if (picked.has(box.value)) box.checked = true;
      const wrap = region.querySelector('.table-wrap');
      if (wrap) wrap.scrollLeft = scrollLeft;
      restoreFocus(region, key);
      // Bits outside the region that follow the list ("50 sessions on this page").
      for (const el of doc.querySelectorAll('[data-live-sync][id]')) {
        const here = document.getElementById(el.id);
        if (here && here.textContent !== el.textContent) here.textContent = el.textContent;
      }
      const gen = doc.getElementById('live')?.dataset.gen;
      live.dataset.gen = gen === undefined ? seen : gen;
      seen = live.dataset.gen;
      updateBulk();
      refreshTimes();
      refreshDurations();
      ensureDurationTicker();
      return true;
    };

    // Detail page: the server's HTML each region was last filled from, so
    // a region that did not change is left alone (and keeps its state).
    const served = new WeakMap();
    // A <details> by the id of the nearest element around it that has one
    // (an activity entry: event-12) and its place among that element's details.
    const detailsKey = (el) => {
      const owner = el.parentElement && el.parentElement.closest('[id]');
      return owner ? `${owner.id}/${[...owner.querySelectorAll('details')].indexOf(el)}` : null;
    };
    // Returns 'ended' when the fetched page has no live updates any more.
    const applyDetail = (doc) => {
      const active = document.activeElement;
      let focus = null;
      for (const here of detailRegions()) {
        const fresh = doc.getElementById(here.id);
        if (!fresh || !fresh.hasAttribute('data-live-region')) continue;
        const html = fresh.innerHTML;
        if (served.get(here) === html && here.className === fresh.className) continue;
        const open = new Set([...here.querySelectorAll('details[open]')].map(detailsKey));
        if (active && active !== document.body && here.contains(active)) {
          focus = { id: here.id, index: [...here.querySelectorAll(FOCUSABLE)].indexOf(active) };
        }
        here.className = fresh.className;
        here.replaceChildren(...[...fresh.childNodes].map((node) => document.importNode(node, true)));
        served.set(here, html);
        for (const d of here.querySelectorAll('details')) if (open.has(detailsKey(d))) d.open = true;
      }
      if (focus && focus.index >= 0) {
        const el = document.getElementById(focus.id)?.querySelectorAll(FOCUSABLE)[focus.index];
        if (el) el.focus({ preventScroll: true });
      }
      syncExpandButtons();
      refreshTimes();
      refreshDurations();
      ensureDurationTicker();
      const freshLive = doc.getElementById('live');
      if (!freshLive) return 'ended';
      live.dataset.gen = freshLive.dataset.gen === undefined ? seen : freshLive.dataset.gen;
      seen = live.dataset.gen;
      return 'ok';
    };

    const loop = async (id) => {
      while (id === run) {
        if (seen !== live.dataset.gen) {
          // Something changed: wait for the user, then for the throttle.
          if (blocked()) { await sleep(250); continue; }
          const wait = lastPage + THROTTLE - Date.now();
          if (wait > 0) { await sleep(wait); continue; }
          lastPage = Date.now();
          let doc = null;
          try {
            const res = await fetch(window.location.href, {
              credentials: 'same-origin', headers: { Accept: 'text/html' }, cache: 'no-store',
            });
            const html = await res.text();
            // Signed out, or the session is gone (deleted: 404): stop.
            if (signedOut(res, window.location.pathname) || res.status === 404 || res.status === 410) doc = false;
            else if (res.ok) doc = new DOMParser().parseFromString(html, 'text/html');
          } catch {
            doc = null;
          }
          if (id !== run) return;
          if (doc === false) { setPaused(true); return; }
          if (!doc || !hasRegions(doc)) { setOffline(true); await sleep(RETRY); continue; }
          setOffline(false);
          if (blocked()) continue; // the user started something meanwhile: fetch again later
          if (history) apply(doc);
          else if (applyDetail(doc) === 'ended') {
            // The session ended: nothing more will change here.
            stop();
            live.remove();
            return;
          }
          continue;
        }
        let res = null;
        const asked = Date.now();
        try {
          poll = new AbortController();
          const url = new URL(live.dataset.changesUrl, window.location.href);
          url.searchParams.set('since', seen);
          url.searchParams.set('wait', '20');
          res = await fetch(url, {
            credentials: 'same-origin', headers: { Accept: 'application/json' }, cache: 'no-store', signal: poll.signal,
          });
        } catch {
          res = null;
        }
        if (id !== run) return;
        if (res && signedOut(res, new URL(live.dataset.changesUrl, window.location.href).pathname)) {
          await res.text().catch(() => {});
          setPaused(true);
          return;
        }
        let body = null;
        try {
          if (res && res.ok) body = await res.json();
          else if (res) await res.text(); // read it to the end: 503, 429 …
        } catch {
          body = null;
        }
        if (id !== run) return;
        const next = body ? body.token ?? body.gen : undefined;
        if (next === undefined || next === null) { setOffline(true); await sleep(RETRY); continue; }
        setOffline(false);
        // Unchanged and answered at once: the server did not hold the
        // request (no long-poll slot free). Ask again in a while.
        if (String(next) === seen && Date.now() - asked < 1000) await sleep(REPOLL);
        seen = String(next);
      }
    };

    const stop = () => {
      run += 1;
      if (poll) poll.abort();
    };
    const go = () => {
      stop();
      if (!paused && live.isConnected) loop(run);
    };

    function setPaused(value) {
      paused = value;
      if (toggle) {
        toggle.setAttribute('aria-pressed', String(!paused));
        toggle.title = paused ? 'Resume live updates' : 'Pause live updates';
      }
      if (label) label.textContent = paused ? 'Paused' : 'Live';
      if (paused) { stop(); setOffline(false); } else go();
    }

    if (toggle) toggle.addEventListener('click', () => setPaused(!paused));
    window.addEventListener('pagehide', stop);
    resumeLive = go;
    go();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start, { once: true });
  } else {
    start();
  }
})();
