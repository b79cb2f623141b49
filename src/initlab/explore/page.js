"use strict";
// Glue only: decode the embedded grid, wire the controls, hand arrays to uPlot.
const DATA = JSON.parse(document.getElementById("data").textContent);
function typed(e, u) {
  if (e.kind === "f4") return new Float32Array(u.buffer, u.byteOffset, u.byteLength / 4);
  if (e.kind === "f8") return new Float64Array(u.buffer, u.byteOffset, u.byteLength / 8);
  if (e.kind === "u1") return u;
  if (e.kind === "text") return e.shape[0] ? new TextDecoder().decode(u).split("\n") : [];
  const n = e.shape.reduce((a, b) => a * b, 1), bits = new Uint8Array(n);
  for (let i = 0; i < n; i++) bits[i] = (u[i >> 3] >> (7 - (i & 7))) & 1;
  return bits;
}
function bytes(e) {
  const s = atob(e.b64), u = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i);
  return u;
}
function decode(e) {  // entries stored without deflate
  return typed(e, bytes(e).slice());
}
async function inflate(e) {  // any entry; deflated ones through the browser's zlib
  if (!e.z) return decode(e);
  const stream = new Blob([bytes(e)]).stream().pipeThrough(new DecompressionStream("deflate"));
  return typed(e, new Uint8Array(await new Response(stream).arrayBuffer()));
}
const $ = (id) => document.getElementById(id);
function fmt(v) {
  if (v === null || Number.isNaN(v)) return "-";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e5) return v.toExponential(3).replace(/\.?0+e/, "e").replace("e+", "e");
  return Number(v.toPrecision(4)).toString();
}
function option(sel, value, text) {
  const o = document.createElement("option"); o.value = value; o.textContent = text; sel.appendChild(o);
}
// Every chart keeps its preferred width where the window allows, else the sections' width, and
// follows the window when it is resized: the page never scrolls sideways.
const charts = [];
const fitWidth = (preferred) => Math.min(preferred, $("atinit").clientWidth);
// one style for all charts: measured series are solid lines with dots, theory is dashed; the
// legend says which, in the label and in the marker
const LEGEND = { live: false, markers: { width: 2, dash: (u, i) => (u.series[i].dash ? "dashed" : "solid") } };
function chart(preferred, opts, data, el) {
  const u = new uPlot({ ...opts, width: fitWidth(preferred), legend: { ...LEGEND, ...opts.legend } }, data, el);
  charts.push([u, preferred]);
  return u;
}
window.addEventListener("resize", () => {
  for (const [u, preferred] of charts) u.setSize({ width: fitWidth(preferred), height: u.height });
});
const measured = (label, color) => ({ label: label + " (measured)", stroke: color, width: 1.5,
  points: { show: true, size: 6, fill: color } });
const theory = (label, color, dash = [6, 4]) => ({ label: label + " (theory)", stroke: color,
  width: 1.5, dash, points: { show: false } });
$("version").textContent = DATA.version;
$("charting").textContent = DATA.charting;

