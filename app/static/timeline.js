// GENMO timeline editor: runs as gr.HTML js_on_load with (element, trigger, props, server, upload, watch).
// The editor's state is the timeline spec dict; props.value carries it as JSON text. Every edit
// assigns the new text to props.value and fires trigger('change'). User text is only ever set through textContent / .value.
// What the spec allows (media extensions, exclusive kinds, library poses, sampler defaults) comes
// from Python in props.schema (app/timeline.py: widget_schema).
const SCHEMA = props.schema;
const KINDS = [
  { kind: "text", label: "Text", add: "Add text clip", hint: "Click empty space to add a prompt" },
  { kind: "music", label: "Music", add: "Add music clip", hint: "Click to add, then upload audio" },
  { kind: "video", label: "Video", add: "Add video clip", hint: "Click to add, then upload a video" },
  { kind: "keypoints2d", label: "2D keypoints", add: "Add 2D keypoints clip", hint: "Click to add, then upload keypoints (npz)" },
  { kind: "keyframe", label: "Keyframes", add: "Add keyframe", hint: "Click to place a 3D pose" },
].map((k) => (SCHEMA.extensions[k.kind] ? { ...k, accept: SCHEMA.extensions[k.kind].join(",") } : k));
const KIND_INFO = Object.fromEntries(KINDS.map((k) => [k.kind, k]));
const EXCLUSIVE = new Set(SCHEMA.exclusive);
const POSE_NAMES = SCHEMA.poses;
const ROW_H = 34;
const LANE_PAD = 12; // px left and right of each lane, so keyframes at 0 s and at the end are drawn whole
const MIN_LEN = 0.1;
const SNAP = 0.1;
const DEFAULT_LEN = 2.0;
const MAX_TEXT_CHARS = 500; // genmo.spec.MAX_TEXT_CHARS
const EDGE_SNAP_PX = 8; // a dragged edge this close to another clip's edge (or 0 / the end) lands on it
const HISTORY = 100; // undo steps kept
const STORE_KEY = "genmo-studio-timeline-v1"; // the last timeline, kept in this browser across reloads

const root = element.querySelector(".gtl");
const media = {}; // server path -> {status: "pending" | "ok" | "error", info, error}
let state = normalize(props.value);
let selected = null;
let pxPerSec = 60;
let snapOn = true;
let panelError = "";
let drag = null;
let past = [], future = []; // undo / redo: the tracks before / after each edit
let lastTracks = JSON.stringify(state.tracks);

function clone(v) { return JSON.parse(JSON.stringify(v)); }
function round3(t) { return Math.round(t * 1000) / 1000; }
function parse(v) {
  if (typeof v !== "string") return v;
  try { return JSON.parse(v); } catch (err) { return null; }
}
function normalize(v) {
  v = parse(v);
  const s = v && typeof v === "object" ? clone(v) : {};
  s.version = s.version ?? SCHEMA.version;
  s.fps = s.fps ?? SCHEMA.fps;
  s.duration = typeof s.duration === "number" && s.duration > 0 ? s.duration : 8;
  s.sampler = s.sampler ?? clone(SCHEMA.sampler);
  s.tracks = Array.isArray(s.tracks) ? s.tracks.filter((t) => t && KIND_INFO[t.kind]) : [];
  return s;
}
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = String(text);
  return e;
}
function snap(t) { return snapOn ? Math.round(t / SNAP) * SNAP : t; }
function clamp(x, lo, hi) { return Math.min(Math.max(x, lo), hi); }
function fmt(t) { return (Math.round(t * 100) / 100).toFixed(Math.abs(t - Math.round(t)) < 1e-6 ? 1 : 2); }
function baseName(p) { return String(p || "").split(/[\\/]/).pop(); }

function remember() {
  // one undo step when the tracks changed since the last one recorded
  const now = JSON.stringify(state.tracks);
  if (now === lastTracks) return;
  past.push(lastTracks);
  if (past.length > HISTORY) past.shift();
  future = [];
  lastTracks = now;
}
function travel(from, to) {
  if (!from.length) return;
  to.push(lastTracks);
  lastTracks = from.pop();
  state.tracks = fitTracks(JSON.parse(lastTracks));
  lastTracks = JSON.stringify(state.tracks);
  selected = null;
  panelError = "";
  publish();
  render();
}
function undo() { travel(past, future); }
function redo() { travel(future, past); }
function fitTracks(tracks) {
  // clips from another duration: trimmed at the end, dropped when they start after it (as fit_to_duration)
  return tracks.filter((t) => (t.kind === "keyframe" ? t.time <= state.duration : t.start < state.duration - 0.05))
    .map((t) => (t.kind === "keyframe" ? t : { ...t, end: Math.min(t.end, state.duration) }));
}
function newTimeline() {
  if (!state.tracks.length) return;
  state.tracks = [];
  selected = null;
  panelError = "";
  commit();
  render();
}
function commit() {
  remember();
  publish();
}
function publish() {
  root.dataset.spec = JSON.stringify(state);
  props.value = JSON.stringify(state);
  store();
  trigger("change");
}
function store() {
  try { localStorage.setItem(STORE_KEY, JSON.stringify(state)); } catch (err) { /* storage full or disabled */ }
}

