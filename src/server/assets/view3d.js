// posepipe job page: the 3D view beside the player, for jobs whose people carry 3D joints (phalp).
// Every person's skeleton in the camera's frame (joints3d + camera_translation, metres), a ground
// grid under their feet, orbit (drag), pan (right-drag or Shift+drag) and zoom (wheel), and a
// "Camera" view that looks through the video's own camera (its focal length), where the skeletons
// fall on the people in the video. It draws the player's current frame from the frame windows the
// player fetched (never a request of its own), follows play, seek and step, and highlights the
// player's selected track; a click on a skeleton selects it. Loaded by player.js only for such jobs.
import * as THREE from '/static/three/three.module.js';

// phalp's 45 points: OpenPose BODY_25 first (the player's 2D edges), then 19 joints of other
// datasets (25..36 repeat the limbs' joints and are not drawn twice), then the model's origin (44).
// From the extras: pelvis 39, spine 41, thorax 40, neck 37, jaw 42, head 43, top of the head 38.
const BODY_25 = [[1, 8], [1, 2], [1, 5], [2, 3], [3, 4], [5, 6], [6, 7], [8, 9], [9, 10], [10, 11], [8, 12], [12, 13], [13, 14], [1, 0], [0, 15], [15, 17], [0, 16], [16, 18], [14, 19], [19, 20], [14, 21], [11, 22], [22, 23], [11, 24]];
const SPINE_AND_HEAD = [[39, 41], [41, 40], [40, 37], [37, 42], [42, 43], [43, 38]];
/** The bones drawn for a person with n joints: those whose both ends exist. */
const edgesFor = (n) => BODY_25.concat(SPINE_AND_HEAD).filter((e) => e[0] < n && e[1] < n && !(n > 44 && (e[0] === 44 || e[1] === 44)));

const JOINT_RADIUS = 0.035; // metres
const BONE_RADIUS = 0.016;
const MIN_PIXELS = { joint: 2.2, bone: 0.8 }; // radii: a far skeleton is drawn thicker than life, so that it stays visible
const FREE_FOV = 40; // degrees: the orbit view's own lens
const BACKGROUND = 0x14181f;
const DIM = 0.25; // how much of their colour the tracks not selected keep, while one is
const BACKGROUND_COLOUR = new THREE.Color(BACKGROUND);

/** Where a joint is in three.js's axes: the camera's x right, y down, z forward become x, -y, -z (three looks down -z, y up). */
function scenePoint(j, t) {
  const x = j[0] + t[0];
  const y = j[1] + t[1];
  const z = j[2] + t[2];
  return Number.isFinite(x) && Number.isFinite(y) && Number.isFinite(z) ? new THREE.Vector3(x, -y, -z) : null;
}

/** A person's joints in scene axes (null where a value is missing), or null when the person has no 3D. */
function personPoints(p) {
  const j = p.joints3d;
  const t = p.camera_translation;
  if (!Array.isArray(j) || !Array.isArray(t) || t.length < 3) return null;
  return j.map((v) => (Array.isArray(v) && v.length >= 3 ? scenePoint(v, t) : null));
}

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** One drawn person: instanced spheres for the joints and cylinders for the bones, reused frame after frame for whoever is k-th. */
class Skeleton {
  constructor(scene, box, sphere, cylinder) {
    this.material = new THREE.MeshBasicMaterial();
    this.joints = new THREE.InstancedMesh(sphere, this.material, 64);
    this.bones = new THREE.InstancedMesh(cylinder, this.material, 64);
    for (const m of [this.joints, this.bones]) {
      m.frustumCulled = false; // the instances move every frame; their bounds are not kept up to date
      m.userData.skeleton = this;
      scene.add(m);
    }
    this.label = el('span', { class: 'v3-label' });
    box.appendChild(this.label);
    this.track = null;
    this.head = null;
  }

