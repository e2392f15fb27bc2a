// pScheduler dashboard: plain JavaScript, SVG drawn here, data from this node's public API.
// Pages (hash routes): #/timeline, #/tasks, #/task/<uuid>, #/run/<task>/<run>, #/health,
// #/mesh/<template>/<group>.
// One EventSource on /pscheduler/events feeds whichever page is shown.
"use strict";

const BASE = location.pathname.replace(/\/dashboard\/.*$/, "");  // "/pscheduler"
const SVGNS = "http://www.w3.org/2000/svg";
const STATES = ["scheduling", "pending", "on-deck", "running", "cleanup", "finished", "overdue",
  "missed", "failed", "preempted", "nonstart", "canceled"];
const CLASSES = ["exclusive", "normal", "background", "background-multi"];
const EVENT_KINDS = ["task-created", "task-cancelled", "run-placed", "run-nonstart", "run-state",
  "run-deleted", "result-merged", "archiving-succeeded", "archiving-failed"];

// ------------------------------------------------------------------ small helpers

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "onclick" || k === "onchange" || k === "onsubmit") node[k] = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) node.setAttribute(k, v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function stateColour(state) {
  return getComputedStyle(document.documentElement).getPropertyValue("--st-" + state).trim()
    || "#adb5bd";
}

function stateBadge(state, display) {
  return el("span", { class: "state", style: `background:${stateColour(state)}`,
    "data-state": state }, display || state);
}

async function api(path, options) {
  const response = await fetch(BASE + path, options);
  const body = await response.text();
  if (!response.ok) throw new Error(`${response.status}: ${body.trim()}`);
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? JSON.parse(body) : body;
}

function iso(date) { return new Date(date).toISOString().replace(/\.\d+Z$/, "Z"); }
function when(value) {
  if (!value) return "—";
  const d = new Date(value);
  return d.toLocaleString(undefined, { hour12: false });
}
function shortTime(d) {
  return d.toLocaleTimeString(undefined, { hour12: false, hour: "2-digit", minute: "2-digit",
    second: d.getSeconds() ? "2-digit" : undefined });
}
function lastPart(href) { return String(href || "").replace(/\/+$/, "").split("/").pop(); }

// ISO 8601 duration ("PT0.000045S", "P1DT2H") to seconds; null if not one.
function seconds(value) {
  if (typeof value !== "string") return null;
  const m = value.match(/^(-)?P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/);
  if (!m) return null;
  const total = (+(m[2] || 0)) * 86400 + (+(m[3] || 0)) * 3600 + (+(m[4] || 0)) * 60 + (+(m[5] || 0));
  return m[1] ? -total : total;
}

function shellQuote(arg) {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : "'" + String(arg).replace(/'/g, "'\\''") + "'";
}

function setMain(...children) {
  const main = document.getElementById("main");
  main.replaceChildren(...children);
  return main;
}

function failure(error) { return el("div", { class: "card bad" }, String(error.message || error)); }

// ------------------------------------------------------------------ the event stream

const listeners = new Set();   // functions called with (kind, event) for every event

function connectEvents() {
  const badge = document.getElementById("live");
  const source = new EventSource(BASE + "/events");
  source.addEventListener("ready", () => {
    badge.textContent = "live"; badge.className = "live on";
  });
  source.onerror = () => { badge.textContent = "reconnecting…"; badge.className = "live off"; };
  for (const kind of EVENT_KINDS) {
    source.addEventListener(kind, (message) => {
      let event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      for (const fn of listeners) {
        try { fn(kind, event); } catch (e) { console.error(e); }
      }
    });
  }
  source.addEventListener("reset", () => { if (current) current.refresh(); });
}

// ------------------------------------------------------------------ timeline

const WINDOWS = { "15 min": 900, "1 hour": 3600, "6 hours": 21600, "1 day": 86400 };

function timelinePage() {
  let span = 900;
  let runs = [];
  let refetch = null;
  const box = el("div", { class: "card" });
  const picker = el("select", { onchange: () => { span = +picker.value; load(); } },
    Object.entries(WINDOWS).map(([label, s]) =>
      el("option", { value: s, selected: s === span ? "selected" : null }, label)));
  const legend = el("div", { class: "legend" }, STATES.filter((s) => s !== "scheduling").map((s) =>
    el("span", {}, el("i", { style: `background:${stateColour(s)}` }), s)));
  setMain(el("h2", {}, "Schedule around now"),
    el("div", { class: "controls" }, "Window:", picker,
      el("span", { class: "muted" }, "half past, half future; bars coloured by state, lanes by scheduling class")),
    box, legend);

  async function load() {
    const now = Date.now();
    try {
      runs = await api(`/schedule?start=${iso(now - span * 500)}&end=${iso(now + span * 500)}`);
      draw();
    } catch (error) { box.replaceChildren(failure(error)); }
  }

  function draw() {
    const now = Date.now();
    const from = now - span * 500, to = now + span * 500;
    const width = Math.max(600, box.clientWidth - 28), left = 130, right = 10;
    const x = (t) => left + (Math.min(Math.max(t, from), to) - from) / (to - from) * (width - left - right);
    const rowH = 18, laneGap = 14;
    const byClass = {};
    for (const run of runs) {
      const cls = run["scheduling-class"] || "normal";
      (byClass[cls] = byClass[cls] || []).push(run);
    }
    const lanes = CLASSES.filter((c) => byClass[c]).concat(
      Object.keys(byClass).filter((c) => !CLASSES.includes(c)));
    if (!lanes.length) lanes.push("exclusive");
    const children = [];
    let y = 24;
    for (const cls of lanes) {
      // Greedy packing: each run goes on the first row of its lane where it fits.
      const rows = [];
      const placed = (byClass[cls] || []).slice().sort((a, b) =>
        new Date(a["start-time"]) - new Date(b["start-time"])).map((run) => {
        const s = new Date(run["start-time"]).getTime(), e = new Date(run["end-time"]).getTime();
        let row = rows.findIndex((end) => end <= s);
        if (row < 0) { row = rows.length; rows.push(0); }
        rows[row] = e;
        return { run, s, e, row };
      });
      const height = Math.max(2, rows.length) * rowH;
      children.push(svg("rect", { x: 0, y: y - 4, width, height: height + 8, fill: "#f8f9fb" }));
      children.push(svg("text", { x: 6, y: y + 12, "font-weight": 600 }, cls));
      children.push(svg("text", { x: 6, y: y + 26, fill: "#6b7385" },
        `${(byClass[cls] || []).length} run(s)`));
      for (const p of placed) {
        const x0 = x(p.s), x1 = Math.max(x(p.e), x0 + 3);
        const uuid = lastPart(p.run.href);
        const rect = svg("rect", { x: x0, y: y + p.row * rowH, width: x1 - x0, height: rowH - 3,
          rx: 2, fill: stateColour(p.run.state), "data-run": uuid, "data-state": p.run.state,
          class: "run", style: "cursor:pointer" },
        svg("title", {}, `${p.run.test ? p.run.test.name : ""} ${p.run.state}\n` +
          `${when(p.run["start-time"])} → ${when(p.run["end-time"])}` +
          (p.run.errors ? `\n${p.run.errors}` : "")));
        rect.addEventListener("click", () => {
          location.hash = `#/run/${lastPart(p.run.task.href)}/${uuid}`;
        });
        children.push(rect);
      }
      y += height + laneGap;
    }
    // Axis: about eight ticks at round times.
    const step = [60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600].find((s) => span / s <= 8) || 21600;
    for (let t = Math.ceil(from / 1000 / step) * step * 1000; t <= to; t += step * 1000) {
      children.push(svg("line", { x1: x(t), x2: x(t), y1: 16, y2: y, stroke: "#e3e6ec" }));
      children.push(svg("text", { x: x(t), y: 12, "text-anchor": "middle" }, shortTime(new Date(t))));
    }
    children.push(svg("line", { x1: x(now), x2: x(now), y1: 14, y2: y, stroke: "#c92a2a",
      "stroke-width": 2, id: "now-line" }));
    const picture = svg("svg", { width, height: y + 4, id: "timeline",
      "data-runs": runs.length }, children);
    box.replaceChildren(picture);
  }

  function onEvent(kind, event) {
    if (kind === "run-state") {
      const run = runs.find((r) => lastPart(r.href) === event.run);
      if (run) {
        run.state = event.data.new;
        if (event.data.end) run["end-time"] = event.data.end;
        const rect = document.querySelector(`rect[data-run="${event.run}"]`);
        if (rect) {  // recolour at once; the full redraw follows on the next tick
          rect.setAttribute("fill", stateColour(run.state));
          rect.setAttribute("data-state", run.state);
        }
        return;
      }
    }
    if (kind.startsWith("run-")) {
      clearTimeout(refetch);
      refetch = setTimeout(load, 300);
    }
  }

  load();
  const ticker = setInterval(draw, 5000);
  const reload = setInterval(load, 60000);
  return { onEvent, refresh: load, stop: () => { clearInterval(ticker); clearInterval(reload); } };
}

// ------------------------------------------------------------------ tasks list

function tasksPage() {
  let tasks = [];
  const filters = { test: "", tool: "", enabled: "" };
  const table = el("div", { class: "card" });
  const controls = el("div", { class: "controls" });
  setMain(el("h2", {}, "Tasks"), controls, table);

  function select(name, values, label) {
    const node = el("select", { name, onchange: () => { filters[name] = node.value; draw(); } },
      el("option", { value: "" }, `all ${label}`),
      values.map((v) => el("option", { value: v, selected: filters[name] === v ? "selected" : null }, v)));
    return node;
  }

  async function load() {
    try {
      tasks = await api("/tasks?expanded=true&detail=true");
      draw();
    } catch (error) { table.replaceChildren(failure(error)); }
  }

  function draw() {
    const tests = [...new Set(tasks.map((t) => t.test.type))].sort();
    const tools = [...new Set(tasks.map((t) => t.tool))].sort();
    controls.replaceChildren("Filter:", select("test", tests, "tests"), select("tool", tools, "tools"),
      select("enabled", ["yes", "no"], "(enabled or not)"));
    const shown = tasks.filter((t) =>
      (!filters.test || t.test.type === filters.test)
      && (!filters.tool || t.tool === filters.tool)
      && (!filters.enabled || (t.detail.enabled ? "yes" : "no") === filters.enabled));
    const rows = shown.slice().reverse().map((t) => {
      const uuid = lastPart(t.href);
      const sched = t.schedule || {};
      return el("tr", { "data-task": uuid },
        el("td", {}, el("a", { href: `#/task/${uuid}` }, t.test.type)),
        el("td", {}, t.tool),
        el("td", {}, (t.detail.participants || []).filter(Boolean).join(", ") || "this host"),
        el("td", {}, sched.repeat ? `every ${sched.repeat}` : sched["repeat-cron"] || "once"),
        el("td", {}, t.detail.enabled ? "yes" : el("span", { class: "muted" }, "no")),
        el("td", { class: "num" }, t.detail.runs),
        el("td", {}, when(t.detail.added)));
    });
    table.replaceChildren(el("table", { id: "tasks" },
      el("tr", {}, ["Test", "Tool", "Participants", "Schedule", "Enabled", "Runs", "Added"].map(
        (h) => el("th", { class: h === "Runs" ? "num" : null }, h))),
      rows.length ? rows : el("tr", {}, el("td", { colspan: 7, class: "muted" }, "No tasks match."))));
  }

  let timer = null;
  function onEvent(kind) {
    if (kind.startsWith("task-") || kind === "run-placed") {
      clearTimeout(timer); timer = setTimeout(load, 500);
    }
  }
  load();
  return { onEvent, refresh: load, stop: () => clearTimeout(timer) };
}

// ------------------------------------------------------------------ result metrics

// Per test type: series drawn on the task page, read from each run's merged result.
function metrics(testType, result) {
  if (!result || result.succeeded === false) return null;
  const ms = (v) => { const s = seconds(v); return s === null ? null : s * 1000; };
  if (testType === "rtt") {
    return { unit: "ms", values: { min: ms(result.min), mean: ms(result.mean), max: ms(result.max) },
      extra: { loss: result.loss } };
  }
  if (testType === "throughput") {
    const summary = (result.summary && result.summary.summary) || {};
    return { unit: "bits/s", values: { throughput: summary["throughput-bits"] } };
  }
  if (testType === "latency") {
    const hist = result["histogram-latency"] || {};
    const points = Object.entries(hist).map(([k, n]) => [parseFloat(k), n]);
    const count = points.reduce((a, [, n]) => a + n, 0);
    const values = {};
    if (count) {
      values.min = Math.min(...points.map(([v]) => v));
      values.mean = points.reduce((a, [v, n]) => a + v * n, 0) / count;
      values.max = Math.max(...points.map(([v]) => v));
    }
    const sent = result["packets-sent"];
    return { unit: "ms", values, extra: { loss: sent ? (result["packets-lost"] || 0) / sent : null } };
  }
  // Anything else: every top-level number or duration.
  const values = {};
  for (const [k, v] of Object.entries(result)) {
    if (typeof v === "number" && k !== "schema") values[k] = v;
    else if (seconds(v) !== null) values[k] = seconds(v) * 1000;
  }
  return Object.keys(values).length ? { unit: "", values } : null;
}

const SERIES_COLOURS = ["#2b6cb0", "#2f9e44", "#c92a2a", "#f08c00", "#862e9c", "#0b7285"];

function plot(points, unit) {
  // points: [{time: Date, values: {name: number}}]
  const names = [...new Set(points.flatMap((p) => Object.keys(p.values).filter(
    (k) => typeof p.values[k] === "number" && isFinite(p.values[k]))))];
  const width = 760, height = 250, left = 64, right = 40, top = 24, bottom = 30;
  if (!points.length || !names.length) {
    return el("p", { class: "muted", id: "plot-empty" }, "No numeric results to plot yet.");
  }
  const times = points.map((p) => p.time.getTime());
  let t0 = Math.min(...times), t1 = Math.max(...times);
  if (t0 === t1) { t0 -= 30000; t1 += 30000; }
  const all = points.flatMap((p) => names.map((n) => p.values[n])).filter((v) => typeof v === "number");
  let v0 = Math.min(0, ...all), v1 = Math.max(...all);
  if (v0 === v1) v1 = v0 + 1;
  const x = (t) => left + (t - t0) / (t1 - t0) * (width - left - right);
  const y = (v) => top + (1 - (v - v0) / (v1 - v0)) * (height - top - bottom);
  const children = [svg("rect", { x: left, y: top, width: width - left - right,
    height: height - top - bottom, fill: "#fbfcfd", stroke: "#e3e6ec" })];
  for (let i = 0; i <= 4; i++) {
    const v = v0 + (v1 - v0) * i / 4;
    children.push(svg("line", { x1: left, x2: width - right, y1: y(v), y2: y(v), stroke: "#eef0f4" }));
    children.push(svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end" },
      Math.abs(v) >= 1e6 ? (v / 1e6).toFixed(1) + "M" : +v.toPrecision(3)));
  }
  for (let i = 0; i <= 3; i++) {
    const t = t0 + (t1 - t0) * i / 3;
    children.push(svg("text", { x: x(t), y: height - 10, "text-anchor": i === 3 ? "end" : "middle" },
      shortTime(new Date(t))));
  }
  children.push(svg("text", { x: 8, y: 12 }, unit));
  names.forEach((name, i) => {
    const colour = SERIES_COLOURS[i % SERIES_COLOURS.length];
    const pts = points.filter((p) => typeof p.values[name] === "number");
    children.push(svg("polyline", { fill: "none", stroke: colour, "stroke-width": 2,
      points: pts.map((p) => `${x(p.time.getTime())},${y(p.values[name])}`).join(" "),
      class: "series", "data-series": name }));
    for (const p of pts) {
      children.push(svg("circle", { cx: x(p.time.getTime()), cy: y(p.values[name]), r: 3, fill: colour },
        svg("title", {}, `${name}: ${+p.values[name].toPrecision(4)} ${unit}\n${when(p.time)}`)));
    }
  });
  return el("div", {},
    svg("svg", { width, height, id: "plot", "data-points": points.length }, children),
    el("div", { class: "legend" }, names.map((n, i) =>
      el("span", {}, el("i", { style: `background:${SERIES_COLOURS[i % SERIES_COLOURS.length]}` }), n))));
}

// ------------------------------------------------------------------ one task

function taskPage(uuid) {
  const head = el("div", { class: "card" }, "Loading…");
  const runsBox = el("div", { class: "card" });
  const plotBox = el("div", { class: "card", id: "plot-box" });
  const results = new Map();   // run uuid -> {time, values}
  const message = el("div", { id: "message" });   // outlives redraws of the head
  let task = null, runs = [];
  setMain(el("h2", {}, "Task ", el("code", {}, uuid)), head,
    el("h3", {}, "Results over time"), plotBox, el("h3", {}, "Runs"), runsBox);

  async function load() {
    try {
      const [t, cli] = await Promise.all([api(`/tasks/${uuid}?detail=true`), api(`/tasks/${uuid}/cli`)]);
      task = t;
      drawHead(cli);
      await loadRuns();
    } catch (error) { head.replaceChildren(failure(error)); }
  }

  function drawHead(cli) {
    const key = el("input", { type: "password", placeholder: "task key", size: 16, id: "task-key" });
    const cancel = el("button", { class: "danger", id: "cancel", onclick: async () => {
      if (!confirm("Cancel this task? Future runs are removed.")) return;
      try {
        await api(`/tasks/${uuid}?key=${encodeURIComponent(key.value)}`, { method: "DELETE" });
        message.replaceChildren(el("span", { class: "good" }, "Task cancelled."));
        load();
      } catch (error) { message.replaceChildren(el("span", { class: "bad" }, error.message)); }
    } }, "Cancel task");
    const spec = Object.assign({}, task);
    delete spec.detail;
    head.replaceChildren(
      el("dl", { class: "kv" },
        el("dt", {}, "Test"), el("dd", {}, task.test.type),
        el("dt", {}, "Tool"), el("dd", {}, task.tool),
        el("dt", {}, "Enabled"), el("dd", {}, task.detail.enabled ? "yes" : "no (cancelled or not yet enabled)"),
        el("dt", {}, "Participants"), el("dd", {}, (task.detail.participants || []).map((p) => p || "this host").join(", ")),
        el("dt", {}, "Runs"), el("dd", {}, `${task.detail.runs} (${task.detail["runs-started"]} started)`),
        el("dt", {}, "Added"), el("dd", {}, when(task.detail.added)),
        el("dt", {}, "CLI"), el("dd", {}, el("code", { id: "cli" }, "pscheduler task " + cli.map(shellQuote).join(" ")))),
      el("h3", {}, "Specification"), el("pre", { id: "spec" }, JSON.stringify(spec, null, 2)),
      task.detail.enabled ? el("div", { class: "controls", style: "margin-top:10px" }, key, cancel,
        el("span", { class: "muted" }, "cancelling needs the task's key (or a local browser)")) : null,
      message);
  }

  async function loadRuns() {
    runs = await api(`/schedule?task=${uuid}`);
    runs.reverse();
    runsBox.replaceChildren(el("table", { id: "runs" },
      el("tr", {}, ["Start", "End", "State", "Errors"].map((h) => el("th", {}, h))),
      runs.slice(0, 100).map((r) => el("tr", { "data-run": lastPart(r.href) },
        el("td", {}, el("a", { href: `#/run/${uuid}/${lastPart(r.href)}` }, when(r["start-time"]))),
        el("td", {}, when(r["end-time"])),
        el("td", {}, stateBadge(r.state, r["state-display"])),
        el("td", { class: "muted" }, r.errors || ""))),
      runs.length ? null : el("tr", {}, el("td", { colspan: 4, class: "muted" }, "No runs yet."))));
    const done = runs.filter((r) => ["finished", "failed"].includes(r.state)).slice(0, 60);
    await Promise.all(done.filter((r) => !results.has(lastPart(r.href))).map(loadResult));
    drawPlot();
  }

  async function loadResult(run) {
    try {
      const result = await api(`/tasks/${uuid}/runs/${lastPart(run.href)}/result`);
      const m = metrics(task.test.type, result);
      results.set(lastPart(run.href), m ? { time: new Date(run["start-time"]), values: m.values, unit: m.unit } : null);
    } catch (error) { results.set(lastPart(run.href), null); }
  }

  function drawPlot() {
    const points = [...results.values()].filter(Boolean).sort((a, b) => a.time - b.time);
    const unit = points.length ? points[0].unit : "";
    plotBox.replaceChildren(plot(points, unit));
  }

  let timer = null;
  function onEvent(kind, event) {
    if (event.task !== uuid) return;
    clearTimeout(timer);
    timer = setTimeout(kind.startsWith("task-") ? load : loadRuns, 200);
  }
  load();
  return { onEvent, refresh: load, stop: () => clearTimeout(timer) };
}

// ------------------------------------------------------------------ one run

function runPage(taskUuid, runUuid) {
  const box = el("div", {}, "Loading…");
  setMain(el("h2", {}, "Run ", el("code", {}, runUuid)),
    el("p", {}, el("a", { href: `#/task/${taskUuid}` }, "← its task")), box);
  const path = `/tasks/${taskUuid}/runs/${runUuid}`;

  async function load() {
    try {
      const [run, task] = await Promise.all([api(path), api(`/tasks/${taskUuid}`)]);
      const result = run["result-merged"] || run.result;
      const diags = [run["limit-diags"], result && result.diags].filter(Boolean).join("\n");
      const archivings = run.archivings || run["archivings"];
      const frame = el("iframe", { class: "result", sandbox: "allow-same-origin", id: "result-html" });
      box.replaceChildren(
        el("div", { class: "row" },
          el("div", { class: "card" }, el("dl", { class: "kv", id: "run-facts" },
            el("dt", {}, "State"), el("dd", { id: "run-state" }, stateBadge(run.state, run["state-display"])),
            el("dt", {}, "Test"), el("dd", {}, `${task.test.type} (tool ${task.tool})`),
            el("dt", {}, "Start"), el("dd", {}, when(run["start-time"])),
            el("dt", {}, "End"), el("dd", {}, when(run["end-time"])),
            el("dt", {}, "Duration"), el("dd", {}, run.duration),
            el("dt", {}, "Started"), el("dd", {}, when(run.started)),
            el("dt", {}, "Added"), el("dd", {}, when(run.added)),
            el("dt", {}, "Priority"), el("dd", {}, run.priority ?? "—"),
            el("dt", {}, "Participants"), el("dd", {}, (run.participants || []).map((p) => p || "this host").join(", ")))),
          el("div", { class: "card" },
            el("h3", { style: "margin-top:0" }, "Errors"),
            run.errors ? el("pre", { class: "bad", id: "run-errors" }, run.errors) : el("p", { class: "muted" }, "None."),
            el("h3", {}, "Diagnostics"),
            diags ? el("pre", {}, diags) : el("p", { class: "muted" }, "None."),
            el("h3", {}, "Archivings"),
            archivings && archivings.length
              ? el("table", {}, el("tr", {}, el("th", {}, "Archiver"), el("th", {}, "Archived"), el("th", {}, "Attempts")),
                archivings.map((a) => el("tr", {}, el("td", {}, a.archiver || (a.spec && a.spec.archiver) || "?"),
                  el("td", {}, String(a.archived ?? a.completed ?? a.state ?? "?")), el("td", {}, a.attempts ?? ""))))
              : el("p", { class: "muted" }, "None recorded for this run."))),
        el("div", { class: "card" }, el("h3", { style: "margin-top:0" }, "Result"),
          result ? frame : el("p", { class: "muted" }, "No result yet.")),
        el("details", { class: "card" }, el("summary", {}, "Result JSON"),
          el("pre", {}, JSON.stringify(result, null, 2))));
      if (result) {
        const html = await api(`${path}/result?format=text/html`).catch((e) => `<p>${e.message}</p>`);
        frame.srcdoc = `<style>body{font:13px system-ui,sans-serif;margin:8px}table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd}</style>${html}`;
        frame.onload = () => {
          try { frame.style.height = (frame.contentDocument.body.scrollHeight + 24) + "px"; } catch (e) { /* sandboxed */ }
        };
      }
    } catch (error) { box.replaceChildren(failure(error)); }
  }
  let timer = null;
  function onEvent(kind, event) {
    if (event.run !== runUuid) return;
    clearTimeout(timer); timer = setTimeout(load, 200);
  }
  load();
  return { onEvent, refresh: load, stop: () => clearTimeout(timer) };
}

// ------------------------------------------------------------------ health

const COUNTED = ["pending", "on-deck", "running", "finished", "overdue", "missed", "failed", "nonstart", "preempted"];

function busyFraction(runs, from, to) {
  // Share of [from, to] covered by active exclusive runs (intervals merged).
  const spans = runs.filter((r) => r["scheduling-class"] === "exclusive"
    && ["pending", "on-deck", "running", "cleanup"].includes(r.state))
    .map((r) => [Math.max(from, new Date(r["start-time"]).getTime()), Math.min(to, new Date(r["end-time"]).getTime())])
    .filter(([a, b]) => b > a).sort((a, b) => a[0] - b[0]);
  let covered = 0, end = from;
  for (const [a, b] of spans) {
    if (b <= end) continue;
    covered += b - Math.max(a, end);
    end = b;
  }
  return covered / (to - from);
}

function healthPage() {
  const services = el("div", { class: "card" }, "Loading…");
  const counts = el("div", { class: "card" });
  const clock = el("div", { class: "card" });
  const busy = el("div", { class: "card" });
  setMain(el("h2", {}, "Host health"),
    el("div", { class: "row" }, services, clock),
    el("div", { class: "row" }, counts, busy));

  async function load() {
    const now = Date.now();
    const [status, clockState, pause, hour, day, ...numbers] = await Promise.all([
      api("/status").catch((e) => ({ error: e.message })),
      api("/clock").catch((e) => ({ error: e.message })),
      api("/stat/control/pause").catch(() => ({})),
      api(`/schedule?start=${iso(now)}&end=${iso(now + 3600e3)}`).catch(() => []),
      api(`/schedule?start=${iso(now)}&end=${iso(now + 86400e3)}`).catch(() => []),
      ...COUNTED.map((s) => api(`/stat/runs/${s}`).catch(() => "?")),
    ]);
    const rows = Object.entries(status.services || {}).map(([name, s]) => el("tr", { "data-service": name },
      el("td", {}, name), el("td", {}, when(s.last)), el("td", { class: "num" }, s.updates),
      el("td", {}, s.uptime), el("td", {}, s.overdue ? el("span", { class: "bad" }, "late " + s.overdue) : el("span", { class: "good" }, "ok"))));
    const limits = status.limits || {};
    services.replaceChildren(el("h3", { style: "margin-top:0" }, "Daemons"),
      status.error ? failure(status) : el("table", { id: "services" },
        el("tr", {}, ["Daemon", "Last heartbeat", "Beats", "Uptime", "State"].map((h) => el("th", {}, h))), rows),
      el("h3", {}, "Limits"),
      el("p", {}, limits.ok === false ? el("span", { class: "bad" }, limits.error || "limits file has problems")
        : el("span", { class: "good" }, "ok"), " ", el("span", { class: "muted" }, limits.file || limits.path || "")),
      el("h3", {}, "Runs"),
      el("p", {}, pause.is_paused ? el("span", { class: "bad" }, `Paused${pause.infinite ? " indefinitely" : " for " + pause.remaining}`)
        : "Not paused. ", el("span", { class: "muted" }, `last scheduled ${when((status.runs || {})["last-scheduled"])}, last finished ${when((status.runs || {})["last-finished"])}`)));
    clock.replaceChildren(el("h3", { style: "margin-top:0" }, "Clock"), el("dl", { class: "kv", id: "clock" },
      el("dt", {}, "Synchronized"), el("dd", {}, clockState.synchronized ? el("span", { class: "good" }, "yes") : el("span", { class: "bad" }, "no")),
      el("dt", {}, "Source"), el("dd", {}, clockState.source || "—"),
      el("dt", {}, "Offset"), el("dd", {}, clockState.offset !== undefined ? `${clockState.offset} s` : "—"),
      el("dt", {}, "Node time"), el("dd", {}, clockState.time || "—"),
      (status.clock || {}).problem ? [el("dt", {}, "Problem"), el("dd", { class: "bad" }, status.clock.problem)] : null));
    counts.replaceChildren(el("h3", { style: "margin-top:0" }, "Runs by state"), el("table", { id: "counts" },
      COUNTED.map((s, i) => el("tr", {}, el("td", {}, stateBadge(s)), el("td", { class: "num" }, String(numbers[i]).trim())))));
    const bar = (label, fraction) => el("div", { style: "margin-bottom:10px" },
      el("div", {}, `${label}: `, el("b", { class: "busy", "data-window": label }, `${(fraction * 100).toFixed(fraction && fraction < 0.01 ? 2 : 1)}%`), " of the time taken by exclusive runs"),
      el("div", { class: "bar" }, el("div", { style: `width:${Math.min(100, fraction * 100)}%` })));
    busy.replaceChildren(el("h3", { style: "margin-top:0" }, "Exclusive timeline"),
      bar("next hour", busyFraction(hour, now, now + 3600e3)),
      bar("next day", busyFraction(day, now, now + 86400e3)));
  }
  let timer = null;
  function onEvent(kind) {
    if (kind.startsWith("run-")) { clearTimeout(timer); timer = setTimeout(load, 1000); }
  }
  load();
  const every = setInterval(load, 10000);
  return { onEvent, refresh: load, stop: () => { clearTimeout(timer); clearInterval(every); } };
}

// ------------------------------------------------------------------ mesh grid (pSConfig)

const CELL_COLOURS = { ok: "#2f9e44", warning: "#f08c00", critical: "#c92a2a", failed: "#c92a2a",
  missing: "#868e96", pending: "#9fb3c8", unreachable: "#5c5f66" };

function runLink(href) {
  // a run on this node opens the run page; one on another lead opens its JSON there
  const url = new URL(href);
  const parts = url.pathname.split("/").filter(Boolean);  // pscheduler tasks T runs R
  return url.host === location.host ? `#/run/${parts[2]}/${parts[4]}` : href;
}

function meshCell(cell) {
  const label = cell.status === "ok" || cell.status === "warning" || cell.status === "critical"
    ? cell.summary : `${cell.status}${cell.summary ? ": " + cell.summary : ""}`;
  const body = cell.run ? el("a", { href: runLink(cell.run), style: "color:#fff" }, label) : label;
  return el("td", { class: "cell", "data-status": cell.status, "data-source": cell.source,
    "data-destination": cell.destination, title: `${cell.source} → ${cell.destination}: ${cell.summary}`,
    style: `background:${CELL_COLOURS[cell.status] || "#adb5bd"}` }, body);
}

function meshGrid(grid) {
  const cells = new Map(grid.cells.map((c) => [`${c.source}|${c.destination}`, c]));
  return el("div", { class: "card mesh-grid", "data-task": grid.task },
    el("h3", { style: "margin-top:0" }, `${grid.task} `, el("span", { class: "muted" }, `${grid.test} · group ${grid.group}`)),
    el("table", { class: "grid" },
      el("tr", {}, el("th", {}, "source ↓ / destination →"), grid.destinations.map((d) => el("th", {}, d))),
      grid.sources.map((s) => el("tr", {}, el("th", {}, s), grid.destinations.map((d) => {
        const cell = cells.get(`${s}|${d}`);
        return cell ? meshCell(cell) : el("td", { class: "cell none" }, "—");
      })))));
}

function meshPage(templateIndex, group) {
  const controls = el("div", { class: "controls" }, "Loading…");
  const grids = el("div", { id: "grids" });
  setMain(el("h2", {}, "Mesh"), controls, grids,
    el("div", { class: "legend" }, Object.entries(CELL_COLOURS).map(([k, c]) => el("span", {}, el("i", { style: `background:${c}` }), k))));
  const index = Number(templateIndex || 0);
  async function load() {
    let templates;
    try { templates = await api("/mesh"); } catch (e) { controls.replaceChildren(failure(e)); return; }
    if (!templates.length) {
      controls.replaceChildren(el("p", { class: "muted" }, "No pSConfig template on this node (psconfig.d/ or `pscheduler-server psconfig remote add`)."));
      return;
    }
    const tsel = el("select", { id: "mesh-template" }, templates.map((t) =>
      el("option", { value: t.template, ...(t.template === index ? { selected: "" } : {}) }, t.source)));
    const current = templates.find((t) => t.template === index) || templates[0];
    const gsel = el("select", { id: "mesh-group" }, el("option", { value: "" }, "every group"),
      current.groups.map((g) => el("option", { value: g, ...(g === group ? { selected: "" } : {}) }, g)));
    const go = () => { location.hash = `#/mesh/${tsel.value}${gsel.value ? "/" + gsel.value : ""}`; };
    tsel.addEventListener("change", go); gsel.addEventListener("change", go);
    controls.replaceChildren("Template ", tsel, " Group ", gsel);
    const query = `?template=${current.template}${group ? "&group=" + encodeURIComponent(group) : ""}`;
    try {
      const body = await api("/mesh/grid" + query);
      grids.replaceChildren(...body.grids.map(meshGrid),
        body.errors.length ? el("div", { class: "card bad" }, body.errors.join("\n")) : "",
        el("p", { class: "muted" }, `as of ${when(body.time)}`));
    } catch (e) { grids.replaceChildren(failure(e)); }
  }
  load();
  const every = setInterval(load, 30000);
  return { refresh: load, stop: () => clearInterval(every) };
}

// ------------------------------------------------------------------ routing

let current = null;

function route() {
  if (current && current.stop) current.stop();
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  const page = parts[0] || "timeline";
  for (const a of document.querySelectorAll("nav a")) {
    a.classList.toggle("active", a.dataset.page === page || (page === "task" && a.dataset.page === "tasks")
      || (page === "run" && a.dataset.page === "timeline"));
  }
  if (page === "tasks") current = tasksPage();
  else if (page === "task" && parts[1]) current = taskPage(parts[1]);
  else if (page === "run" && parts[2]) current = runPage(parts[1], parts[2]);
  else if (page === "health") current = healthPage();
  else if (page === "mesh") current = meshPage(parts[1], parts[2] ? decodeURIComponent(parts[2]) : null);
  else current = timelinePage();
}

listeners.add((kind, event) => { if (current && current.onEvent) current.onEvent(kind, event); });
window.addEventListener("hashchange", route);
document.getElementById("host").textContent = location.host;
connectEvents();
route();