// ---- geometry helpers -------------------------------------------------------------------------
function neighbours(index) {
  // free interval [lo, hi] around track `index` among clips of the same exclusive kind
  const t = state.tracks[index];
  let lo = 0, hi = state.duration;
  if (!EXCLUSIVE.has(t.kind)) return [lo, hi];
  state.tracks.forEach((o, j) => {
    if (j === index || o.kind !== t.kind) return;
    if (o.end <= t.start + 1e-6) lo = Math.max(lo, o.end);
    else if (o.start >= t.end - 1e-6) hi = Math.min(hi, o.start);
  });
  return [lo, hi];
}
function freeSpanAt(kind, time) {
  // the free interval containing `time` for an exclusive kind, or null when occupied
  let lo = 0, hi = state.duration;
  for (const o of state.tracks) {
    if (o.kind !== kind) continue;
    if (time >= o.start && time < o.end) return null;
    if (o.end <= time) lo = Math.max(lo, o.end);
    if (o.start > time) hi = Math.min(hi, o.start);
  }
  return [lo, hi];
}
function edgeTimes(except) {
  // the times a dragged edge may snap to: 0, the end, and every other clip's edges and keyframes
  const times = [0, state.duration];
  state.tracks.forEach((o, j) => {
    if (j === except) return;
    if (o.kind === "keyframe") times.push(o.time); else times.push(o.start, o.end);
  });
  return times;
}
function snapEdge(t, times) {
  // the nearest edge within EDGE_SNAP_PX, else t
  let best = t, dist = EDGE_SNAP_PX / pxPerSec;
  for (const e of times) if (Math.abs(e - t) <= dist) { best = e; dist = Math.abs(e - t); }
  return best;
}
function keyframeClash(time, except) {
  const f = Math.round(time * state.fps);
  return state.tracks.some((o, j) => j !== except && o.kind === "keyframe" && Math.round(o.time * state.fps) === f);
}

// ---- editing ----------------------------------------------------------------------------------
function addClip(kind, time) {
  time = clamp(snap(time), 0, state.duration);
  let track;
  if (kind === "keyframe") {
    if (keyframeClash(time, -1)) return;
    track = { kind, time: round3(time), path: "", frame: 0 };
  } else {
    let start = time, end = Math.min(time + DEFAULT_LEN, state.duration);
    if (EXCLUSIVE.has(kind)) {
      const span = freeSpanAt(kind, time);
      if (!span) return;
      end = Math.min(end, span[1]);
    }
    if (end - start < MIN_LEN) { start = Math.max(0, end - DEFAULT_LEN); }
    if (end - start < MIN_LEN - 1e-9) return;
    track = kind === "text"
      ? { kind, start: round3(start), end: round3(end), text: "a person walks forward" }
      : { kind, start: round3(start), end: round3(end), path: "", offset: 0.0 };
  }
  state.tracks.push(track);
  selected = state.tracks.length - 1;
  panelError = "";
  commit();
  render();
}
function deleteSelected() {
  if (selected === null) return;
  state.tracks.splice(selected, 1);
  selected = null;
  panelError = "";
  commit();
  render();
}
function trackEnd(t) { return t.kind === "keyframe" ? t.time : t.end; }
function endOfTimeline() {
  return state.tracks.reduce((m, t) => Math.max(m, trackEnd(t)), 0);
}