  /** Show person p (its points in scene axes) in its track's colour, full or dimmed. */
  set(p, points, colour, dim, selected) {
    this.points = points;
    this.selected = selected;
    this.centre = new THREE.Vector3();
    let n = 0;
    let head = null;
    for (const v of points) {
      if (!v) continue;
      this.centre.add(v);
      n += 1;
      if (!head || v.y > head.y) head = v;
    }
    this.centre.divideScalar(Math.max(1, n));
    // Dimmed: the colour mixed into the background, opaque (see-through parts would add up where they overlap).
    this.material.color.setStyle(colour);
    if (dim) this.material.color.lerp(BACKGROUND_COLOUR, 1 - DIM);
    this.track = p.track;
    this.head = head;
    this.label.textContent = '#' + p.track;
    this.label.style.color = colour;
    this.label.style.opacity = dim ? '0.4' : '1';
    this.visible(true);
  }

  /** Place the spheres and cylinders, at least this many metres thick (so a far skeleton stays a few pixels thick). */
  place(least) {
    const points = this.points;
    const m = new THREE.Matrix4();
    const q = new THREE.Quaternion();
    const up = new THREE.Vector3(0, 1, 0);
    const r = Math.max(JOINT_RADIUS, least.joint) * (this.selected ? 1.35 : 1);
    const br = Math.max(BONE_RADIUS, least.bone);
    let n = 0;
    for (const v of points.slice(0, 64)) {
      if (v) this.joints.setMatrixAt(n++, m.makeScale(r, r, r).setPosition(v));
    }
    this.joints.count = n;
    n = 0;
    for (const [a, b] of edgesFor(points.length)) {
      const pa = points[a];
      const pb = points[b];
      if (!pa || !pb) continue;
      const d = new THREE.Vector3().subVectors(pb, pa);
      const len = d.length();
      if (len < 1e-6) continue;
      q.setFromUnitVectors(up, d.divideScalar(len));
      m.compose(new THREE.Vector3().addVectors(pa, pb).multiplyScalar(0.5), q, new THREE.Vector3(br, len, br));
      this.bones.setMatrixAt(n++, m);
    }
    this.bones.count = n;
    this.joints.instanceMatrix.needsUpdate = true;
    this.bones.instanceMatrix.needsUpdate = true;
  }

  visible(on) {
    this.joints.visible = on;
    this.bones.visible = on;
    if (!on) {
      this.track = null;
      this.label.style.display = 'none';
    }
  }
}

/** The 3D view of `player` (src/server/assets/player.js) in `box`. */
class View3d {
  constructor(player, box) {
    this.player = player;
    this.box = box;
    const ix = player.index;
    this.aspect = ix.width / ix.height;
    box.replaceChildren();
    this.renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
    this.canvas = this.renderer.domElement;
    this.canvas.id = 'view3d-canvas';
    this.canvas.setAttribute('aria-label', '3D view of the people in the current frame: drag to turn, wheel to zoom, right-drag or Shift+drag to move');
    box.appendChild(this.canvas);
    this.scene = new THREE.Scene();
    this.scene.background = BACKGROUND_COLOUR;
    this.camera = new THREE.PerspectiveCamera(FREE_FOV, this.aspect, 0.01, 10000);
    this.sphere = new THREE.SphereGeometry(1, 12, 8);
    this.cylinder = new THREE.CylinderGeometry(1, 1, 1, 8, 1, true);
    this.skeletons = [];
    this.grid = null;
    this.videoCamera = this.cameraMarker();
    this.scene.add(this.videoCamera);
    this.orbit = null; // { target, radius, theta, phi }: set on the first frame with people
    this.mode = 'free';

    const bar = el('div', { class: 'v3-bar' });
    const free = el('button', { type: 'button', 'data-act': 'view3d-free', title: 'Look at the people from above and to the side' }, 'Reset view');
    const cam = el('button', { type: 'button', 'data-act': 'view3d-camera', title: "Look through the video's camera: the skeletons fall on the people in the video" }, 'Camera');
    free.addEventListener('click', () => this.freeView());
    cam.addEventListener('click', () => this.cameraView());
    bar.append(free, cam);
    box.append(bar, el('span', { class: 'v3-help' }, 'drag: turn · wheel: zoom · right-drag: move'));
    this.controls();
    new ResizeObserver(() => this.resize()).observe(box);
    this.resize();
    player.hooks.push(() => this.update());
    box.posepipeView3d = this;
    this.update();
    box.setAttribute('data-view3d-state', 'ready');
  }

