// posepipe job page: the 3D view beside the player, for jobs whose people carry 3D joints (phalp).
// Every person's skeleton in the camera's frame (joints3d + camera_translation, metres), a ground
// grid under their feet, orbit (drag), pan (right-drag or Shift+drag) and zoom (wheel), and a
// "Camera" view that looks through the video's own camera (its focal length), where the skeletons
// fall on the people in the video. It draws the player's current frame from the frame windows the
// player fetched (never a request of its own), follows play, seek and step, and highlights the
// player's selected track; a click on a skeleton selects it. Loaded by player.js only for such jobs.
import * as THREE from '/static/three/three.module.js';
import { Orbit } from '/static/view3d-orbit.js';
import { BACKGROUND_COLOUR, el, JOINT_RADIUS, MIN_PIXELS, personPoints, Skeleton } from '/static/view3d-skeleton.js';

const FREE_FOV = 40; // degrees: the orbit view's own lens

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

    const bar = el('div', { class: 'v3-bar' });
    const free = el('button', { type: 'button', 'data-act': 'view3d-free', title: 'Look at the people from above and to the side' }, 'Reset view');
    const cam = el('button', { type: 'button', 'data-act': 'view3d-camera', title: "Look through the video's camera: the skeletons fall on the people in the video" }, 'Camera');
    free.addEventListener('click', () => this.freeView());
    cam.addEventListener('click', () => this.cameraView());
    bar.append(free, cam);
    box.append(bar, el('span', { class: 'v3-help' }, 'drag: turn · wheel: zoom · right-drag: move'));
    this.orbit = new Orbit(this.camera, this.canvas, () => this.render(), (e) => this.pick(e));
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
    this.camera.fov = FREE_FOV;
    this.placeGrid(b);
    this.orbit.aim(b.centre, (0.85 * b.radius) / Math.sin(fov / 2), 0.45, 0.3);
  }

  /** Through the video's camera: at the origin, looking down -z, the frame's height seen under the focal length. */
  cameraView() {
    if (!this.orbit.target) this.freeView(); // the orbit to leave the camera's view for
    const people = this.people();
    const focal = people.map((q) => Number(q.person.focal_length)).find((f) => f > 0);
    const height = this.player.index.height;
    // Without a focal length (a backend that gives none), phalp's: 5000 px on a 256 px square over the frame.
    const f = focal || (5000 * Math.max(this.player.index.width, height)) / 256;
    this.camera.fov = THREE.MathUtils.radToDeg(2 * Math.atan(height / 2 / f));
    this.camera.position.set(0, 0, 0);
    this.camera.quaternion.identity();
    this.camera.updateProjectionMatrix();
    this.orbit.placed = true;
    this.render();
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
    if (!this.orbit.target && people.length) this.freeView();
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