// ---- media ------------------------------------------------------------------------------------
function ensureMedia(path, kind) {
  if (!path || media[path]) return;
  media[path] = { status: "pending" };
  server.inspect_media({ path, kind }).then((res) => {
    media[path] = res && res.ok ? { status: "ok", info: res.info } : { status: "error", error: (res && res.error) || "unreadable file" };
    render();
  }).catch((err) => {
    media[path] = { status: "error", error: String(err && err.message ? err.message : err) };
    render();
  });
}
async function uploadInto(index, file) {
  const t = state.tracks[index];
  const accept = KIND_INFO[t.kind].accept.split(",");
  const ext = "." + String(file.name).split(".").pop().toLowerCase();
  panelError = "";
  if (!accept.includes(ext)) {
    panelError = `${file.name}: unsupported format ${ext} (expected ${accept.join(", ")})`;
    render();
    return;
  }
  const limit = Number(props.max_upload_bytes) || 0;
  if (limit && file.size > limit) {
    panelError = `${file.name}: ${(file.size / 2 ** 20).toFixed(1)} MiB is over the ${(limit / 2 ** 20).toFixed(0)} MiB upload limit`;
    render();
    return;
  }
  const fresh = !t.path;
  setBusy(`Uploading ${file.name}…`);
  try {
    const { path } = await upload(file);
    setBusy(`Checking ${file.name}…`);
    const res = await server.inspect_media({ path, kind: t.kind });
    if (!res || !res.ok) {
      panelError = (res && res.error) || `${file.name}: cannot read this file`;
    } else {
      media[path] = { status: "ok", info: res.info };
      const cur = state.tracks[index];
      if (cur === t) {
        cur.path = path;
        if (t.kind !== "keyframe" && res.info.duration) {
          // a clip takes the media's length: cut to a shorter file; a fresh clip grows to a longer one
          // (up to the next clip of its kind and the timeline's end)
          const avail = res.info.duration - (cur.offset || 0);
          if (avail > MIN_LEN && cur.end - cur.start > avail) cur.end = round3(cur.start + avail);
          else if (fresh && avail > cur.end - cur.start) cur.end = round3(Math.min(cur.start + avail, neighbours(index)[1]));
        }
        commit();
      }
    }
  } catch (err) {
    panelError = `${file.name}: upload failed (${String(err && err.message ? err.message : err)})`;
  }
  setBusy("");
  render();
}
function useLibraryPose(index, name) {
  const t = state.tracks[index];
  if (!t || t.kind !== "keyframe") return;
  t.path = "library:" + name;
  t.frame = 0;
  panelError = "";
  commit();
  render();
}
let busyText = "";
function setBusy(text) { busyText = text; const b = root.querySelector(".gtl-busy"); if (b) b.textContent = text; }

// ---- rendering --------------------------------------------------------------------------------
function render() {
  const scroller = root.querySelector(".gtl-scroll");
  const scrollLeft = scroller ? scroller.scrollLeft : 0;
  root.replaceChildren(renderToolbar(), renderGrid(), renderPanel());
  root.dataset.spec = JSON.stringify(state); // read by tests and tools; an attribute, never markup
  const s2 = root.querySelector(".gtl-scroll");
  if (s2) s2.scrollLeft = scrollLeft;
}

function button(text, title, onClick, cls, label) {
  const b = el("button", "gtl-btn" + (cls ? " " + cls : ""), text);
  b.type = "button";
  b.title = title;
  b.setAttribute("aria-label", label || title);
  b.addEventListener("click", (e) => { e.stopPropagation(); onClick(e); });
  return b;
}

function renderToolbar() {
  const bar = el("div", "gtl-toolbar");
  const title = el("div", "gtl-title");
  title.append(el("span", "gtl-title-main", "Timeline"), el("span", "gtl-title-sub",
    `${fmt(state.duration)} s · ${state.fps} fps · ${state.tracks.length} clip${state.tracks.length === 1 ? "" : "s"}`));
  bar.append(title);
  const edit = el("div", "gtl-group");
  const undoBtn = button("↶ Undo", "Undo (Ctrl+Z)", undo, "gtl-undo", "Undo");
  undoBtn.disabled = !past.length;
  const redoBtn = button("↷ Redo", "Redo (Ctrl+Shift+Z)", redo, "gtl-redo", "Redo");
  redoBtn.disabled = !future.length;
  const newBtn = button("New", "Clear the timeline: remove every clip (Undo brings them back)", newTimeline, "gtl-new",
    "New timeline: remove every clip");
  newBtn.disabled = !state.tracks.length;
  edit.append(undoBtn, redoBtn, newBtn);
  bar.append(edit);
  const zoom = el("div", "gtl-group");
  zoom.append(
    button("−", "Zoom out", () => { pxPerSec = Math.max(10, pxPerSec / 1.5); render(); }, "gtl-zoom-out"),
    el("span", "gtl-zoom-label", `${Math.round(pxPerSec)} px/s`),
    button("+", "Zoom in", () => { pxPerSec = Math.min(400, pxPerSec * 1.5); render(); }, "gtl-zoom-in"),
    button("Fit", "Fit the whole timeline", () => { fit(); render(); }, "gtl-fit"),
  );
  const snapLabel = el("label", "gtl-snap");
  const snapBox = el("input");
  snapBox.type = "checkbox";
  snapBox.checked = snapOn;
  snapBox.addEventListener("change", () => { snapOn = snapBox.checked; });
  snapLabel.append(snapBox, document.createTextNode(" Snap 0.1 s"));
  zoom.append(snapLabel);
  bar.append(zoom);
  const busy = el("span", "gtl-busy", busyText);
  bar.append(busy);
  return bar;
}

