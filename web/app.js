// Flightdeck: progressive enhancement only. Every page works without this
// file; it refreshes relative times and running durations, asks before
// destructive submits (data-confirm), copies links (data-copy), closes
// pop-over menus (details.menu) and selects read-only values on click.
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

  const start = () => {
    refreshTimes();
    refreshDurations();
    setInterval(refreshTimes, 30 * SEC);
    if (document.querySelector('[data-live-since]')) setInterval(refreshDurations, SEC);
  };

  // --- (b) confirm before submitting: <form data-confirm="message"> -------
  // A submit button may carry its own data-confirm (bulk actions).
  document.addEventListener('submit', (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    const button = event.submitter;
    const message = (button && button.dataset.confirm) || form.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  }, true);

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
    const text = button.dataset.copy || window.location.href;
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

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start, { once: true });
  } else {
    start();
  }
})();
