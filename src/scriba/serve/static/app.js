// scriba's live page: write on the canvas, and after each pen-up the strokes go to /v1/read/ink and the reading
// appears under them; a second tab reads dropped or picked images through /v1/read. Plain JavaScript, no build.
"use strict";

const DEBOUNCE_MS = 60;   // after a pen-up, wait this long for the next stroke before reading
const DOUBT = 0.6;        // characters read with less confidence are shaded (the less sure, the darker)

const $ = (id) => document.getElementById(id);
const pad = $("pad");
const ctx = pad.getContext("2d");
const strokes = [];       // each a list of [x, y, t, pressure] in CSS pixels and milliseconds
let current = null;       // the stroke being drawn
let timer = null;         // the pending read after a pen-up
let penUpAt = 0;          // performance.now() of the last pen-up
let sequence = 0;         // readings answered out of order are dropped
let inFlight = null;      // AbortController of the read in progress
window.scribaTimings = []; // pen-up to text shown, ms (read by the browser test)

// ---- tabs ------------------------------------------------------------------------------------------------
for (const tab of document.querySelectorAll('[role="tab"]')) {
  tab.addEventListener("click", () => {
    for (const other of document.querySelectorAll('[role="tab"]')) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      $(other.getAttribute("aria-controls")).hidden = !selected;
    }
    if (tab.id === "tab-write") resize();
  });
}

// ---- models ----------------------------------------------------------------------------------------------
fetch("/v1/models").then((r) => r.json()).then(({ models }) => {
  for (const m of models) {
    const option = new Option(m.name, m.name, m.default, m.default);
    $(m.input === "ink" ? "ink-model" : "image-model").add(option);
  }
  for (const m of models) if (m.input === "image") $("ink-model").add(new Option(`${m.name} (drawn)`, m.name));
});

// ---- drawing ---------------------------------------------------------------------------------------------
function resize() {
  const ratio = window.devicePixelRatio || 1;
  const { width, height } = pad.getBoundingClientRect();
  if (!width) return;
  pad.width = Math.round(width * ratio);
  pad.height = Math.round(height * ratio);
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  redraw();
}

function drawSegment(a, b) {
  ctx.lineWidth = 1.2 + 2.3 * (b[3] || 0.5);
  ctx.beginPath();
  ctx.moveTo(a[0], a[1]);
  ctx.lineTo(b[0], b[1]);
  ctx.stroke();
}

function redraw() {
  ctx.clearRect(0, 0, pad.width, pad.height);
  ctx.strokeStyle = "#1d2433";
  ctx.lineCap = ctx.lineJoin = "round";
  for (const stroke of strokes) {
    if (stroke.length === 1) drawSegment(stroke[0], [stroke[0][0] + 0.5, stroke[0][1], 0, stroke[0][3]]);
    for (let i = 1; i < stroke.length; i++) drawSegment(stroke[i - 1], stroke[i]);
  }
}

function point(event) {
  const box = pad.getBoundingClientRect();
  // A mouse reports pressure 0.5 while a button is down; a pen its real pressure; 0 means unknown.
  const pressure = event.pressure > 0 ? event.pressure : 0.5;
  return [event.clientX - box.left, event.clientY - box.top, Math.round(event.timeStamp), pressure];
}

pad.addEventListener("pointerdown", (event) => {
  if (event.button !== 0) return;
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  clearTimeout(timer);
  current = [point(event)];
  strokes.push(current);
  redraw();
});

pad.addEventListener("pointermove", (event) => {
  if (!current) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const e of events.length ? events : [event]) {
    const p = point(e);
    const last = current[current.length - 1];
    if (p[0] === last[0] && p[1] === last[1]) continue;
    current.push(p);
    drawSegment(last, p);
  }
});

function penUp() {
  if (!current) return;
  current = null;
  penUpAt = performance.now();
  clearTimeout(timer);
  timer = setTimeout(readInk, DEBOUNCE_MS);
}
pad.addEventListener("pointerup", penUp);
pad.addEventListener("pointercancel", penUp);

$("undo").addEventListener("click", undo);
$("clear").addEventListener("click", clear);
document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key === "z") { event.preventDefault(); undo(); }
  if (event.key === "Escape") clear();
});
$("ink-model").addEventListener("change", () => strokes.length && readInk());
$("use-lm").addEventListener("change", () => strokes.length && readInk());

