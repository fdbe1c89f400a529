// Interactive 3D viewer of a BVH motion: three.js BVHLoader for parsing and playback,
// OrbitControls for the camera, a ground grid, the skeleton as lines and a simple body made of
// cylinders along the bones with spheres at the joints.
//
// BVH files in the catalog come in several conventions (Y-up or Z-up, centimetres, inches or
// metres), so the figure is turned upright and scaled to a person's height before it is shown.
import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import { BVHLoader } from 'three/examples/jsm/loaders/BVHLoader.js';

const FIGURE_HEIGHT_M = 1.7;
const BOUNDS_SAMPLES = 48;

/** True when this browser can create a WebGL2 context (three.js needs one). */
export function webglAvailable() {
  try {
    const canvas = document.createElement('canvas');
    return Boolean(canvas.getContext('webgl2'));
  } catch {
    return false;
  }
}

/**
 * three's animation bindings treat `.`, `:`, `/`, `[` and `]` in node names as syntax, and
 * Mixamo rigs name their joints `mixamorig:Hips`; such names are rewritten before parsing.
 */
export function sanitizeBvhJointNames(text) {
  return text.replace(/^(\s*(?:ROOT|JOINT)[ \t]+)(.+?)\s*$/gm, (_, head, name) => {
    return head + THREE.PropertyBinding.sanitizeNodeName(name.trim());
  });
}

/** Picks the axis that points from the feet to the head, as a unit vector. */
function detectUp(bones) {
  const head = bones.find((b) => /head/i.test(b.name));
  const feet = bones.filter((b) => /(foot|toe|ankle)/i.test(b.name));
  const box = new THREE.Box3();
  const points = bones.map((b) => b.getWorldPosition(new THREE.Vector3()));
  points.forEach((p) => box.expandByPoint(p));
  let dir;
  if (head && feet.length) {
    const footMid = new THREE.Vector3();
    feet.forEach((f) => footMid.add(f.getWorldPosition(new THREE.Vector3())));
    footMid.divideScalar(feet.length);
    dir = head.getWorldPosition(new THREE.Vector3()).sub(footMid);
  } else {
    const size = box.getSize(new THREE.Vector3());
    dir = size.z > size.y ? new THREE.Vector3(0, 0, 1) : new THREE.Vector3(0, 1, 0);
  }
  const ax = Math.abs(dir.x);
  const ay = Math.abs(dir.y);
  const az = Math.abs(dir.z);
  if (ay >= ax && ay >= az) return new THREE.Vector3(0, Math.sign(dir.y) || 1, 0);
  if (az >= ax) return new THREE.Vector3(0, 0, Math.sign(dir.z) || 1);
  return new THREE.Vector3(Math.sign(dir.x) || 1, 0, 0);
}

/** World-space bounding box of all bones of `figure` over the given times. */
function boundsAt(figure, mixer, bones, times) {
  const box = new THREE.Box3();
  const p = new THREE.Vector3();
  for (const t of times) {
    mixer.setTime(t);
    figure.updateMatrixWorld(true);
    for (const bone of bones) box.expandByPoint(bone.getWorldPosition(p));
  }
  return box;
}

/**
 * Parses BVH text into a figure that stands upright on the ground (Y up, feet at y = 0),
 * about 1.7 units tall and centred over the origin across the whole clip. Needs no WebGL.
 */
export function prepareMotion(bvhText) {
  const result = new BVHLoader().parse(sanitizeBvhJointNames(bvhText));
  const bones = result.skeleton.bones;
  if (!bones.length || !result.clip || !(result.clip.duration > 0)) {
    throw new Error('The BVH file has no skeleton or no motion.');
  }
  const boneRoot = new THREE.Group();
  boneRoot.add(bones[0]);
  const figure = new THREE.Group();
  figure.add(boneRoot);
  const mixer = new THREE.AnimationMixer(boneRoot);
  const action = mixer.clipAction(result.clip);
  action.play();
  const duration = result.clip.duration;

  mixer.setTime(0);
  figure.updateMatrixWorld(true);
  figure.quaternion.setFromUnitVectors(detectUp(bones), new THREE.Vector3(0, 1, 0));
  figure.updateMatrixWorld(true);

  const startBox = boundsAt(figure, mixer, bones, [0]);
  const nativeHeight = Math.max(startBox.max.y - startBox.min.y, 1e-6);
  figure.scale.setScalar(FIGURE_HEIGHT_M / nativeHeight);

  const samples = Array.from({ length: BOUNDS_SAMPLES + 1 }, (_, i) => (i / BOUNDS_SAMPLES) * duration);
  const all = boundsAt(figure, mixer, bones, samples);
  const center = all.getCenter(new THREE.Vector3());
  figure.position.set(-center.x, -all.min.y, -center.z);
  figure.updateMatrixWorld(true);
  const bounds = boundsAt(figure, mixer, bones, samples);
  mixer.setTime(0);
  figure.updateMatrixWorld(true);
  return { figure, boneRoot, bones, mixer, action, duration, nativeHeight, bounds, samples };
}