function fit() {
  const scroller = root.querySelector(".gtl-scroll");
  const label = root.querySelector(".gtl-label");
  const width = (scroller ? scroller.clientWidth : root.clientWidth || 800) - (label ? label.offsetWidth : 150) - 2 * LANE_PAD - 4;
  pxPerSec = clamp(width / Math.max(state.duration, 0.5), 10, 400);
}

function textLanes() {
  // greedy lane assignment so overlapping text windows stack
  const lanes = [];
  const laneOf = {};
  state.tracks.map((t, i) => [t, i]).filter(([t]) => t.kind === "text")
    .sort((a, b) => a[0].start - b[0].start)
    .forEach(([t, i]) => {
      let lane = lanes.findIndex((end) => end <= t.start + 1e-6);
      if (lane < 0) { lane = lanes.length; lanes.push(0); }
      lanes[lane] = t.end;
      laneOf[i] = lane;
    });
  return { count: Math.max(1, lanes.length), laneOf };
}

function renderGrid() {
  const scroller = el("div", "gtl-scroll");
  const width = Math.max(1, state.duration * pxPerSec);
  const grid = el("div", "gtl-grid");
  const labelWidth = (root.querySelector(".gtl-label") || {}).offsetWidth || 150;
  grid.style.width = `${width + labelWidth + 2 * LANE_PAD}px`;
  // ruler
  const rulerRow = el("div", "gtl-row gtl-ruler-row");
  const corner = el("div", "gtl-label gtl-corner", `0 – ${fmt(state.duration)} s`);
  const ruler = el("div", "gtl-ruler");
  ruler.style.width = `${width}px`;
  const step = pxPerSec >= 120 ? 0.5 : pxPerSec >= 40 ? 1 : pxPerSec >= 20 ? 2 : 5;
  for (let t = 0; t <= state.duration + 1e-6; t += step) {
    const tick = el("div", "gtl-tick", `${fmt(t)}s`);
    tick.style.left = `${t * pxPerSec}px`;
    ruler.append(tick);
  }
  const endMark = el("div", "gtl-end-mark");
  endMark.title = `timeline end ${fmt(state.duration)} s`;
  endMark.style.left = `${width}px`;
  ruler.append(endMark);
  rulerRow.append(corner, ruler);
  grid.append(rulerRow);
  const { count, laneOf } = textLanes();
  for (const k of KINDS) {
    const row = el("div", `gtl-row gtl-row-${k.kind}`);
    row.dataset.kind = k.kind;
    const label = el("div", "gtl-label");
    label.append(el("span", `gtl-swatch gtl-c-${k.kind}`), el("span", "gtl-label-text", k.label));
    label.append(button("+", k.add, () => addClip(k.kind, nextFreeTime(k.kind)), `gtl-add gtl-add-${k.kind}`, k.add));
    const lane = el("div", "gtl-lane");
    lane.dataset.kind = k.kind;
    lane.style.width = `${width}px`;
    lane.style.height = `${(k.kind === "text" ? count : 1) * ROW_H + 6}px`;
    lane.title = k.hint;
    lane.addEventListener("click", (e) => {
      if (e.target !== lane) return;
      if (drag && drag.moved) return;
      const rect = lane.getBoundingClientRect();
      addClip(k.kind, (e.clientX - rect.left) / pxPerSec);
    });
    const gridLines = el("div", "gtl-gridlines");
    gridLines.style.backgroundSize = `${pxPerSec * step}px 100%`;
    lane.append(gridLines);
    state.tracks.forEach((t, i) => {
      if (t.kind !== k.kind) return;
      lane.append(t.kind === "keyframe" ? renderDiamond(t, i) : renderClip(t, i, k.kind === "text" ? laneOf[i] : 0));
    });
    row.append(label, lane);
    grid.append(row);
  }
  scroller.append(grid);
  scroller.addEventListener("wheel", (e) => {
    if (!e.ctrlKey) return;
    e.preventDefault();
    pxPerSec = clamp(pxPerSec * (e.deltaY < 0 ? 1.2 : 1 / 1.2), 10, 400);
    render();
  }, { passive: false });
  return scroller;
}

function nextFreeTime(kind) {
  if (kind === "keyframe") {
    let t = 0;
    while (t <= state.duration && keyframeClash(t, -1)) t += 0.5;
    return Math.min(t, state.duration);
  }
  const ends = state.tracks.filter((t) => t.kind === kind).map((t) => t.end);
  const t = ends.length ? Math.max(...ends) : 0;
  return t >= state.duration - MIN_LEN ? 0 : t;
}