  /** A small wire pyramid at the origin looking down -z: where the video's camera stands. */
  cameraMarker() {
    const s = 0.25;
    const h = s * 0.75;
    const d = s * 1.2;
    const corners = [[-s, -h, -d], [s, -h, -d], [s, h, -d], [-s, h, -d]];
    const points = [];
    for (let i = 0; i < 4; i++) {
      points.push(0, 0, 0, ...corners[i], ...corners[i], ...corners[(i + 1) % 4]);
    }
    const g = new THREE.BufferGeometry();
    g.setAttribute('position', new THREE.Float32BufferAttribute(points, 3));
    return new THREE.LineSegments(g, new THREE.LineBasicMaterial({ color: 0x98a2b3 }));
  }

  resize() {
    const w = Math.max(1, this.box.clientWidth);
    const h = Math.max(1, this.box.clientHeight);
    this.renderer.setPixelRatio(window.devicePixelRatio || 1);
    this.renderer.setSize(w, h, false);
    this.camera.aspect = w / h;
    this.camera.updateProjectionMatrix();
    this.render();
  }

  /** The people of the frame shown: [{ person, points }] for those with 3D joints. */
  people() {
    const f = this.player.frames[this.player.current];
    const out = [];
    if (!f) return out;
    for (const p of f.persons) {
      const points = personPoints(p);
      if (points && points.some((v) => v)) out.push({ person: p, points });
    }
    return out;
  }

  /** Centre, radius and lowest point of these people's joints. */
  static bounds(people) {
    const box = new THREE.Box3();
    for (const { points } of people) for (const v of points) if (v) box.expandByPoint(v);
    const sphere = box.getBoundingSphere(new THREE.Sphere());
    return { centre: sphere.center, radius: Math.max(1, sphere.radius), floor: box.min.y };
  }

  /** A ground grid under the people's feet (the lowest joint), centred below them, with cells of a round size. */
  placeGrid(b) {
    if (this.grid) {
      this.scene.remove(this.grid);
      this.grid.geometry.dispose();
    }
    const cell = b.radius > 20 ? 5 : b.radius > 6 ? 1 : 0.5;
    const size = Math.ceil((Math.max(6, b.radius * 3) / cell) / 2) * 2 * cell;
    this.grid = new THREE.GridHelper(size, Math.round(size / cell), 0x56627a, 0x2e3645);
    this.grid.position.set(b.centre.x, b.floor, b.centre.z);
    this.scene.add(this.grid);
  }

  /** From above and to the side of the people (or ahead of the camera while nobody is in view). */
  freeView() {
    const people = this.people();
    const b = people.length ? View3d.bounds(people) : { centre: new THREE.Vector3(0, 0, -5), radius: 2, floor: -1 };
    const fov = THREE.MathUtils.degToRad(FREE_FOV);
    this.orbit = { target: b.centre.clone(), radius: (0.85 * b.radius) / Math.sin(fov / 2), theta: 0.45, phi: 0.3 };
    this.camera.fov = FREE_FOV;
    this.mode = 'free';
    this.placeGrid(b);
    this.apply();
  }

