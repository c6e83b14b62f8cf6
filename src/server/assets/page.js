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
    // What a script built and keeps running (the player, its video and where it is) stays as it is,
    // in the place the new <main> gives it (the same data-keep key: the same job).
    current.querySelectorAll('[data-keep][id]').forEach(function (kept) {
      var slot = next.querySelector('#' + CSS.escape(kept.id));
      if (slot && slot.getAttribute('data-keep') === kept.getAttribute('data-keep')) slot.replaceWith(kept);
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

// Upload from the page: videos dropped anywhere on the jobs page (or picked in #upload-file) are
// sent one at a time to POST /api/upload, which streams them into the inbox under a temporary name
// and renames them when complete; #upload-progress shows how far the current one is.
(function () {
  'use strict';
  var box = document.getElementById('upload');
  var input = document.getElementById('upload-file');
  var bar = document.getElementById('upload-progress');
  var status = document.getElementById('upload-status');
  if (!box || !input || !bar || !status || !('XMLHttpRequest' in window)) return;
  var queue = [];
  var busy = false;

  function say(text) {
    status.textContent = text;
  }

  function next() {
    if (busy || queue.length === 0) return;
    busy = true;
    var file = queue.shift();
    var xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/upload?name=' + encodeURIComponent(file.name));
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.setRequestHeader('Accept', 'application/json');
    bar.hidden = false;
    bar.value = 0;
    box.setAttribute('data-uploading', file.name);
    say('Uploading ' + file.name + '…');
    xhr.upload.onprogress = function (event) {
      if (event.lengthComputable) bar.value = event.loaded / event.total;
    };
    xhr.onload = function () {
      var answer = {};
      try {
        answer = JSON.parse(xhr.responseText);
      } catch (e) {
        answer = {};
      }
      if (xhr.status === 201) {
        bar.value = 1;
        say('Uploaded ' + answer.name + ': it becomes a job in a moment.');
        box.setAttribute('data-uploaded', answer.name);
      } else {
        say('Not uploaded: ' + (answer.error || 'HTTP ' + xhr.status));
        box.setAttribute('data-upload-error', String(xhr.status));
      }
      done();
    };
    xhr.onerror = function () {
      say('Not uploaded: the connection to posepipe broke off.');
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
    for (var i = 0; i < files.length; i++) queue.push(files[i]);
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
