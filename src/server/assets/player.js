// posepipe job page: the player (issue 12, part 5). The preview video plays with every person's box,
// id and (when the backend gives them) 2D keypoints drawn over it on a canvas, in sync with the
// frame shown. Scrub, step one frame back or forward, click a box or a track to highlight it.
// Boxes come from GET /api/jobs/:id/frames, a window of frames at a time around the one shown:
// a long video's whole result is never fetched. Without a preview video, the frames are drawn
// on a blank picture and stepped through at the video's frame rate. Where the people carry 3D
// joints, /static/view3d.js (a module, with three.js) draws them in 3D beside the picture.
(function () {
  'use strict';
  if (!('fetch' in window)) return;

  var BATCH = 256; // frames per request, aligned on the server's windows
  // Skeletons by the number of keypoints: COCO's 17 (keypoints backend), OpenPose BODY_25 order for
  // more (phalp's 45: the OpenPose 25 first, then extra joints that are not drawn).
  var COCO = [[15, 13], [13, 11], [16, 14], [14, 12], [11, 12], [5, 11], [6, 12], [5, 6], [5, 7], [6, 8], [7, 9], [8, 10], [1, 2], [0, 1], [0, 2], [1, 3], [2, 4], [3, 5], [4, 6]];
  var BODY_25 = [[1, 8], [1, 2], [1, 5], [2, 3], [3, 4], [5, 6], [6, 7], [8, 9], [9, 10], [10, 11], [8, 12], [12, 13], [13, 14], [1, 0], [0, 15], [15, 17], [0, 16], [16, 18], [14, 19], [19, 20], [14, 21], [11, 22], [22, 23], [11, 24]];

  /** The same colour as the thumbnails and timeline (src/pictures/track-colour.ts). */
  function colour(id, light) {
    var hue = (((id * 137.508) % 360) + 360) % 360;
    return 'hsl(' + hue.toFixed(1) + ',85%,' + (light ? 75 : 55) + '%)';
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function seconds(t) {
    return t.toFixed(3) + ' s';
  }

  function Player(section) {
    this.section = section;
    this.job = section.getAttribute('data-job');
    this.batches = {}; // batch number -> Promise of frames
    this.frames = {}; // frame index -> frame
    this.current = 0;
    this.selected = null;
    this.timer = null;
    this.hooks = []; // called after every draw: the 3D view follows the frame and the selection
  }

  Player.prototype.colour = colour;

  Player.prototype.start = function () {
    var self = this;
    fetch('/api/jobs/' + this.job + '/player', { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) throw new Error(body.error || 'HTTP ' + r.status);
          return body;
        });
      })
      .then(function (index) {
        self.index = index;
        self.build();
        return self.show(0).then(function () {
          self.section.setAttribute('data-player-state', 'ready');
        });
      })
      .catch(function (error) {
        self.section.setAttribute('data-player-state', 'unavailable');
        self.section.replaceChildren(el('h2', {}, 'Player'), el('p', { class: 'muted', id: 'player-note' }, 'No player for this job: ' + error.message));
      });
  };

  Player.prototype.build = function () {
    var self = this;
    var ix = this.index;
    var s = this.section;
    s.replaceChildren();
    s.appendChild(el('h2', {}, 'Player'));
    var stage = el('div', { class: 'player-stage', style: 'aspect-ratio:' + ix.width + '/' + ix.height });
    if (ix.preview) {
      this.video = el('video', { id: 'player-video', preload: 'auto', playsinline: '', muted: '', src: ix.preview.url });
      this.video.muted = true;
      stage.appendChild(this.video);
    } else {
      stage.appendChild(el('div', { class: 'player-blank', id: 'player-blank' }));
    }
    this.canvas = el('canvas', { id: 'player-overlay' });
    stage.appendChild(this.canvas);
    var views = el('div', { class: 'player-views' });
    views.appendChild(stage);
    s.appendChild(views);
    // People with 3D joints: the 3D view beside the picture (a module, with three.js, loaded only then).
    if (ix.joints3d) {
      var box = el('div', { id: 'view3d', class: 'view3d', 'data-view3d-state': 'loading', style: 'aspect-ratio:' + ix.width + '/' + ix.height });
      box.appendChild(el('p', { class: 'muted' }, 'Loading the 3D view…'));
      views.appendChild(box);
      var module = el('script', { type: 'module', src: '/static/view3d.js' });
      module.addEventListener('error', function () {
        box.setAttribute('data-view3d-state', 'unavailable');
        box.replaceChildren(el('p', { class: 'muted', id: 'view3d-note' }, 'No 3D view: its script did not load.'));
      });
      document.head.appendChild(module);
    }

    var controls = el('div', { class: 'player-controls row' });
    this.playButton = el('button', { type: 'button', 'data-act': 'play' }, 'Play');
    var back = el('button', { type: 'button', 'data-act': 'prev', title: 'One frame back' }, '◀ frame');
    var fwd = el('button', { type: 'button', 'data-act': 'next', title: 'One frame forward' }, 'frame ▶');
    this.seek = el('input', { type: 'range', id: 'player-seek', min: '0', max: String(ix.frameCount - 1), step: '1', value: '0', 'aria-label': 'Frame' });
    this.position = el('span', { id: 'player-pos', class: 'mono' });
    var keys = el('span', { class: 'muted', id: 'player-keys', title: 'Keys: Space plays and pauses; ← and → step one frame; with Shift, one second' }, 'Space · ← → · Shift+← →');
    controls.append(this.playButton, back, fwd, this.seek, this.position, keys);
    s.appendChild(controls);
    this.info = el('p', { id: 'player-selected', class: 'muted' }, 'Click a box or a track to follow one person.');
    s.appendChild(this.info);
    this.trackList = el('div', { id: 'player-tracks', class: 'player-tracks' });
    s.appendChild(this.trackList);
    if (!ix.preview) s.appendChild(el('p', { class: 'muted', id: 'player-note' }, 'No preview video (' + (ix.reason || 'none was made') + '): the boxes are drawn on a blank picture.'));
    this.listTracks();

    this.playButton.addEventListener('click', function () {
      self.togglePlay();
    });
    back.addEventListener('click', function () {
      self.pause();
      self.show(self.current - 1);
    });
    fwd.addEventListener('click', function () {
      self.pause();
      self.show(self.current + 1);
    });
    this.seek.addEventListener('input', function () {
      self.pause();
      self.show(Number(self.seek.value));
    });
    this.canvas.addEventListener('click', function (event) {
      self.clickAt(event);
    });
    window.addEventListener('resize', function () {
      self.draw();
    });
    if (this.video) {
      this.video.addEventListener('ended', function () {
        self.playing(false);
      });
      this.video.addEventListener('pause', function () {
        self.playing(false);
        // Stop on a whole frame: the video and the overlay show the same one, and stepping starts from it.
        if (!self.seeking) self.locate(self.video.currentTime).then(function (i) {
          self.show(i);
        });
      });
      this.video.addEventListener('play', function () {
        self.playing(true);
      });
      if ('requestVideoFrameCallback' in this.video) {
        var onFrame = function (_now, meta) {
          if (!self.seeking) self.follow(meta.mediaTime);
          self.video.requestVideoFrameCallback(onFrame);
        };
        this.video.requestVideoFrameCallback(onFrame);
      } else {
        this.video.addEventListener('timeupdate', function () {
          if (!self.seeking) self.follow(self.video.currentTime);
        });
      }
    }
  };

  /** Tracks as buttons (the first 300 by id; the timeline above lists them all). */
  Player.prototype.listTracks = function () {
    var self = this;
    var tracks = this.index.tracks.slice(0, 300);
    this.trackList.replaceChildren();
    tracks.forEach(function (t) {
      var b = el('button', { type: 'button', class: 'player-track', 'data-track': String(t.id), title: 'frames ' + t.firstFrame + '–' + t.lastFrame }, '#' + t.id);
      b.style.borderColor = colour(t.id);
      b.addEventListener('click', function () {
        self.select(self.selected === t.id ? null : t.id, true);
      });
      self.trackList.appendChild(b);
    });
    if (this.index.tracks.length > tracks.length) this.trackList.appendChild(el('span', { class: 'muted' }, ' and ' + (this.index.tracks.length - tracks.length) + ' more (click their boxes)'));
    // The pictures' timeline selects too. Listened for on the document: the live update replaces
    // the timeline (not the player) whenever the database changes.
    document.addEventListener('click', function (event) {
      var g = event.target instanceof Element ? event.target.closest('#track-timeline g.track[data-track]') : null;
      if (!g) return;
      var id = Number(g.getAttribute('data-track'));
      self.select(self.selected === id ? null : id, true);
    });
    document.addEventListener('posepipe:updated', function () {
      self.markTimeline();
    });
    this.markTimeline();
  };

  /** The timeline's rows: clickable, the selected one marked. */
  Player.prototype.markTimeline = function () {
    var id = this.selected;
    document.querySelectorAll('#track-timeline g.track[data-track]').forEach(function (g) {
      g.style.cursor = 'pointer';
      g.classList.toggle('on', Number(g.getAttribute('data-track')) === id);
    });
  };

  /** The frames of batch k (BATCH frames from k * BATCH), fetched once. */
  Player.prototype.batch = function (k) {
    var self = this;
    if (!this.batches[k]) {
      var from = k * BATCH;
      var to = Math.min(this.index.frameCount, from + BATCH);
      this.batches[k] = fetch('/api/jobs/' + this.job + '/frames?from=' + from + '&to=' + to, { credentials: 'same-origin', cache: 'no-store' })
        .then(function (r) {
          if (!r.ok) throw new Error('frames ' + from + '–' + (to - 1) + ': HTTP ' + r.status);
          return r.json();
        })
        .then(function (body) {
          body.frames.forEach(function (f) {
            self.frames[f.index] = f;
          });
          return body.frames;
        })
        .catch(function (error) {
          delete self.batches[k];
          throw error;
        });
    }
    return this.batches[k];
  };

  Player.prototype.frame = function (i) {
    var self = this;
    if (this.frames[i]) return Promise.resolve(this.frames[i]);
    return this.batch(Math.floor(i / BATCH)).then(function () {
      return self.frames[i];
    });
  };

  /** The index of the frame shown at `t` seconds of the preview: the last one whose time is not after it. */
  Player.prototype.locate = function (t) {
    var self = this;
    var rel = t - (this.index.preview ? this.index.preview.firstFrameTime : 0) + 0.0005;
    var times = this.index.windowTimes;
    var w = 0;
    for (var lo = 0, hi = times.length - 1; lo <= hi; ) {
      var mid = (lo + hi) >> 1;
      if (times[mid] <= rel) {
        w = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    var k = Math.floor((w * this.index.windowFrames) / BATCH);
    return this.batch(k).then(function (frames) {
      var found = frames[0];
      for (var j = 0; j < frames.length && frames[j].time <= rel; j++) found = frames[j];
      if (found !== frames[frames.length - 1] || (k + 1) * BATCH >= self.index.frameCount) return found.index;
      // The last of this batch: unless the next batch starts before t.
      return self.batch(k + 1).then(function (next) {
        return next.length && next[0].time <= rel ? self.locate(t) : found.index;
      });
    });
  };

  /** Draw the frame the video presents at `t` (and keep the next batch ready while playing). */
  Player.prototype.follow = function (t) {
    var self = this;
    this.locate(t).then(function (i) {
      self.render(i);
      if (self.video && !self.video.paused && i % BATCH > BATCH / 2 && i + BATCH - (i % BATCH) < self.index.frameCount) self.batch(Math.floor(i / BATCH) + 1).catch(function () {});
    });
  };

  /** Go to frame i: seek the video between this frame's time and the next one's, and draw it. */
  Player.prototype.show = function (i) {
    var self = this;
    i = Math.max(0, Math.min(this.index.frameCount - 1, i));
    return Promise.all([this.frame(i), i + 1 < this.index.frameCount ? this.frame(i + 1) : Promise.resolve(undefined)]).then(function (pair) {
      var f = pair[0];
      var next = pair[1];
      self.render(i);
      if (self.video) {
        var end = next ? next.time : f.time + 1 / self.index.fps;
        self.seeking = true;
        self.video.addEventListener(
          'seeked',
          function () {
            self.seeking = false;
            self.render(i);
          },
          { once: true },
        );
        self.video.currentTime = self.index.preview.firstFrameTime + (f.time + end) / 2;
      }
    });
  };

  Player.prototype.render = function (i) {
    var f = this.frames[i];
    if (!f) return;
    this.current = i;
    this.seek.value = String(i);
    this.position.textContent = 'frame ' + i + ' / ' + (this.index.frameCount - 1) + ' · ' + seconds(f.time) + ' · ' + f.persons.length + (f.persons.length === 1 ? ' person' : ' people');
    this.section.setAttribute('data-frame', String(i));
    this.draw();
  };

  /** Source pixels (the JSON's) to canvas pixels. */
  Player.prototype.scale = function () {
    return this.canvas.width / this.index.width;
  };

  Player.prototype.draw = function () {
    var canvas = this.canvas;
    var ratio = window.devicePixelRatio || 1;
    var w = Math.round(canvas.clientWidth * ratio);
    var h = Math.round(canvas.clientHeight * ratio);
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    var ctx = canvas.getContext('2d');
    ctx.clearRect(0, 0, w, h);
    var f = this.frames[this.current];
    if (!f) return;
    var k = this.scale();
    var selected = this.selected;
    var line = Math.max(2, Math.round(2 * ratio));
    f.persons.forEach(function (p) {
      // A box the tracker could not give (nulls) is not drawn.
      if (!p.bbox || p.bbox.some(function (v) { return typeof v !== 'number'; })) return;
      var dim = selected !== null && p.track !== selected;
      var x = p.bbox[0] * k;
      var y = p.bbox[1] * k;
      var bw = p.bbox[2] * k;
      var bh = p.bbox[3] * k;
      ctx.globalAlpha = dim ? 0.3 : 1;
      ctx.strokeStyle = colour(p.track);
      ctx.lineWidth = p.track === selected ? line * 2 : line;
      ctx.strokeRect(x, y, bw, bh);
      if (Array.isArray(p.keypoints2d)) {
        var kp = p.keypoints2d;
        ctx.beginPath();
        (kp.length >= 25 ? BODY_25 : COCO).forEach(function (pair) {
          var a = kp[pair[0]];
          var b = kp[pair[1]];
          if (!a || !b || (a.length > 2 && a[2] < 0.3) || (b.length > 2 && b[2] < 0.3)) return;
          ctx.moveTo(a[0] * k, a[1] * k);
          ctx.lineTo(b[0] * k, b[1] * k);
        });
        ctx.stroke();
      }
      var label = '#' + p.track;
      var size = Math.max(11, Math.round(12 * ratio));
      ctx.font = size + 'px sans-serif';
      var tw = ctx.measureText(label).width + 6;
      var ly = y > size + 4 ? y - size - 4 : y;
      ctx.fillStyle = 'rgba(0,0,0,0.7)';
      ctx.fillRect(x, ly, tw, size + 4);
      ctx.fillStyle = colour(p.track, true);
      ctx.fillText(label, x + 3, ly + size);
    });
    ctx.globalAlpha = 1;
    this.hooks.forEach(function (hook) {
      hook();
    });
  };

  /** A click on the picture selects the smallest box under it, or nothing. */
  Player.prototype.clickAt = function (event) {
    var f = this.frames[this.current];
    if (!f) return;
    var rect = this.canvas.getBoundingClientRect();
    var k = this.scale() / (window.devicePixelRatio || 1);
    var px = (event.clientX - rect.left) / k;
    var py = (event.clientY - rect.top) / k;
    var hit = null;
    f.persons.forEach(function (p) {
      var b = p.bbox;
      if (b && typeof b[0] === 'number' && px >= b[0] && px <= b[0] + b[2] && py >= b[1] && py <= b[1] + b[3] && (!hit || b[2] * b[3] < hit.bbox[2] * hit.bbox[3])) hit = p;
    });
    this.select(hit ? hit.track : null, false);
  };

  /** Highlight a track (null: none) and say where it is; from the list, jump to it when it is not in view. */
  Player.prototype.select = function (id, jump) {
    this.selected = id;
    this.section.setAttribute('data-selected', id === null ? '' : String(id));
    this.trackList.querySelectorAll('.player-track').forEach(function (b) {
      b.classList.toggle('on', Number(b.getAttribute('data-track')) === id);
    });
    this.markTimeline();
    var t = null;
    for (var i = 0; id !== null && i < this.index.tracks.length; i++) if (this.index.tracks[i].id === id) t = this.index.tracks[i];
    this.info.replaceChildren();
    if (t === null) {
      this.info.textContent = 'Click a box or a track to follow one person.';
    } else {
      var self = this;
      this.info.append('Track ', el('strong', { style: 'color:' + colour(t.id) }, '#' + t.id), ': in ' + t.frames + ' frames, from frame ' + t.firstFrame + ' to ' + t.lastFrame + ' ');
      var first = el('button', { type: 'button', 'data-act': 'first' }, 'first frame');
      var last = el('button', { type: 'button', 'data-act': 'last' }, 'last frame');
      first.addEventListener('click', function () {
        self.pause();
        self.show(t.firstFrame);
      });
      last.addEventListener('click', function () {
        self.pause();
        self.show(t.lastFrame);
      });
      this.info.append(first, ' ', last);
      if (jump && (this.current < t.firstFrame || this.current > t.lastFrame)) {
        this.pause();
        this.show(t.firstFrame);
      }
    }
    this.draw();
  };

  Player.prototype.playing = function (on) {
    this.playButton.textContent = on ? 'Pause' : 'Play';
    this.section.setAttribute('data-playing', on ? '1' : '');
  };

  Player.prototype.pause = function () {
    if (this.video) this.video.pause();
    if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
      this.playing(false);
    }
  };

  Player.prototype.togglePlay = function () {
    var self = this;
    if (this.video) {
      if (this.video.paused) this.video.play().catch(function () {});
      else this.video.pause();
      return;
    }
    if (this.timer !== null) return this.pause();
    this.playing(true);
    this.timer = setInterval(function () {
      if (self.current + 1 >= self.index.frameCount) return self.pause();
      self.frame(self.current + 1).then(function () {
        self.render(self.current + 1);
      });
    }, 1000 / Math.min(60, Math.max(1, this.index.fps)));
  };

  /** Start the player in #player unless it runs already (the live update keeps the element). */
  function init() {
    var section = document.querySelector('section#player[data-job]');
    if (!section || section.getAttribute('data-player-state')) return;
    section.setAttribute('data-player-state', 'loading');
    var player = new Player(section);
    section.posepipePlayer = player;
    player.start();
  }

  /** Whether a key pressed in `target` is someone typing (a text field, a list, an editable area). */
  function typing(target) {
    if (!(target instanceof Element)) return false;
    if (target.isContentEditable || target.closest('textarea, select')) return true;
    var input = target.closest('input');
    return !!input && input.type !== 'range' && input.type !== 'checkbox' && input.type !== 'radio' && input.type !== 'button';
  }

  // Keys, as in video players: Space plays and pauses, ← and → step one frame, with Shift one
  // second. Not while typing, not with Ctrl/Alt/Meta (the browser's own shortcuts), and Space is
  // left to a focused button or link, which it presses.
  document.addEventListener('keydown', function (event) {
    var section = document.querySelector('section#player[data-player-state="ready"]');
    var player = section && section.posepipePlayer;
    if (!player || event.ctrlKey || event.altKey || event.metaKey || typing(event.target)) return;
    if (event.key === ' ' || event.key === 'Spacebar') {
      if (event.target instanceof Element && event.target.closest('button, a, summary')) return;
      event.preventDefault();
      player.togglePlay();
      return;
    }
    if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return;
    event.preventDefault();
    var step = event.shiftKey ? Math.max(1, Math.round(player.index.fps)) : 1;
    player.pause();
    player.show(player.current + (event.key === 'ArrowLeft' ? -step : step));
  });

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
  document.addEventListener('posepipe:updated', init);
})();