  /** Through the video's camera: at the origin, looking down -z, the frame's height seen under the focal length. */
  cameraView() {
    if (!this.orbit) this.freeView(); // the orbit to leave the camera's view for
    const people = this.people();
    const focal = people.map((q) => Number(q.person.focal_length)).find((f) => f > 0);
    const height = this.player.index.height;
    // Without a focal length (a backend that gives none), phalp's: 5000 px on a 256 px square over the frame.
    const f = focal || (5000 * Math.max(this.player.index.width, height)) / 256;
    this.camera.fov = THREE.MathUtils.radToDeg(2 * Math.atan(height / 2 / f));
    this.camera.position.set(0, 0, 0);
    this.camera.quaternion.identity();
    this.camera.updateProjectionMatrix();
    this.mode = 'camera';
    this.render();
  }

  /** The orbit's camera: at radius from the target, turned theta about the vertical and raised phi. */
  apply() {
    const o = this.orbit;
    const c = Math.cos(o.phi);
    this.camera.position.set(o.target.x + o.radius * Math.sin(o.theta) * c, o.target.y + o.radius * Math.sin(o.phi), o.target.z + o.radius * Math.cos(o.theta) * c);
    this.camera.up.set(0, 1, 0);
    this.camera.lookAt(o.target);
    this.camera.updateProjectionMatrix();
    this.render();
  }

  /** Leave the camera's view for an orbit around the people, from where the camera stands. */
  fromCamera() {
    if (this.mode !== 'camera') return;
    const o = this.orbit;
    const d = new THREE.Vector3().subVectors(this.camera.position, o.target);
    o.radius = Math.max(0.1, d.length());
    o.theta = Math.atan2(d.x, d.z);
    o.phi = Math.asin(Math.max(-1, Math.min(1, d.y / o.radius)));
    this.mode = 'free';
  }

  /** Drag to turn, right-drag or Shift+drag to move, wheel to zoom; a click without a drag selects the skeleton under it. */
  controls() {
    const canvas = this.canvas;
    let drag = null;
    canvas.addEventListener('contextmenu', (e) => e.preventDefault());
    canvas.addEventListener('pointerdown', (e) => {
      drag = { x: e.clientX, y: e.clientY, x0: e.clientX, y0: e.clientY, pan: e.button === 2 || e.shiftKey, moved: false };
      canvas.setPointerCapture(e.pointerId);
    });
    canvas.addEventListener('pointermove', (e) => {
      if (!drag || !this.orbit) return;
      const dx = e.clientX - drag.x;
      const dy = e.clientY - drag.y;
      drag.x = e.clientX;
      drag.y = e.clientY;
      if (Math.abs(e.clientX - drag.x0) + Math.abs(e.clientY - drag.y0) > 3) drag.moved = true;
      if (!drag.moved) return;
      this.fromCamera();
      const o = this.orbit;
      if (drag.pan) {
        // Move the target with the pointer: a pixel is this many metres at the target's distance.
        const k = (2 * o.radius * Math.tan(THREE.MathUtils.degToRad(this.camera.fov) / 2)) / canvas.clientHeight;
        const right = new THREE.Vector3().setFromMatrixColumn(this.camera.matrixWorld, 0);
        const up = new THREE.Vector3().setFromMatrixColumn(this.camera.matrixWorld, 1);
        o.target.addScaledVector(right, -dx * k).addScaledVector(up, dy * k);
      } else {
        o.theta -= (dx / canvas.clientWidth) * Math.PI * 1.5;
        o.phi = Math.max(-1.5, Math.min(1.5, o.phi + (dy / canvas.clientHeight) * Math.PI));
      }
      this.apply();
    });
    canvas.addEventListener('pointerup', (e) => {
      if (drag && !drag.moved) this.pick(e);
      drag = null;
    });
    canvas.addEventListener('pointercancel', () => {
      drag = null;
    });
    canvas.addEventListener(
      'wheel',
      (e) => {
        if (!this.orbit) return;
        e.preventDefault();
        this.fromCamera();
        this.orbit.radius = Math.max(0.1, this.orbit.radius * Math.exp(Math.max(-100, Math.min(100, e.deltaY)) * 0.002));
        this.apply();
      },
      { passive: false },
    );
  }