function renderClip(t, i, lane) {
  const clip = el("div", `gtl-clip gtl-c-${t.kind}` + (i === selected ? " gtl-selected" : ""));
  clip.dataset.index = String(i);
  clip.style.left = `${t.start * pxPerSec}px`;
  clip.style.width = `${Math.max(4, (t.end - t.start) * pxPerSec)}px`;
  clip.style.top = `${3 + lane * ROW_H}px`;
  clip.style.height = `${ROW_H - 4}px`;
  const m = t.path ? media[t.path] : null;
  if (t.path) ensureMedia(t.path, t.kind);
  if (m && m.status === "ok" && t.kind === "music") clip.append(drawWaveform(t, m.info));
  if (m && m.status === "ok" && t.kind === "video") clip.append(drawThumbs(t, m.info));
  let text;
  if (t.kind === "text") text = t.text || "(empty prompt)";
  else if (!t.path) text = "no file: select and upload";
  else if (m && m.status === "error") text = `${baseName(t.path)}: ${m.error}`;
  else text = baseName(t.path) + (t.offset ? ` @${fmt(t.offset)}s` : "") + (t.kind === "video" && t.fast ? " (fast)" : "");
  const label = el("span", "gtl-clip-label", text);
  if ((!t.path && t.kind !== "text") || (m && m.status === "error")) clip.classList.add("gtl-missing");
  clip.title = `${KIND_INFO[t.kind].label} ${fmt(t.start)}–${fmt(t.end)} s: ${text}`;
  focusable(clip, i, `${KIND_INFO[t.kind].label} clip #${i + 1}, ${fmt(t.start)} to ${fmt(t.end)} seconds: ${text}`);
  clip.append(label, el("div", "gtl-handle gtl-handle-l"), el("div", "gtl-handle gtl-handle-r"));
  clip.addEventListener("pointerdown", (e) => startDrag(e, i, clip));
  clip.addEventListener("dblclick", () => {
    const ta = root.querySelector(".gtl-panel textarea, .gtl-panel input[type=file]");
    if (ta && t.kind === "text") ta.focus();
  });
  clip.addEventListener("contextmenu", (e) => { e.preventDefault(); selected = i; deleteSelected(); });
  return clip;
}

function focusable(node, i, label) {
  // Tab reaches every clip; Enter or Space selects it (its fields open below), arrows move it
  node.tabIndex = 0;
  node.setAttribute("role", "button");
  node.setAttribute("aria-label", label);
  node.setAttribute("aria-pressed", String(i === selected));
  if (problemClip === i) node.classList.add("gtl-problem");
}
function select(i) {
  selected = i;
  panelError = "";
  render();
  const node = root.querySelector(`[data-index="${i}"]`);
  if (node) node.focus({ preventScroll: true });
}
function nudge(i, dt, resize) {
  // move the clip (or, with resize, its end) by dt seconds within its free span
  const t = state.tracks[i];
  if (t.kind === "keyframe") {
    const v = round3(clamp(t.time + dt, 0, state.duration));
    if (!keyframeClash(v, i)) t.time = v;
  } else {
    const [lo, hi] = neighbours(i);
    if (resize) t.end = round3(clamp(t.end + dt, t.start + MIN_LEN, hi));
    else {
      const len = t.end - t.start;
      t.start = round3(clamp(t.start + dt, lo, hi - len));
      t.end = round3(t.start + len);
    }
  }
  commit();
  select(i);
}

function renderDiamond(t, i) {
  const d = el("div", "gtl-diamond" + (i === selected ? " gtl-selected" : "") + (t.path ? "" : " gtl-missing"));
  d.dataset.index = String(i);
  d.style.left = `${t.time * pxPerSec}px`;
  d.title = `Keyframe at ${fmt(t.time)} s: ${t.path ? baseName(t.path) + " frame " + t.frame : "no pose yet"}`;
  focusable(d, i, `Keyframe clip #${i + 1} at ${fmt(t.time)} seconds: ${t.path ? baseName(t.path) : "no pose yet"}`);
  if (t.path) ensureMedia(t.path, t.kind);
  d.addEventListener("pointerdown", (e) => startDrag(e, i, d));
  d.addEventListener("contextmenu", (e) => { e.preventDefault(); selected = i; deleteSelected(); });
  return d;
}

function drawWaveform(t, info) {
  const width = Math.max(4, Math.round((t.end - t.start) * pxPerSec));
  const height = ROW_H - 4;
  const c = document.createElement("canvas");
  c.className = "gtl-wave";
  c.width = width;
  c.height = height;
  const g = c.getContext("2d");
  const peaks = info.peaks || [];
  const rate = info.peak_rate || 20;
  g.fillStyle = "rgba(255,255,255,0.55)";
  for (let x = 0; x < width; x += 2) {
    const sec = (t.offset || 0) + x / pxPerSec;
    const v = peaks[Math.floor(sec * rate)];
    if (v === undefined) continue;
    const h = Math.max(1, v * (height - 4));
    g.fillRect(x, (height - h) / 2, 1.5, h);
  }
  g.fillStyle = "rgba(255,255,255,0.95)";
  for (const b of info.beats || []) {
    const x = (b - (t.offset || 0)) * pxPerSec;
    if (x >= 0 && x <= width) g.fillRect(x, 0, 1, height);
  }
  return c;
}

