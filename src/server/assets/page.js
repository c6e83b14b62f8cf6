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
    // And which jobs they ticked for a bulk action.
    var picked = {};
    current.querySelectorAll('input[data-select]').forEach(function (box) {
      picked[box.value] = box.checked;
    });
    next.querySelectorAll('input[data-select]').forEach(function (box) {
      if (box.value in picked) box.checked = picked[box.value];
    });
    // A kept field being typed in keeps its focus and caret (moving a node drops its focus).
    var focused = document.activeElement;
    var caret = focused && current.contains(focused) && typeof focused.selectionStart === 'number' ? [focused.selectionStart, focused.selectionEnd] : null;
    // What a script built and keeps running (the player, its video and where it is) stays as it is,
    // in the place the new <main> gives it (the same data-keep key: the same job).
    current.querySelectorAll('[data-keep][id]').forEach(function (kept) {
      var slot = next.querySelector('#' + CSS.escape(kept.id));
      if (slot && slot.getAttribute('data-keep') === kept.getAttribute('data-keep')) slot.replaceWith(kept);
    });
    var x = window.scrollX;
    var y = window.scrollY;
    current.replaceWith(next);
    if (focused && focused !== document.activeElement && next.contains(focused)) {
      focused.focus({ preventScroll: true });
      if (caret) focused.setSelectionRange(caret[0], caret[1]);
    }
    window.scrollTo(x, y);
    document.dispatchEvent(new CustomEvent('posepipe:updated'));
  }

  function refresh() {
    timer = null;
    inFlight = true;
    last = Date.now();
    fetch(location.pathname + location.search, { headers: { 'X-Posepipe-Fragment': '1' }, credentials: 'same-origin', cache: 'no-store' })
      .then(function (response) {
        if (response.status === 401) {
          location.reload(); // logged out (or the token was replaced): the reload leads to the login page
          return;
        }
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

// Times in the reader's own time zone: the server writes UTC into <time data-local datetime=…>;
// this rewrites the text (at load and after every live update). The list's sort selects submit
// their form at once (without the script, its button does).
(function () {
  'use strict';
  var format = { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' };
  var thisYear = new Date().getFullYear();
  function localize() {
    document.querySelectorAll('time[data-local][datetime]').forEach(function (t) {
      var d = new Date(t.getAttribute('datetime'));
      if (isNaN(d.getTime())) return;
      var f = d.getFullYear() === thisYear ? format : { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' };
      t.textContent = d.toLocaleString(undefined, f);
      t.title = d.toLocaleString(undefined, { dateStyle: 'full', timeStyle: 'long' });
    });
  }
  localize();
  document.addEventListener('posepipe:updated', localize);
  document.addEventListener('change', function (event) {
    var select = event.target;
    if (select instanceof HTMLSelectElement && select.form && select.form.id === 'list-search') select.form.submit();
  });
})();

// Upload from the page: videos dropped anywhere on the jobs page (or picked in #upload-file) are
// sent one at a time to POST /api/upload, which streams them into the inbox under a temporary name
// and renames them when complete. Each file gets its own line in #upload-list: waiting, its
// progress, then what became of it (uploaded, uploaded under another name, or refused and why).
// A refused file loses its bar: a full bar beside a refusal would say the opposite of the text.
(function () {
  'use strict';
  var box = document.getElementById('upload');
  var input = document.getElementById('upload-file');
  var list = document.getElementById('upload-list');
  var status = document.getElementById('upload-status');
  if (!box || !input || !list || !status || !('XMLHttpRequest' in window)) return;
  var maxBytes = Number(box.getAttribute('data-max-bytes')) || Infinity;
  var maxText = box.getAttribute('data-max-text') || '';
  var extensions = (box.getAttribute('data-extensions') || '').split(' ').filter(Boolean);
  var queue = [];
  var busy = false;
  var tally = { done: 0, refused: 0 };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function summary() {
    var parts = [];
    if (tally.done) parts.push(tally.done + ' uploaded');
    if (tally.refused) parts.push(tally.refused + ' refused');
    if (queue.length || busy) parts.push((queue.length + (busy ? 1 : 0)) + ' to go');
    status.textContent = parts.join(', ');
  }

  /** One line for one file: its name, a bar while it is sent, and what was said about it. */
  function line(file) {
    var li = el('li');
    li.setAttribute('data-file', file.name);
    li.setAttribute('data-result', 'waiting');
    var name = el('span', 'fname', file.name);
    name.title = file.name;
    var bar = el('progress');
    bar.max = 1;
    bar.value = 0;
    bar.hidden = true;
    var said = el('span', 'said', 'waiting');
    li.append(name, bar, said);
    list.appendChild(li);
    return { li: li, bar: bar, said: said };
  }

  function finish(entry, result, text) {
    entry.li.setAttribute('data-result', result);
    entry.said.textContent = text;
    if (result === 'refused') {
      entry.bar.remove();
      tally.refused++;
    } else {
      entry.bar.value = 1;
      tally.done++;
    }
  }

  /** Why a file is refused before a byte is sent, or '' when it may go. */
  function refusal(file) {
    var dot = file.name.lastIndexOf('.');
    var ext = dot > 0 ? file.name.slice(dot).toLowerCase() : '';
    if (extensions.length && extensions.indexOf(ext) < 0) return 'refused: not a video file name (' + (ext ? ext + ' is not one of ' : 'no extension; use ') + extensions.slice(0, 6).join(' ') + ' …)';
    if (file.size > maxBytes) return 'refused: over ' + maxText + ', the most an upload may be (uploadMaxMb)';
    return '';
  }

  function next() {
    summary();
    if (busy || queue.length === 0) return;
    busy = true;
    var item = queue.shift();
    var file = item.file;
    var entry = item.entry;
    var xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/upload?name=' + encodeURIComponent(file.name));
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.setRequestHeader('Accept', 'application/json');
    entry.bar.hidden = false;
    entry.li.setAttribute('data-result', 'uploading');
    entry.said.textContent = 'uploading…';
    box.setAttribute('data-uploading', file.name);
    xhr.upload.onprogress = function (event) {
      // Kept short of full until the server has answered: only its answer says the file is in.
      if (event.lengthComputable) entry.bar.value = Math.min(0.99, event.loaded / event.total);
    };
    xhr.onload = function () {
      var answer = {};
      try {
        answer = JSON.parse(xhr.responseText);
      } catch (e) {
        answer = {};
      }
      if (xhr.status === 201 && answer.name === file.name) {
        finish(entry, 'done', 'uploaded: it becomes a job in a moment');
      } else if (xhr.status === 201) {
        finish(entry, 'renamed', 'uploaded as "' + answer.name + '": the inbox already has a file named "' + file.name + '"');
      } else {
        finish(entry, 'refused', 'refused: ' + (answer.error || 'HTTP ' + xhr.status));
      }
      if (xhr.status === 201) box.setAttribute('data-uploaded', answer.name);
      else box.setAttribute('data-upload-error', String(xhr.status));
      done();
    };
    xhr.onerror = function () {
      finish(entry, 'refused', 'not uploaded: the connection to posepipe broke off');
      box.setAttribute('data-upload-error', 'network');
      done();
    };
    xhr.send(file);
  }

  function done() {
    busy = false;
    box.removeAttribute('data-uploading');
    next();
  }

  function add(files) {
    for (var i = 0; i < files.length; i++) {
      var entry = line(files[i]);
      var why = refusal(files[i]);
      if (why) finish(entry, 'refused', why);
      else queue.push({ file: files[i], entry: entry });
    }
    next();
  }

  input.addEventListener('change', function () {
    add(input.files);
    input.value = '';
  });
  document.addEventListener('dragover', function (event) {
    if (!event.dataTransfer || Array.prototype.indexOf.call(event.dataTransfer.types, 'Files') < 0) return;
    event.preventDefault();
    box.classList.add('dropping');
  });
  document.addEventListener('dragleave', function () {
    box.classList.remove('dropping');
  });
  document.addEventListener('drop', function (event) {
    if (!event.dataTransfer || event.dataTransfer.files.length === 0) return;
    event.preventDefault();
    box.classList.remove('dropping');
    add(event.dataTransfer.files);
  });
})();

// Small things the page does without a server round trip: "No, keep it" closes an action's
// confirmation box (a <details>, which works without this script too), Escape closes any open one,
// a button with data-confirm (the ticked jobs' Cancel and Delete) asks its question first and
// sends the answer along (without it, the server asks on a page of its own), and "Dismiss" takes a
// notice away.
(function () {
  'use strict';
  document.addEventListener('click', function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var keep = target.closest('details.confirm [data-keep]');
    if (keep) {
      keep.closest('details.confirm').open = false;
      return;
    }
    var ask = target.closest('button[data-confirm]');
    if (ask) {
      if (!window.confirm(ask.getAttribute('data-confirm'))) {
        event.preventDefault();
        return;
      }
      var answer = ask.form && ask.form.querySelector('input[data-confirmed]');
      if (answer) answer.value = '1';
    }
    var dismiss = target.closest('#notice [data-dismiss]');
    if (dismiss) {
      event.preventDefault();
      dismiss.closest('#notice').remove();
    }
  });
  document.addEventListener('keydown', function (event) {
    if (event.key !== 'Escape') return;
    document.querySelectorAll('details.confirm[open]').forEach(function (d) {
      d.open = false;
    });
  });
})();