function undo() {
  strokes.pop();
  redraw();
  penUpAt = performance.now();
  strokes.length ? readInk() : show(null);
}

function clear() {
  strokes.length = 0;
  redraw();
  show(null);
}

// ---- reading ---------------------------------------------------------------------------------------------
function options(model) {
  const query = new URLSearchParams({ alternatives: "5" });
  if (model) query.set("model", model);
  if (!$("use-lm").checked) query.set("lm", "none");
  return query;
}

async function readInk() {
  if (!strokes.length) return;
  const mine = ++sequence;
  if (inFlight) inFlight.abort();
  inFlight = new AbortController();
  const started = penUpAt;
  try {
    const response = await fetch(`/v1/read/ink?${options($("ink-model").value)}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ strokes }),
      signal: inFlight.signal,
    });
    const body = await response.json();
    if (mine !== sequence) return;
    if (!response.ok) throw new Error(body.error || response.statusText);
    show(body.results[0]);
    const elapsed = performance.now() - started;
    window.scribaTimings.push(elapsed);
    $("timing").textContent = `read in ${Math.round(elapsed)} ms after pen-up`;
  } catch (err) {
    if (err.name === "AbortError" || mine !== sequence) return;
    $("ink-error").textContent = `could not read: ${err.message}`;
    $("ink-error").hidden = false;
  }
}

// The text with each doubtful character shaded by how unsure the model is.
function renderText(target, result) {
  target.replaceChildren();
  if (!result) return;
  const chars = result.chars.length === result.text.length ? result.chars : [...result.text].map((c) => ({ char: c, confidence: 1 }));
  for (const { char, confidence } of chars) {
    const span = document.createElement("span");
    span.className = confidence < DOUBT ? "c low" : "c";
    span.textContent = char;
    span.title = `${char}: ${(confidence * 100).toFixed(0)}% sure`;
    if (confidence < DOUBT) span.style.setProperty("--doubt-alpha", (0.25 + (DOUBT - confidence)).toFixed(2));
    target.append(span);
  }
  target.dataset.text = result.text;
  target.title = `confidence ${(result.confidence * 100).toFixed(0)}%`;
}

function show(result) {
  $("ink-error").hidden = true;
  renderText($("reading"), result);
  const list = $("alternatives");
  list.replaceChildren();
  if (!result) { $("timing").textContent = ""; return; }
  result.alternatives.forEach((alternative, i) => {
    const button = document.createElement("button");
    button.textContent = alternative.text || "(nothing)";
    button.title = `score ${alternative.score}`;
    if (i === 0) button.classList.add("chosen");
    button.addEventListener("click", () => {
      for (const b of list.children) b.classList.toggle("chosen", b === button);
      renderText($("reading"), { ...result, text: alternative.text, chars: [...alternative.text].map((c) => ({ char: c, confidence: 1 })) });
    });
    list.append(button);
  });
}

// ---- photos and scans --------------------------------------------------------------------------------------
const drop = $("drop");
drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  readFiles([...event.dataTransfer.files]);
});
$("files").addEventListener("change", (event) => readFiles([...event.target.files]));

async function readFiles(files) {
  if (!files.length) return;
  const form = new FormData();
  for (const file of files) form.append("file", file);
  $("photo-error").hidden = true;
  const list = $("photo-results");
  list.setAttribute("aria-busy", "true");
  try {
    const response = await fetch(`/v1/read?${options($("image-model").value)}`, { method: "POST", body: form });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    list.replaceChildren();
    body.results.forEach((result, i) => {
      const item = document.createElement("li");
      const image = document.createElement("img");
      image.src = URL.createObjectURL(files[i]);
      image.alt = result.file;
      const text = document.createElement("div");
      text.className = "reading";
      renderText(text, result);
      const meta = document.createElement("div");
      meta.className = "muted";
      meta.textContent = `${result.file}: confidence ${(result.confidence * 100).toFixed(0)}%` +
        (result.alternatives.length > 1 ? `; or: ${result.alternatives.slice(1).map((a) => a.text).join(" / ")}` : "");
      item.append(image, text, meta);
      list.append(item);
    });
  } catch (err) {
    $("photo-error").textContent = `could not read: ${err.message}`;
    $("photo-error").hidden = false;
  } finally {
    list.removeAttribute("aria-busy");
  }
}

window.addEventListener("resize", resize);
resize();