  /** Select the track whose skeleton is under the pointer (none: clear the selection), as a click on its box does. */
  pick(e) {
    const rect = this.canvas.getBoundingClientRect();
    const at = new THREE.Vector2(((e.clientX - rect.left) / rect.width) * 2 - 1, -((e.clientY - rect.top) / rect.height) * 2 + 1);
    const ray = new THREE.Raycaster();
    ray.setFromCamera(at, this.camera);
    const meshes = [];
    for (const s of this.skeletons) {
      if (s.track === null) continue;
      // Raycasting an InstancedMesh tests its bounds first: make them this frame's.
      s.joints.computeBoundingSphere();
      s.bones.computeBoundingSphere();
      meshes.push(s.joints, s.bones);
    }
    const hit = ray.intersectObjects(meshes, false)[0];
    this.player.select(hit ? hit.object.userData.skeleton.track : null, false);
  }

  /** Draw the player's current frame (called by the player whenever it draws). */
  update() {
    const people = this.people();
    if (!this.orbit && people.length) this.freeView();
    const selected = this.player.selected;
    people.forEach((q, k) => {
      if (!this.skeletons[k]) this.skeletons[k] = new Skeleton(this.scene, this.box, this.sphere, this.cylinder);
      const on = q.person.track === selected;
      this.skeletons[k].set(q.person, q.points, this.player.colour(q.person.track), selected !== null && !on, on);
    });
    for (let k = people.length; k < this.skeletons.length; k++) this.skeletons[k].visible(false);
    this.box.setAttribute('data-frame', String(this.player.current));
    this.box.setAttribute('data-people', String(people.length));
    this.box.setAttribute('data-selected', selected === null ? '' : String(selected));
    this.render();
  }

  render() {
    this.camera.updateMatrixWorld();
    // Metres a CSS pixel covers at distance 1 (the vertical field of view over the canvas's height).
    const perPixel = (2 * Math.tan(THREE.MathUtils.degToRad(this.camera.fov) / 2)) / Math.max(1, this.canvas.clientHeight);
    for (const s of this.skeletons) {
      if (s.track === null) continue;
      const pixel = perPixel * s.centre.distanceTo(this.camera.position);
      s.place({ joint: MIN_PIXELS.joint * pixel, bone: MIN_PIXELS.bone * pixel });
    }
    this.renderer.render(this.scene, this.camera);
    // Each track's label above its highest joint, where that is in front of the camera.
    const w = this.canvas.clientWidth;
    const h = this.canvas.clientHeight;
    for (const s of this.skeletons) {
      if (s.track === null || !s.head) continue;
      const v = s.head.clone().project(this.camera);
      const shown = v.z > -1 && v.z < 1 && Math.abs(v.x) <= 1 && Math.abs(v.y) <= 1;
      s.label.style.display = shown ? '' : 'none';
      if (shown) {
        s.label.style.left = ((v.x + 1) / 2) * w + 'px';
        s.label.style.top = ((1 - v.y) / 2) * h - 6 + 'px';
      }
    }
  }
}

/** Attach the view to the player of this page once it is ready (player.js loads this module for jobs with 3D joints). */
function start() {
  const section = document.querySelector('section#player');
  const box = document.getElementById('view3d');
  const player = section && section.posepipePlayer;
  if (!player || !box || box.posepipeView3d || !player.index) return;
  try {
    new View3d(player, box);
  } catch (error) {
    // No WebGL (a browser without it, or with it switched off): the 2D player goes on alone.
    box.setAttribute('data-view3d-state', 'unavailable');
    box.replaceChildren(el('p', { class: 'muted', id: 'view3d-note' }, 'No 3D view: ' + (error && error.message ? error.message : String(error))));
  }
}

start();