function drawThumbs(t, info) {
  const strip = el("div", "gtl-thumbs");
  const thumbs = (info.thumbs || []).filter((th) => typeof th.src === "string" && th.src.startsWith("data:image/jpeg;base64,"));
  if (!thumbs.length) return strip;
  const h = ROW_H - 4;
  const w = Math.max(12, Math.round(h * (info.aspect || 1.5)));
  const width = (t.end - t.start) * pxPerSec;
  for (let x = 0; x < width; x += w) {
    const sec = (t.offset || 0) + (x + w / 2) / pxPerSec;
    let best = thumbs[0];
    for (const th of thumbs) if (Math.abs(th.t - sec) < Math.abs(best.t - sec)) best = th;
    const img = document.createElement("img");
    img.src = best.src;
    img.alt = "";
    img.draggable = false;
    img.style.width = `${w}px`;
    img.style.height = `${h}px`;
    strip.append(img);
  }
  return strip;
}

// ---- dragging ---------------------------------------------------------------------------------
function startDrag(e, index, node) {
  if (e.button !== 0) return;
  e.stopPropagation();
  e.preventDefault();
  const t = state.tracks[index];
  let mode = "move";
  if (e.target.classList.contains("gtl-handle-l")) mode = "left";
  if (e.target.classList.contains("gtl-handle-r")) mode = "right";
  const orig = clone(t);
  drag = { index, mode, x0: e.clientX, orig, moved: false, node, bounds: neighbours(index), edges: edgeTimes(index) };
  if (selected !== index) { selected = index; panelError = ""; }
  root.focus({ preventScroll: true }); // so Delete reaches the editor
  node.setPointerCapture(e.pointerId);
  node.addEventListener("pointermove", onDrag);
  node.addEventListener("pointerup", endDrag, { once: true });
  node.addEventListener("pointercancel", endDrag, { once: true });
  root.querySelectorAll(".gtl-selected").forEach((n) => n.classList.remove("gtl-selected"));
  node.classList.add("gtl-selected");
}

function onDrag(e) {
  if (!drag) return;
  const dt = (e.clientX - drag.x0) / pxPerSec;
  if (Math.abs(e.clientX - drag.x0) > 2) drag.moved = true;
  if (!drag.moved) return;
  const t = state.tracks[drag.index];
  const o = drag.orig;
  const [lo, hi] = drag.bounds;
  const edges = drag.edges;
  if (t.kind === "keyframe") {
    t.time = round3(clamp(snapEdge(snap(o.time + dt), edges), 0, state.duration));
    drag.node.style.left = `${t.time * pxPerSec}px`;
  } else if (drag.mode === "move") {
    const len = o.end - o.start;
    let start = snap(o.start + dt);
    const byStart = snapEdge(start, edges), byEnd = snapEdge(start + len, edges) - len;
    if (byStart !== start) start = byStart; else if (Math.abs(byEnd - start) > 1e-9) start = byEnd;
    start = clamp(start, lo, hi - len);
    t.start = round3(Math.max(lo, start));
    t.end = round3(Math.min(hi, t.start + len));
  } else if (drag.mode === "left") {
    t.start = round3(clamp(snapEdge(snap(o.start + dt), edges), lo, o.end - MIN_LEN));
  } else {
    t.end = round3(clamp(snapEdge(snap(o.end + dt), edges), o.start + MIN_LEN, hi));
  }
  if (t.kind !== "keyframe") {
    drag.node.style.left = `${t.start * pxPerSec}px`;
    drag.node.style.width = `${(t.end - t.start) * pxPerSec}px`;
  }
  drag.node.title = t.kind === "keyframe" ? `${fmt(t.time)} s` : `${fmt(t.start)}–${fmt(t.end)} s`;
}

function endDrag() {
  if (!drag) return;
  const d = drag;
  d.node.removeEventListener("pointermove", onDrag);
  const t = state.tracks[d.index];
  if (t.kind === "keyframe" && keyframeClash(t.time, d.index)) t.time = d.orig.time;
  if (d.moved) commit();
  render();
  setTimeout(() => { drag = null; }, 0);
}