export class MotionViewer {
  /**
   * @param {HTMLElement} container element that receives the canvas; its size drives the view
   * @param {{onTime?: (t: number, duration: number) => void, onState?: (playing: boolean) => void}} hooks
   */
  constructor(container, hooks = {}) {
    this.container = container;
    this.hooks = hooks;
    this.time = 0;
    this.duration = 0;
    this.speed = 1;
    this.loop = true;
    this.playing = false;
    this.bodyVisible = true;
    this.lastTick = performance.now();

    this.renderer = new THREE.WebGLRenderer({ antialias: true });
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
    this.renderer.domElement.className = 'viewer-canvas';
    this.renderer.domElement.setAttribute('role', 'img');
    this.renderer.domElement.setAttribute(
      'aria-label',
      '3D view of the motion. Drag to orbit, scroll or pinch to zoom; from the keyboard, Shift and the arrow keys orbit, the arrow keys move, plus and minus zoom.',
    );
    this.renderer.domElement.tabIndex = 0;
    container.appendChild(this.renderer.domElement);

    this.scene = new THREE.Scene();
    this.scene.background = new THREE.Color(0x1b2230);
    this.camera = new THREE.PerspectiveCamera(45, 1, 0.01, 200);
    this.camera.position.set(2.5, 1.8, 3.5);
    this.controls = new OrbitControls(this.camera, this.renderer.domElement);
    this.controls.enableDamping = true;
    this.controls.target.set(0, 0.9, 0);
    this.controls.listenToKeyEvents(this.renderer.domElement);
    this.renderer.domElement.addEventListener('keydown', (event) => this.zoomKey(event));

    this.scene.add(new THREE.HemisphereLight(0xdde6ff, 0x303030, 1.6));
    const sun = new THREE.DirectionalLight(0xffffff, 1.8);
    sun.position.set(3, 6, 4);
    this.scene.add(sun);
    this.grid = new THREE.GridHelper(12, 24, 0x8899aa, 0x3a4555);
    this.scene.add(this.grid);

    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(container);
    this.resize();
    this.frame = requestAnimationFrame(() => this.tick());
  }

  resize() {
    const width = Math.max(1, this.container.clientWidth);
    const height = Math.max(1, this.container.clientHeight);
    this.renderer.setSize(width, height, false);
    this.camera.aspect = width / height;
    this.camera.updateProjectionMatrix();
  }

  /** Parses BVH text and shows it, replacing any previous motion. */
  load(bvhText) {
    this.clearFigure();
    const motion = prepareMotion(bvhText);
    Object.assign(this, motion);
    this.scene.add(this.figure);
    this.buildBody(this.bones, motion.nativeHeight);
    this.fitCamera(motion.bounds);
    this.setTime(0);
  }

  buildBody(bones, nativeHeight) {
    const radius = nativeHeight * 0.022;
    const limbMaterial = new THREE.MeshStandardMaterial({ color: 0x5b9cf6, roughness: 0.55 });
    const jointMaterial = new THREE.MeshStandardMaterial({ color: 0xf0f4fa, roughness: 0.4 });
    this.cylinder = new THREE.CylinderGeometry(radius, radius, 1, 14);
    this.sphere = new THREE.SphereGeometry(radius * 1.25, 16, 12);
    this.materials = [limbMaterial, jointMaterial];
    this.limbs = [];
    this.joints = [];
    for (const bone of bones) {
      const joint = new THREE.Mesh(this.sphere, jointMaterial);
      joint.visible = this.bodyVisible;
      bone.add(joint);
      this.joints.push(joint);
      for (const child of [...bone.children]) {
        if (!child.isBone) continue;
        const limb = new THREE.Mesh(this.cylinder, limbMaterial);
        bone.add(limb);
        this.limbs.push({ limb, child });
      }
    }
    this.skeletonLines = new THREE.SkeletonHelper(this.boneRoot);
    this.skeletonLines.material.depthTest = false;
    this.skeletonLines.material.transparent = true;
    this.skeletonLines.renderOrder = 2;
    this.scene.add(this.skeletonLines);
    this.updateLimbs();
  }

