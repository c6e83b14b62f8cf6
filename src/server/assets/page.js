// posepipe status page: live updates. Listens to /api/events; when the database changed since
// this page was read, fetches the current URL's <main> only (X-Posepipe-Fragment: 1) and swaps it
// in, keeping the scroll position and open <details>. At most two fetches a second; no reloads.
// Everything works without this script: it only saves pressing reload.
(function () {
  'use strict';
  if (!('EventSource' in window) || !('fetch' in window)) return;
  var meta = document.querySelector('meta[name="posepipe-stamp"]');
  var stamp = meta ? meta.getAttribute('content') : '';
  var MIN_GAP_MS = 500;
  var last = 0;
  var timer = null;
  var inFlight = false;
  // The newest stamp the server announced; a fetch answers with the stamp it was read at.
  var announced = stamp;

  function schedule() {
    if (timer !== null) return;
    if (inFlight) return; // checked again when it lands
    timer = setTimeout(refresh, Math.max(0, MIN_GAP_MS - (Date.now() - last)));
  }

  function swap(html) {
    var current = document.querySelector('main');
    var template = document.createElement('template');
    template.innerHTML = html;
    var next = template.content.querySelector('main');
    if (!current || !next) return;
    // Keep what the reader opened, and where they were.
    var open = {};
    current.querySelectorAll('details[id]').forEach(function (d) {
      open[d.id] = d.open;
    });
    next.querySelectorAll('details[id]').forEach(function (d) {
      if (d.id in open) d.open = open[d.id];
    });
    var x = window.scrollX;
    var y = window.scrollY;
    current.replaceWith(next);
    window.scrollTo(x, y);
    document.dispatchEvent(new CustomEvent('posepipe:updated'));
  }

  function refresh() {
    timer = null;
    inFlight = true;
    last = Date.now();
    fetch(location.pathname + location.search, { headers: { 'X-Posepipe-Fragment': '1' }, credentials: 'same-origin', cache: 'no-store' })
      .then(function (response) {
        if (!response.ok) {
          stamp = announced; // nothing to show (the job is gone?): wait for the next change
          return;
        }
        var got = response.headers.get('X-Posepipe-Stamp');
        return response.text().then(function (html) {
          if (got !== null) stamp = got;
          swap(html);
        });
      })
      .catch(function () {
        stamp = announced; // the server went away: its next hello (on reconnection) brings a new stamp
      })
      .then(function () {
        inFlight = false;
        if (announced !== stamp) schedule();
      });
  }

  function onStamp(event) {
    var data;
    try {
      data = JSON.parse(event.data);
    } catch (e) {
      return;
    }
    if (!data || typeof data.stamp !== 'string') return;
    announced = data.stamp;
    if (announced !== stamp) schedule();
  }

  var events = new EventSource('/api/events');
  events.addEventListener('hello', onStamp);
  events.addEventListener('change', onStamp);
})();