// ---- properties panel -------------------------------------------------------------------------
function numberField(labelText, value, min, max, onChange, cls) {
  const wrap = el("label", "gtl-field " + (cls || ""));
  wrap.append(el("span", "gtl-field-label", labelText));
  const input = el("input");
  input.type = "number";
  input.step = "0.1";
  input.min = String(min);
  input.max = String(max);
  input.value = String(value);
  let done = false;
  const apply = () => {
    if (done) return;
    const v = parseFloat(input.value);
    if (Number.isFinite(v)) { done = true; onChange(v); }
  };
  input.addEventListener("change", apply);
  input.addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    e.preventDefault();
    apply();
    const again = cls ? root.querySelector(`.${cls.split(" ")[0]} input`) : null; // the panel was redrawn
    if (again && again !== input) again.focus();
  });
  wrap.append(input);
  return wrap;
}

function checkField(labelText, hint, value, onChange, cls) {
  const wrap = el("label", "gtl-field gtl-check " + (cls || ""));
  wrap.append(el("span", "gtl-field-label", labelText));
  const line = el("span", "gtl-check-line");
  const input = el("input");
  input.type = "checkbox";
  input.checked = value;
  input.addEventListener("change", () => onChange(input.checked));
  line.append(input, el("span", "gtl-check-hint", hint));
  wrap.append(line);
  return wrap;
}

function renderPanel() {
  const panel = el("div", "gtl-panel");
  if (selected === null || !state.tracks[selected]) {
    selected = null;
    const hint = el("div", "gtl-hint",
      "Click empty space in a track (or its + button) to add a clip. Drag clips to move, drag their edges to resize; " +
      "select a clip to edit it (Tab reaches clips, Enter selects, arrows move, Shift+arrows resize); " +
      "Delete key or right-click removes it; Ctrl+Z undoes, Ctrl+Shift+Z redoes. Ctrl+wheel zooms.");
    panel.append(hint);
    if (!state.tracks.length) panel.append(el("div", "gtl-note", "Empty timeline: Generate makes unconditional motion."));
    return panel;
  }
  const i = selected;
  const t = state.tracks[i];
  const head = el("div", "gtl-panel-head");
  head.append(el("span", `gtl-swatch gtl-c-${t.kind}`), el("span", "gtl-panel-title", `${KIND_INFO[t.kind].label} clip #${i + 1}`));
  head.append(button("Delete", "Delete this clip (Delete key)", deleteSelected, "gtl-delete"));
  panel.append(head);
  const fields = el("div", "gtl-fields");
  if (t.kind === "keyframe") {
    fields.append(numberField("Time (s)", t.time, 0, state.duration, (v) => {
      v = round3(clamp(v, 0, state.duration));
      if (!keyframeClash(v, i)) { t.time = v; commit(); }
      render();
    }, "gtl-f-time"));
    const frame = numberField("Frame", t.frame || 0, 0, 1e6, (v) => { t.frame = Math.max(0, Math.round(v)); commit(); render(); }, "gtl-f-frame");
    frame.querySelector("input").step = "1";
    fields.append(frame);
  } else {
    fields.append(numberField("Start (s)", t.start, 0, state.duration, (v) => {
      const [lo] = neighbours(i);
      t.start = round3(clamp(v, lo, t.end - MIN_LEN)); commit(); render();
    }, "gtl-f-start"));
    fields.append(numberField("End (s)", t.end, 0, state.duration, (v) => {
      const [, hi] = neighbours(i);
      t.end = round3(clamp(v, t.start + MIN_LEN, hi)); commit(); render();
    }, "gtl-f-end"));
    if (t.kind !== "text") {
      fields.append(numberField("Offset in file (s)", t.offset || 0, 0, 1e5, (v) => { t.offset = round3(Math.max(0, v)); commit(); render(); }, "gtl-f-offset"));
    }
    if (t.kind === "video") {
      fields.append(checkField("Fast video", "faster than real time, less accurate (pose at 15 Hz, camera at 10 Hz)",
        t.fast === true, (on) => { t.fast = on; commit(); render(); }, "gtl-f-fast"));
    }
  }
  panel.append(fields);
  if (t.kind === "text") {
    const wrap = el("label", "gtl-field gtl-prompt");
    wrap.append(el("span", "gtl-field-label", "Prompt"));
    const ta = el("textarea");
    ta.rows = 2;
    ta.maxLength = MAX_TEXT_CHARS;
    ta.value = t.text || "";
    ta.placeholder = "describe the motion, e.g. a person jumps twice";
    ta.setAttribute("aria-label", `Prompt of text clip #${i + 1}`);
    const count = el("span", "gtl-count");
    const counted = () => {
      const n = ta.value.length;
      count.textContent = n >= MAX_TEXT_CHARS ? `${n}/${MAX_TEXT_CHARS}: the limit; longer prompts are not accepted`
        : `${n}/${MAX_TEXT_CHARS}`;
      count.classList.toggle("gtl-count-full", n >= MAX_TEXT_CHARS);
    };
    counted();
    ta.addEventListener("input", () => {
      counted();
      t.text = ta.value;
      const node = root.querySelector(`.gtl-clip[data-index="${i}"] .gtl-clip-label`);
      if (node) node.textContent = ta.value || "(empty prompt)";
    });
    ta.addEventListener("change", () => { t.text = ta.value; commit(); });
    wrap.append(ta, count);
    panel.append(wrap);
  } else {
    const row = el("div", "gtl-file-row");
    const m = t.path ? media[t.path] : null;
    const name = t.path ? baseName(t.path) : "no file yet";
    row.append(el("span", "gtl-file-name", name));
    if (m && m.status === "ok" && m.info.summary) row.append(el("span", "gtl-file-info", m.info.summary));
    if (m && m.status === "pending") row.append(el("span", "gtl-file-info", "analysing…"));
    const input = el("input", "gtl-file-input");
    input.type = "file";
    input.accept = KIND_INFO[t.kind].accept;
    input.addEventListener("change", () => { if (input.files && input.files[0]) uploadInto(i, input.files[0]); });
    const pick = button(t.path ? "Replace file…" : "Upload file…", `Upload ${KIND_INFO[t.kind].accept}`, () => input.click(), "gtl-upload");
    row.append(pick, input);
    if (t.kind === "keyframe") {
      const sel = el("select", "gtl-pose-select");
      const first = el("option", "", "or a library pose…");
      first.value = "";
      sel.append(first);
      for (const n of POSE_NAMES) { const o = el("option", "", n.replace(/_/g, " ")); o.value = n; sel.append(o); }
      sel.setAttribute("aria-label", "Library pose");
      sel.value = String(t.path || "").startsWith("library:") ? t.path.slice("library:".length) : "";
      sel.addEventListener("change", () => { if (sel.value) useLibraryPose(i, sel.value); });
      row.append(sel);
    }
    panel.append(row);
    if (m && m.status === "error" && !panelError) panelError = `${name}: ${m.error}`;
  }
  if (panelError) {
    const err = el("div", "gtl-error", panelError);
    err.setAttribute("role", "alert");
    panel.append(err);
  }
  return panel;
}