  /** Bone offsets may animate (position channels on any joint), so limbs follow every frame. */
  updateLimbs() {
    const yAxis = new THREE.Vector3(0, 1, 0);
    const dir = new THREE.Vector3();
    for (const { limb, child } of this.limbs) {
      const length = child.position.length();
      limb.visible = this.bodyVisible && length > 1e-6;
      if (!limb.visible) continue;
      limb.position.copy(child.position).multiplyScalar(0.5);
      limb.quaternion.setFromUnitVectors(yAxis, dir.copy(child.position).divideScalar(length));
      limb.scale.set(1, length, 1);
    }
  }

  fitCamera(box) {
    const size = box.getSize(new THREE.Vector3());
    const center = box.getCenter(new THREE.Vector3());
    const radius = Math.max(size.length() / 2, 1);
    const distance = radius / Math.sin(THREE.MathUtils.degToRad(this.camera.fov / 2)) * 0.9;
    this.home = {
      target: new THREE.Vector3(center.x, Math.max(center.y, 0.85), center.z),
      position: new THREE.Vector3(center.x + distance * 0.55, center.y + distance * 0.35, center.z + distance * 0.8),
    };
    this.resetCamera();
  }

  resetCamera() {
    if (!this.home) return;
    this.controls.target.copy(this.home.target);
    this.camera.position.copy(this.home.position);
    this.controls.update();
  }

  setBodyVisible(visible) {
    this.bodyVisible = visible;
    for (const joint of this.joints || []) joint.visible = visible;
    this.updateLimbs();
  }

  setSkeletonVisible(visible) {
    if (this.skeletonLines) this.skeletonLines.visible = visible;
  }

  play() {
    if (!this.mixer) return;
    if (!this.loop && this.time >= this.duration) this.time = 0;
    this.playing = true;
    this.elapsed();
    this.hooks.onState?.(true);
  }

  pause() {
    this.playing = false;
    this.hooks.onState?.(false);
  }

  toggle() {
    if (this.playing) this.pause();
    else this.play();
  }

  setSpeed(speed) {
    this.speed = speed;
  }

  setLoop(loop) {
    this.loop = loop;
  }

  setTime(t) {
    if (!this.mixer) return;
    this.time = Math.min(Math.max(t, 0), this.duration);
    // A time exactly at the end would wrap to frame 0 with LoopRepeat; stay just before it.
    this.mixer.setTime(Math.min(this.time, Math.max(this.duration - 1e-4, 0)));
    this.updateLimbs();
    this.hooks.onTime?.(this.time, this.duration);
  }

  /** Seconds since the last call (the animation clock). */
  elapsed() {
    const now = performance.now();
    const seconds = (now - this.lastTick) / 1000;
    this.lastTick = now;
    return seconds;
  }

  /** `+` and `-` zoom towards and away from the orbit's centre, as the mouse wheel does. */
  zoomKey(event) {
    // With Ctrl, Cmd or Alt the keys belong to the browser (page zoom).
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const factor = { '+': 0.85, '=': 0.85, '-': 1 / 0.85, _: 1 / 0.85 }[event.key];
    if (!factor) return;
    event.preventDefault();
    const offset = this.camera.position.clone().sub(this.controls.target).multiplyScalar(factor);
    this.camera.position.copy(this.controls.target).add(offset);
    this.controls.update();
  }

  tick() {
    this.frame = requestAnimationFrame(() => this.tick());
    const dt = this.elapsed();
    if (this.playing && this.mixer) {
      let t = this.time + dt * this.speed;
      if (t >= this.duration) {
        if (this.loop && this.duration > 0) {
          t %= this.duration;
        } else {
          t = this.duration;
          this.pause();
        }
      }
      this.setTime(t);
    }
    this.controls.update();
    this.renderer.render(this.scene, this.camera);
  }

  clearFigure() {
    if (this.figure) this.scene.remove(this.figure);
    if (this.skeletonLines) {
      this.scene.remove(this.skeletonLines);
      this.skeletonLines.dispose();
    }
    this.cylinder?.dispose();
    this.sphere?.dispose();
    this.materials?.forEach((m) => m.dispose());
    this.mixer?.stopAllAction();
    this.figure = null;
    this.skeletonLines = null;
    this.mixer = null;
    this.limbs = [];
    this.joints = [];
  }

  dispose() {
    cancelAnimationFrame(this.frame);
    this.resizeObserver.disconnect();
    this.clearFigure();
    this.controls.dispose();
    this.grid.geometry.dispose();
    this.grid.material.dispose();
    this.renderer.dispose();
    this.renderer.domElement.remove();
  }
}