async function main() {
// ------------------------------------------------------------------ at initialization
const G = DATA.atinit, AX = G.axes, DMAX = G.depth;
const [FWD, GRAD, AH, GH, VERDICT] = await Promise.all(
  [G.fwd, G.grad, G.act_hist, G.grad_hist, G.verdict].map(inflate));
const ABINS = G.act_hist.shape[2], GBINS = G.grad_hist.shape[2], TRI = DMAX * (DMAX + 1) / 2;
const axis = Object.fromEntries(AX.map(([n, v]) => [n, v]));
const normals = axis.init.filter((s) => s.startsWith("normal("));
const named = axis.init.filter((s) => !s.startsWith("normal("));
for (const a of axis.activation) option($("act"), a, a);
for (const w of axis.width) option($("width"), w, w);
for (const k of ["normal", ...named]) {
  const id = "init-" + k, lab = document.createElement("label"), r = document.createElement("input");
  r.type = "radio"; r.name = "initkind"; r.value = k; r.id = id; r.checked = k === "he";
  lab.appendChild(r); lab.append(" " + k + " "); $("initkind").appendChild(lab);
}
const extraAxes = AX.slice(3);  // e.g. norm: one select each, built from the grid's axes
for (const [name, values] of extraAxes) {
  const lab = document.createElement("label"), sel = document.createElement("select");
  sel.id = "axis-" + name; lab.append(name + " "); lab.appendChild(sel); $("extra").appendChild(lab);
  for (const v of values) option(sel, v, v);
}
$("std").max = normals.length - 1; $("std").value = normals.indexOf("normal(1)") >= 0 ? normals.indexOf("normal(1)") : 0;
$("depth").max = DMAX; $("depth").value = Math.min(10, DMAX);
$("act").value = axis.activation.includes("tanh") ? "tanh" : axis.activation[0];

function setting() {
  const kind = document.querySelector("input[name=initkind]:checked").value;
  const init = kind === "normal" ? normals[+$("std").value] : kind;
  const s = { activation: $("act").value, init: init, width: +$("width").value, depth: +$("depth").value };
  for (const [name] of extraAxes) s[name] = $("axis-" + name).value;
  return s;
}
function cellIndex(s) {  // mixed radix over the axes, in storage order
  let idx = 0;
  for (const [name, values] of AX) idx = idx * values.length + values.map(String).indexOf(String(s[name]));
  return idx;
}
function histData(hist, cell, rows, firstRow, bins) {
  // one bar series; layer k's bins fill x in [k - 0.45, k + 0.45]
  const xs = [], ys = [];
  for (let l = 0; l < rows; l++) {
    for (let b = 0; b < bins; b++) {
      xs.push(l + 1 - 0.45 + 0.9 * (b + 0.5) / bins);
      ys.push(hist[(cell * (hist === AH ? DMAX : TRI) + firstRow + l) * (hist === AH ? ABINS : GBINS) + b] / 255);
    }
  }
  return [xs, ys];
}
let shownDepth = 1;
function histPlot(el, color) {
  return chart(1200, {
    height: 170, legend: { show: false }, cursor: { show: false },
    scales: { x: { time: false, range: () => [0.5, shownDepth + 0.5] }, y: { auto: false, range: [0, 1.02] } },
    axes: [{ label: "layer", splits: (u) => Array.from({ length: Math.round(u.scales.x.max - 0.5) }, (_, i) => i + 1),
             values: (u, t) => t.map((v) => String(v)) },
           { label: "share of peak", size: 50 }],
    series: [{}, { stroke: color, fill: color + "99", paths: uPlot.paths.bars({ size: [1, 100], align: 0 }), points: { show: false } }],
  }, [[0], [0]], el);
}
const actPlot = histPlot($("acthist"), "#4c72b0"), gradPlot = histPlot($("gradhist"), "#dd8452");
// log10 of the stds on a linear scale: uPlot's own log scale is very slow over 20+ decades
const stdPlot = chart(620, {
  height: 300,
  scales: { x: { time: false }, y: { range: (u, lo, hi) => [Math.floor(lo - 0.05), Math.ceil(hi + 0.05)] } },
  axes: [{ label: "layer", incrs: [1, 2, 5, 10] },
         { label: "std (log scale)", size: 60, incrs: [1, 2, 5, 10, 20, 50, 100],
           values: (u, t) => t.map((v) => fmt(Math.pow(10, v))) }],
  series: [{ label: "layer" }, measured("activations", "#4c72b0"), theory("activations", "#4c72b0"),
    measured("gradients", "#dd8452"), theory("gradients", "#dd8452")],
}, [[1], [null], [null], [null], [null]], $("stdplot"));
const positive = (v) => (v > 0 && Number.isFinite(v) ? v : null);
const log10 = (v) => (v > 0 && Number.isFinite(v) ? Math.log10(v) : null);

function drawAtInit() {
  const s = setting(), d = s.depth, cell = cellIndex(s), top = d * (d - 1) / 2;
  const std = normals[+$("std").value].slice(7, -1);
  $("stdout").textContent = s.init.startsWith("normal(") ? std : `${std} (for normal)`;
  $("depthout").textContent = d;
  const layers = [], act = [], actT = [], grad = [], gradT = [];
  for (let l = 0; l < d; l++) {
    layers.push(l + 1);
    act.push(FWD[(cell * DMAX + l) * 2]); actT.push(FWD[(cell * DMAX + l) * 2 + 1]);
    grad.push(GRAD[(cell * TRI + top + l) * 2]); gradT.push(GRAD[(cell * TRI + top + l) * 2 + 1]);
  }
  const [alo, ahi, abins] = G.act_edges[s.activation], [glo, ghi] = G.grad_edges;
  shownDepth = d;
  actPlot.setData(histData(AH, cell, d, 0, abins));
  gradPlot.setData(histData(GH, cell, d, top, GBINS));
  $("acthistnote").textContent = `(each layer: ${abins} bins from ${alo} to ${ahi}; bar height relative to the layer's tallest bar)`;
  $("gradhistnote").textContent = `(each layer: ${GBINS} bins from ${glo} to ${ghi})`;
  stdPlot.setData([layers, act.map(log10), actT.map(log10), grad.map(log10), gradT.map(log10)]);
  const rows = ["<tr><th>layer</th><th>std</th><th>theory</th><th>ratio to layer below</th><th>grad std</th><th>theory</th></tr>"];
  for (let l = 0; l < d; l++) {
    const ratio = l ? act[l] / act[l - 1] : NaN;
    rows.push(`<tr data-layer="${l + 1}"><td>${l + 1}</td><td class="std">${fmt(act[l])}</td><td>${fmt(actT[l])}</td>` +
              `<td>${l ? fmt(ratio) : "-"}</td><td class="grad">${fmt(grad[l])}</td><td>${fmt(gradT[l])}</td></tr>`);
  }
  $("stdtable").innerHTML = rows.join("");
  // the verdict gives the fitted per-layer factor; this adds only the end-to-end one
  const whole = act[d - 1] / act[0];
  let ratioText = "";
  if (d > 1 && Number.isFinite(whole) && whole > 0 && whole !== 1) {
    const word = whole > 1 ? "grows" : "shrinks";
    ratioText = ` From layer 1 to layer ${d} the activation std ${word} ${fmt(whole > 1 ? whole : 1 / whole)}x.`;
  }
  $("verdict").textContent = VERDICT[cell * DMAX + d - 1] + "." + ratioText;
  // the options are the activations experiment's own (G.flags, from its Config)
  const F = G.flags, extra = extraAxes.map(([n]) => ` ${F[n]} ${s[n]}`).join("");
  $("same").innerHTML = `Same numbers: <code>initlab activations ${F.activation} ${s.activation} ${F.init} "${s.init}" ` +
    `${F.depth} ${d} ${F.width} ${s.width} ${F.batch} ${G.batch[s.width]}${extra} --json</code>`;
}
for (const id of ["act", "std", "depth", "width"]) $(id).addEventListener("input", drawAtInit);
$("initkind").addEventListener("change", drawAtInit);
for (const [name] of extraAxes) $("axis-" + name).addEventListener("input", drawAtInit);
$("std").addEventListener("input", () => { $("init-normal").checked = true; drawAtInit(); });
drawAtInit();
// the charts paint in a microtask after setData: by the next frame's callback they have
requestAnimationFrame(() => { window.__explore = { firstDrawn: performance.now() }; });

// ------------------------------------------------------------------ training
const T = DATA.training, INITS = T.inits;
$("sizes").textContent = JSON.stringify(T.sizes); $("lr").textContent = T.lr;
for (const name of Object.keys(T.datasets)) option($("ds"), name, name);
INITS.forEach((s, i) => option($("initA"), i, s));
option($("initB"), -1, "(none)"); INITS.forEach((s, i) => option($("initB"), i, s));
$("initA").value = INITS.indexOf("he"); $("initB").value = INITS.indexOf("normal(10)");
const cache = {};
function frames(name) {
  if (!cache[name]) {
    const f = T.datasets[name];
    cache[name] = { f, cost: decode(f.cost), acc: decode(f.accuracy), act: decode(f.act_std),
                    grad: decode(f.grad_std), img: decode(f.boundary), F: f.steps.length };
  }
  return cache[name];
}
// measured: every recorded step a dot, so that step 0 shows too (a line of one point is not drawn)
const costPlot = chart(470, {
  height: 300, scales: { x: { time: false }, y: { distr: 3 } },
  axes: [{ label: "step" }, { label: "cost (log scale)", size: 60, values: (u, t) => t.map(fmt) }],
  series: [{ label: "step" }, measured("A", "#4c72b0"), measured("B", "#c44e52")],
}, [[0], [null], [null]], $("costplot"));
const CLASSES = T.class_colours, hex = (c) => [1, 3, 5].map((k) => parseInt(c.slice(k, k + 2), 16));
const REGION_RGB = CLASSES.regions.map(hex);
function canvasFor(i) {
  let c = $("boundary" + i);
  if (!c) {
    const box = document.createElement("div"); box.className = "side";
    box.innerHTML = `<h3 id="btitle${i}"></h3>`;
    c = document.createElement("canvas"); c.id = "boundary" + i; c.className = "boundary";
    c.setAttribute("role", "img"); box.appendChild(c); $("boundaries").appendChild(box);
  }
  return c;
}
function drawBoundary(canvas, fr, r, k) {
  // the plane [x0, x1] x [y0, y1] (the data's, with a margin) at 300 px on its longer side
  const f = fr.f, [GY, GX] = f.boundary.shape.slice(2), [x0, x1, y0, y1] = f.extent;
  const sc = 300 / Math.max(x1 - x0, y1 - y0);
  canvas.width = Math.round((x1 - x0) * sc); canvas.height = Math.round((y1 - y0) * sc);
  const ctx = canvas.getContext("2d"), img = ctx.createImageData(GX, GY), base = (r * fr.F + k) * GY * GX;
  for (let i = 0; i < GY; i++) for (let j = 0; j < GX; j++) {
    const rgb = REGION_RGB[fr.img[base + i * GX + j]], o = ((GY - 1 - i) * GX + j) * 4;  // row 0 is y0
    img.data[o] = rgb[0]; img.data[o + 1] = rgb[1]; img.data[o + 2] = rgb[2]; img.data[o + 3] = 255;
  }
  const tmp = document.createElement("canvas"); tmp.width = GX; tmp.height = GY;
  tmp.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false; ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
  f.X.forEach(([x, y], n) => {
    ctx.beginPath(); ctx.arc((x - x0) * sc, (y1 - y) * sc, 2.6, 0, 2 * Math.PI);
    ctx.fillStyle = CLASSES.points[f.y[n]]; ctx.fill();
  });
  canvas.dataset.frame = k;
}
function drawTraining() {
  const fr = frames($("ds").value), k = Math.min(+$("step").value, fr.F - 1);
  $("step").max = fr.F - 1;
  const step = fr.f.steps[k];
  $("stepout").textContent = step;
  const shown = [+$("initA").value, +$("initB").value].filter((r) => r >= 0);
  shown.forEach((r, n) => {
    drawBoundary(canvasFor(n), fr, r, k);
    $("btitle" + n).textContent = `${INITS[r]}: step ${step}, train accuracy ${fmt(fr.acc[r * fr.F + k])}`;
  });
  const second = $("boundary1");
  if (second) second.parentElement.style.display = shown.length > 1 ? "" : "none";
  const xs = fr.f.steps, series = [xs];
  for (const r of [+$("initA").value, +$("initB").value]) {
    series.push(xs.map((_, j) => (r >= 0 && j <= k ? positive(fr.cost[r * fr.F + j]) : null)));
  }
  costPlot.setData(series);
  const labels = costPlot.root.querySelectorAll(".u-legend .u-label");
  labels[0].textContent = `${INITS[+$("initA").value]} (measured)`;
  labels[1].textContent = +$("initB").value >= 0 ? `${INITS[+$("initB").value]} (measured)` : "(none)";
  const rows = ["<tr><th>init</th><th>layer</th><th>output std</th><th>dL/dW std</th><th>cost</th></tr>"];
  const names = ["1 (h1, ReLU)", "2 (h2, ReLU)", "3 (logit)"];
  for (const r of shown) for (let l = 0; l < 3; l++) {
    const o = (r * fr.F + k) * 3 + l;
    rows.push(`<tr><td>${INITS[r]}</td><td>${names[l]}</td><td>${fmt(fr.act[o])}</td><td>${fmt(fr.grad[o])}</td>` +
              `<td>${l ? "" : fmt(fr.cost[r * fr.F + k])}</td></tr>`);
  }
  $("layertable").innerHTML = rows.join("");
}
let timer = null;
function stop() { clearInterval(timer); timer = null; $("play").textContent = "Play"; }
$("play").addEventListener("click", () => {
  if (timer) return stop();
  const fr = frames($("ds").value);
  if (+$("step").value >= fr.F - 1) $("step").value = 0;
  $("play").textContent = "Pause";
  timer = setInterval(() => {
    const next = +$("step").value + 1;
    if (next > fr.F - 1) return stop();
    $("step").value = next; drawTraining();
  }, 120);
});
for (const id of ["ds", "initA", "initB", "step"]) $(id).addEventListener("input", drawTraining);
$("ds").addEventListener("input", stop);
$("step").max = frames($("ds").value).F - 1; $("step").value = 0;
drawTraining();

// ------------------------------------------------------------------ how deep can it go?
const P = DATA.phase, SW = P.sw2, SB = P.sb2, PD = P.depth, [FW, FB] = P.fine;
const PG = {};
for (const a of P.activations) {
  const g = P.grids[a];
  const [chi, crit, nums, q, c] = await Promise.all([g.chi, g.critical, g.numbers, g.q, g.c].map(inflate));
  PG[a] = { chi, crit, nums, q, c };
  option($("pact"), a, a);
}
$("sw").max = SW.length - 1; $("sb").max = SB.length - 1;
$("sw").value = Math.max(0, SW.indexOf(1.5)); $("sb").value = Math.max(0, SB.indexOf(0.05));
const fineB = Array.from({ length: FB }, (_, i) => SB[0] + (SB[SB.length - 1] - SB[0]) * i / (FB - 1));
function chiColor(v) {  // log2(chi_1) from -2 to 2: blue (ordered) - white (critical) - red (chaotic)
  const t = Math.max(-1, Math.min(1, Math.log2(v) / 2)), k = Math.abs(t);
  const [r, g, b] = t < 0 ? [76, 114, 176] : [196, 78, 82];
  return [255 + (r - 255) * k, 255 + (g - 255) * k, 255 + (b - 255) * k];
}
const heat = document.createElement("canvas");
function paintHeat(a) {
  heat.width = FW; heat.height = FB;
  const ctx = heat.getContext("2d"), img = ctx.createImageData(FW, FB), chi = PG[a].chi;
  for (let i = 0; i < FB; i++) for (let j = 0; j < FW; j++) {
    const o = ((FB - 1 - i) * FW + j) * 4, [r, g, b] = chiColor(chi[i * FW + j]);  // row 0 is sigma_b^2 = 0
    img.data[o] = r; img.data[o + 1] = g; img.data[o + 2] = b; img.data[o + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}
function pointAt() { return [SW[+$("sw").value], SB[+$("sb").value]]; }
const phasePlot = chart(520, {
  height: 360, cursor: { drag: { x: false, y: false } },
  scales: { x: { time: false, range: [SW[0], SW[SW.length - 1]] }, y: { range: [SB[0], SB[SB.length - 1]] } },
  axes: [{ label: "sigma_w^2" }, { label: "sigma_b^2", size: 55 }],
  series: [{ label: "sigma_w^2" }, { ...theory("critical line chi_1 = 1", "#222"), width: 2 }],
  hooks: {
    drawClear: [(u) => {
      const { left, top, width, height } = u.bbox;
      u.ctx.imageSmoothingEnabled = true; u.ctx.drawImage(heat, left, top, width, height);
    }],
    draw: [(u) => {
      const [w, b] = pointAt(), x = u.valToPos(w, "x", true), y = u.valToPos(b, "y", true);
      u.ctx.beginPath(); u.ctx.arc(x, y, 7 * devicePixelRatio, 0, 2 * Math.PI);
      u.ctx.fillStyle = "#ffd23f"; u.ctx.fill(); u.ctx.lineWidth = 2 * devicePixelRatio;
      u.ctx.strokeStyle = "#222"; u.ctx.stroke();
    }],
  },
}, [[SW[0]], [null]], $("phaseplot"));
function dragTo(e) {
  const x = phasePlot.posToVal(e.offsetX, "x"), y = phasePlot.posToVal(e.offsetY, "y");
  const nearest = (vs, v) => vs.reduce((best, u, i) => (Math.abs(u - v) < Math.abs(vs[best] - v) ? i : best), 0);
  $("sw").value = nearest(SW, x); $("sb").value = nearest(SB, y); drawPhase(false);
}
phasePlot.over.addEventListener("pointerdown", (e) => { phasePlot.over.setPointerCapture(e.pointerId); dragTo(e); });
phasePlot.over.addEventListener("pointermove", (e) => { if (e.buttons & 1) dragTo(e); });
const depthAxis = Array.from({ length: PD }, (_, i) => i + 1);
const qPlot = chart(380, {
  height: 260,
  scales: { x: { time: false }, y: { range: (u, lo, hi) => [Math.floor(lo - 0.05), Math.ceil(hi + 0.05)] } },
  axes: [{ label: "layer" }, { label: "q_l (log scale)", size: 60, incrs: [1, 2, 5, 10, 20, 50, 100], values: (u, t) => t.map((v) => fmt(Math.pow(10, v))) }],
  series: [{ label: "layer" }, { ...theory("q_l", "#4c72b0"), width: 2 }, theory("q*", "#888", [2, 4])],
}, [depthAxis, depthAxis.map(() => null), depthAxis.map(() => null)], $("qplot"));
const cPlot = chart(380, {
  height: 260,
  scales: { x: { time: false }, y: { range: (u, lo, hi) => [Math.min(0, lo), 1.02] } },
  axes: [{ label: "layer" }, { label: "c_l", size: 50 }],
  series: [{ label: "layer" }, { ...theory("c_l", "#c44e52"), width: 2 }, theory("c*", "#888", [2, 4])],
}, [depthAxis, depthAxis.map(() => null), depthAxis.map(() => null)], $("cplot"));
let heatFor = null;
function drawPhase(full = true) {
  const a = $("pact").value, g = PG[a], iw = +$("sw").value, ib = +$("sb").value, [w, b] = pointAt();
  $("swout").textContent = fmt(w); $("sbout").textContent = fmt(b);
  if (heatFor !== a || full) {
    paintHeat(a); heatFor = a;
    const pairs = fineB.map((bb, i) => [g.crit[i], bb]).filter(([x]) => Number.isFinite(x)).sort((p, r) => p[0] - r[0]);
    phasePlot.setData([pairs.map((p) => p[0]), pairs.map((p) => p[1])]);
    $("phasenote").textContent = pairs.length ? "" : "(no critical line in this range)";
  } else {
    phasePlot.redraw(false, false);
  }
  const k = ib * SW.length + iw, n = P.numbers_order.length;
  const num = Object.fromEntries(P.numbers_order.map((name, i) => [name, g.nums[k * n + i]]));
  // c* is found to P.c_star_tolerance: below it, it is 0 (exactly 0 for odd phi without bias)
  if (Math.abs(num.c_star) < P.c_star_tolerance) num.c_star = 0;
  const qs = [], cs = [];
  for (let l = 0; l < PD; l++) { qs.push(g.q[k * PD + l]); cs.push(g.c[k * PD + l]); }
  qPlot.setData([depthAxis, qs.map(log10), qs.map(() => log10(num.q_star))]);
  cPlot.setData([depthAxis, cs.map((v) => (Number.isFinite(v) ? v : null)), cs.map(() => num.c_star)]);
  const names = { q_star: "q*", c_star: "c*", chi_1: "chi_1", xi_q: "xi_q (layers)", xi_c: "xi_c (layers)" };
  $("mf").innerHTML = P.numbers_order.map((name) =>
    `<tr><th>${names[name]}</th><td data-k="${name}">${fmt(num[name])}</td></tr>`).join("");
  const shown = [1, 2, 3, 5, 10, 20, 30, 50, 100].filter((l) => l <= PD);
  $("qctable").innerHTML = "<tr><th>layer</th><th>q_l</th><th>c_l</th></tr>" + shown.map((l) =>
    `<tr data-layer="${l}"><td>${l}</td><td class="q">${fmt(qs[l - 1])}</td><td class="c">${fmt(cs[l - 1])}</td></tr>`).join("");
  $("phaseverdict").textContent = phaseText(num, cs);
  $("phasesame").innerHTML = `Python: <code>mean_field(get_activation("${a}"), ${w}, ${b})</code>, ` +
    `<code>iterate(get_activation("${a}"), ${w}, ${b}, q0=${P.q0}, c0=${P.c0}, depth=${PD})</code> (initlab.theory)`;
}
function phaseText(num, cs) {
  // what the computed numbers say: ordered (chi_1 < 1, c* = 1), chaotic (chi_1 > 1, c* < 1),
  // critical (chi_1 = 1); chi_1 > 1 with c* = 1 is not chaos (ReLU: q_l grows without bound,
  // and c_l still goes to 1)
  const chi = num.chi_1, alike = num.c_star >= 1 - 1e-9;
  const phase = Math.abs(chi - 1) < 1e-6 ? ": on the critical line (the edge of chaos)" : chi < 1 ? " < 1: ordered"
    : alike ? " > 1, yet not chaotic (chaos needs c* < 1)" : " > 1: chaotic";
  let text = `chi_1 = ${fmt(chi)}${phase}; ` + (alike ? "c* = 1: all inputs end up alike"
    : `c* = ${fmt(num.c_star)}: nearby inputs decorrelate`);
  if (num.q_star === Infinity) text += "; q_l grows without bound (no finite q*)";
  else if (num.q_star === 0) text += "; q_l shrinks to 0";
  const first = cs[0], last = cs[cs.length - 1];
  text += `; c_l is ${fmt(first)} at layer 1 and ${fmt(last)} at layer ${cs.length}`;
  if (Math.abs(last - num.c_star) > Math.abs(first - num.c_star)) text += ", farther from c*";
  text += Number.isFinite(num.xi_c) ? `; correlation depth scale xi_c = ${fmt(num.xi_c)} layers`
    : "; no finite correlation depth scale xi_c (the map's slope at c* is not below 1)";
  if (Number.isFinite(num.xi_c)) text += `. Schoenholz et al. (2017) expect such a net to train only up to about 6 xi_c = ${fmt(6 * num.xi_c)} layers`;
  return text + ".";
}
$("pact").addEventListener("input", () => drawPhase(true));
for (const id of ["sw", "sb"]) $(id).addEventListener("input", () => drawPhase(false));
drawPhase(true);
}
main().catch((e) => { console.error(e); });