// ---- wiring -----------------------------------------------------------------------------------
root.addEventListener("keydown", (e) => {
  const tag = (e.target.tagName || "").toLowerCase();
  if (tag === "input" || tag === "textarea" || tag === "select") return;
  const key = e.key.toLowerCase();
  if ((e.ctrlKey || e.metaKey) && (key === "z" || key === "y")) {
    e.preventDefault();
    if (key === "y" || e.shiftKey) redo(); else undo();
    return;
  }
  const index = e.target.dataset ? e.target.dataset.index : undefined;
  if ((e.key === "Enter" || e.key === " ") && index !== undefined) { e.preventDefault(); select(Number(index)); return; }
  if ((e.key === "ArrowLeft" || e.key === "ArrowRight") && selected !== null) {
    e.preventDefault();
    nudge(selected, (e.key === "ArrowLeft" ? -1 : 1) * (e.altKey ? 1.0 : SNAP), e.shiftKey);
    return;
  }
  if ((e.key === "Delete" || e.key === "Backspace") && selected !== null) { e.preventDefault(); deleteSelected(); }
  if (e.key === "Escape") { selected = null; panelError = ""; render(); }
});
watch("value", () => {
  if (drag) return;
  const oldDuration = state.duration;
  state = normalize(props.value);
  if (state.duration !== oldDuration) fit();
  if (selected !== null && selected >= state.tracks.length) selected = null;
  remember(); // a loaded example or project can be undone like an edit
  store(); // an example or project the user loaded replaces the kept timeline
  render();
});
// The check below the editor names the first clip with a problem (data-clip, counted from 1 as the
// panel does): that clip is outlined until the timeline checks out.
let problemClip = null;
function watchStatus() {
  const status = document.querySelector("#timeline-status");
  if (!status) return false;
  const update = () => {
    const node = status.querySelector("[data-clip]");
    const next = node ? Number(node.dataset.clip) - 1 : null;
    if (next === problemClip) return;
    problemClip = next;
    root.querySelectorAll(".gtl-problem").forEach((n) => n.classList.remove("gtl-problem"));
    const clip = next === null ? null : root.querySelector(`[data-index="${next}"]`);
    if (clip) clip.classList.add("gtl-problem");
  };
  new MutationObserver(update).observe(status, { childList: true, subtree: true, attributes: true });
  update();
  return true;
}
render();
requestAnimationFrame(() => {
  fit();
  render();
  if (!watchStatus()) setTimeout(watchStatus, 500);
});
