#include "server/web/status_page.h"

namespace cairn {
namespace {

constexpr absl::string_view kHtml = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cairn</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header><h1>cairn</h1><span id="summary">loading…</span><a href="/logout">sign out</a></header>
<main>
<section id="signin" hidden><h2>Sign in</h2>
<p>Run <code>cairnctl web</code> and open the link it prints (or present an admin
credential's certificate).</p><p id="signin-error"></p></section>
<section id="problems" hidden><h2>Problems</h2><ul id="problem-list"></ul></section>
<section><h2>Agents</h2><table id="agents"><thead><tr><th>agent</th><th>tenant</th>
<th>state</th><th>last backup</th><th>RPO</th><th>backlog</th><th>policies</th></tr></thead>
<tbody></tbody></table></section>
<section><h2>Jobs</h2><table id="jobs"><thead><tr><th>job</th><th>kind</th><th>agent</th>
<th>state</th><th>progress</th><th>started</th></tr></thead><tbody></tbody></table></section>
<section><h2>Storage</h2><table id="tiers"><thead><tr><th>tier</th><th>kind</th><th>state</th>
<th>used</th><th>free</th><th>packs</th></tr></thead><tbody></tbody></table>
<p id="totals"></p></section>
<section class="plots">
<figure><figcaption>Storage per tier</figcaption><div id="plot-storage" class="plot"></div></figure>
<figure><figcaption>Backup throughput (bytes read per second of each backup)</figcaption>
<div id="plot-throughput" class="plot"></div></figure>
<figure><figcaption>Dedup and compression</figcaption><div id="plot-ratios" class="plot"></div></figure>
</section>
<section id="snapshots-section" hidden><h2 id="snapshots-title">Snapshots</h2>
<p>Pick one to browse; tick two to diff.</p>
<table id="snapshots"><thead><tr><th></th><th>snapshot</th><th>level</th><th>time</th>
<th>root</th><th>files</th><th>scanned</th><th>uploaded</th></tr></thead><tbody></tbody></table>
<button id="diff-button" disabled>diff the two ticked</button></section>
<section id="browser-section" hidden><h2 id="browser-title">Browse</h2>
<table id="browser"><thead><tr><th>path</th><th>kind</th><th>size</th></tr></thead>
<tbody></tbody></table><button id="more-button" hidden>more</button></section>
<section id="diff-section" hidden><h2 id="diff-title">Diff</h2>
<table id="diff"><thead><tr><th>change</th><th>path</th></tr></thead><tbody></tbody></table>
</section>
</main>
</body>
</html>
)html";

constexpr absl::string_view kCss = R"css(
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2733; background: #f5f7fa; }
header { display: flex; gap: 1.5em; align-items: baseline; padding: .6em 1.2em;
  background: #243447; color: #fff; }
header h1 { margin: 0; font-size: 1.3em; }
header a { margin-left: auto; color: #cde; }
main { padding: .5em 1.2em 2em; }
section { background: #fff; border: 1px solid #dde3ea; border-radius: 6px; padding: .4em 1em 1em;
  margin: 1em 0; }
h2 { font-size: 1.05em; margin: .6em 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .25em .6em; border-bottom: 1px solid #eef1f4; }
th { font-weight: 600; color: #4a5a6a; }
tbody tr:hover { background: #f0f5fb; }
.ok { color: #1a7f37; } .bad { color: #c62828; font-weight: 600; } .dim { color: #8795a1; }
.link { color: #0b5cad; cursor: pointer; text-decoration: underline; }
.bar { background: #e6ebf0; border-radius: 3px; width: 10em; height: .8em; display: inline-block; }
.bar > span { display: block; height: 100%; background: #2f81f7; border-radius: 3px; }
.plots { display: grid; grid-template-columns: repeat(auto-fit, minmax(22em, 1fr)); gap: 1em; }
figure { margin: 0; } figcaption { font-weight: 600; margin: .4em 0; }
.plot svg { width: 100%; height: 180px; } .plot text { font-size: 10px; fill: #4a5a6a; }
code { background: #eef1f4; padding: 0 .3em; border-radius: 3px; }
)css";

constexpr absl::string_view kJs = R"js('use strict';
const $ = (id) => document.getElementById(id);
const num = (v) => Number(v || 0);
const COLORS = ['#2f81f7', '#e8590c', '#2b8a3e', '#ae3ec9', '#c92a2a', '#1098ad'];

function bytes(n) {
  n = num(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + ' ' + units[i];
}
function age(ms) {
  ms = num(ms);
  if (!ms) return 'never';
  const s = Math.max(0, (Date.now() - ms) / 1000);
  if (s < 120) return Math.round(s) + ' s ago';
  if (s < 7200) return Math.round(s / 60) + ' min ago';
  if (s < 172800) return Math.round(s / 3600) + ' h ago';
  return Math.round(s / 86400) + ' days ago';
}
function when(ms) { return num(ms) ? new Date(num(ms)).toLocaleString() : ''; }
function short(kind, prefix) { return String(kind || '').replace(prefix, '').toLowerCase(); }

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}
function clear(tbody) { while (tbody.firstChild) tbody.removeChild(tbody.firstChild); }

async function api(path) {
  const r = await fetch(path, {credentials: 'same-origin'});
  if (r.status === 401 || r.status === 403) {
    $('signin').hidden = false;
    $('signin-error').textContent = await r.text();
    throw new Error('not signed in');
  }
  if (!r.ok) throw new Error(path + ': ' + r.status + ' ' + await r.text());
  return r.json();
}

function svgEl(name, attrs) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', name);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  return e;
}

// series: [{name, points: [[x_ms, y], ...]}]; draws lines with a legend.
function lineChart(el, series, fmt) {
  while (el.firstChild) el.removeChild(el.firstChild);
  const W = 480, H = 180, L = 64, R = 10, T = 10, B = 24;
  const svg = svgEl('svg', {viewBox: `0 0 ${W} ${H}`, role: 'img'});
  const pts = series.flatMap((s) => s.points);
  if (pts.length === 0) {
    const t = svgEl('text', {x: W / 2, y: H / 2, 'text-anchor': 'middle'});
    t.textContent = 'no data yet';
    svg.appendChild(t);
    el.appendChild(svg);
    return;
  }
  let x0 = Math.min(...pts.map((p) => p[0])), x1 = Math.max(...pts.map((p) => p[0]));
  let y1 = Math.max(...pts.map((p) => p[1]));
  if (x1 === x0) { x0 -= 60000; x1 += 60000; }
  if (!(y1 > 0)) y1 = 1;
  const X = (x) => L + (x - x0) / (x1 - x0) * (W - L - R);
  const Y = (y) => H - B - y / y1 * (H - T - B);
  svg.appendChild(svgEl('line', {x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#ccd'}));
  svg.appendChild(svgEl('line', {x1: L, y1: T, x2: L, y2: H - B, stroke: '#ccd'}));
  for (const [v, y] of [[0, Y(0)], [y1 / 2, Y(y1 / 2)], [y1, Y(y1)]]) {
    const t = svgEl('text', {x: L - 4, y: y + 3, 'text-anchor': 'end'});
    t.textContent = fmt(v);
    svg.appendChild(t);
  }
  for (const [x, anchor] of [[x0, 'start'], [x1, 'end']]) {
    const t = svgEl('text', {x: X(x), y: H - 6, 'text-anchor': anchor});
    t.textContent = new Date(x).toLocaleString();
    svg.appendChild(t);
  }
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const d = s.points.map((p, j) => (j ? 'L' : 'M') + X(p[0]).toFixed(1) + ' ' + Y(p[1]).toFixed(1));
    svg.appendChild(svgEl('path', {d: d.join(' '), fill: 'none', stroke: color, 'stroke-width': 2}));
    for (const p of s.points) {
      svg.appendChild(svgEl('circle', {cx: X(p[0]), cy: Y(p[1]), r: 2.5, fill: color}));
    }
    const t = svgEl('text', {x: L + 8 + i * 110, y: T + 10, fill: color});
    t.textContent = s.name;
    svg.appendChild(t);
  });
  el.appendChild(svg);
}

function renderStatus(s) {
  $('summary').textContent = `server ${s.version}, up ${Math.round(num(s.uptime_seconds) / 60)} min, ` +
      `${s.agents.length} agents, ${num(s.snapshots)} snapshots, ` + (s.healthy ? 'healthy' : 'PROBLEMS');
  $('problems').hidden = s.problems.length === 0;
  const list = $('problem-list');
  while (list.firstChild) list.removeChild(list.firstChild);
  for (const p of s.problems) { const li = document.createElement('li'); li.textContent = p; list.appendChild(li); }

  const agents = $('agents').tBodies[0];
  clear(agents);
  for (const a of s.agents) {
    const row = agents.insertRow();
    row.dataset.agent = a.name;
    const name = cell(row, a.name, 'link');
    name.addEventListener('click', () => showSnapshots(a.name));
    cell(row, a.tenant);
    cell(row, a.online ? 'online' : 'offline', a.online ? 'ok' : 'dim');
    cell(row, age(a.last_backup_unix_ms));
    cell(row, a.rpo_violated ? 'violated' : (a.policies.length ? 'met' : 'no policy'),
         a.rpo_violated ? 'bad' : 'ok');
    cell(row, num(a.pending_files) ? `${num(a.pending_files)} files, ${bytes(a.pending_bytes)}` : '—');
    cell(row, a.policies.join(', '));
  }

  const jobs = $('jobs').tBodies[0];
  clear(jobs);
  const seen = new Set();
  for (const j of [...s.running_jobs, ...s.recent_jobs]) {
    if (seen.has(j.id)) continue;
    seen.add(j.id);
    const row = jobs.insertRow();
    cell(row, j.id);
    cell(row, short(j.kind, 'JOB_KIND_'));
    cell(row, j.agent);
    const state = short(j.state, 'JOB_STATE_');
    cell(row, state, state === 'failed' ? 'bad' : state === 'succeeded' ? 'ok' : '');
    const p = j.progress || {};
    const td = row.insertCell();
    const total = num(p.bytes_total);
    if (total > 0 && state === 'running') {
      const bar = document.createElement('span');
      bar.className = 'bar';
      const fill = document.createElement('span');
      fill.style.width = Math.min(100, 100 * num(p.bytes_done) / total).toFixed(0) + '%';
      bar.appendChild(fill);
      td.appendChild(bar);
      td.appendChild(document.createTextNode(' ' + bytes(p.bytes_done) + ' / ' + bytes(total)));
    } else {
      td.textContent = `${num(p.files_done)} files, ${bytes(p.bytes_done)}`;
    }
    cell(row, when(j.started_unix_ms || j.created_unix_ms));
  }

  const tiers = $('tiers').tBodies[0];
  clear(tiers);
  for (const t of s.tiers) {
    const row = tiers.insertRow();
    cell(row, t.name + (t.new_packs ? ' (new packs)' : ''));
    cell(row, t.kind);
    cell(row, t.down ? 'DOWN: ' + t.last_error : 'up', t.down ? 'bad' : 'ok');
    cell(row, bytes(t.used_bytes));
    cell(row, t.kind === 'local' ? bytes(t.free_bytes) : '—');
    cell(row, num(t.packs));
  }
  $('totals').textContent = `${bytes(s.logical_bytes)} backed up, ${bytes(s.unique_bytes)} unique, ` +
      `${bytes(s.stored_bytes)} stored (dedup ${num(s.dedup_ratio).toFixed(2)}×, ` +
      `compression ${num(s.compression_ratio).toFixed(2)}×)`;
}

function renderHistory(h) {
  const tiers = {};
  for (const s of h.samples) {
    for (const name in s.tiers) (tiers[name] = tiers[name] || []).push([s.unix_ms, s.tiers[name]]);
  }
  lineChart($('plot-storage'), Object.keys(tiers).map((n) => ({name: n, points: tiers[n]})), bytes);
  const dedup = [], comp = [];
  for (const s of h.samples) {
    if (s.unique_bytes > 0) dedup.push([s.unix_ms, s.logical_bytes / s.unique_bytes]);
    if (s.stored_bytes > 0) comp.push([s.unix_ms, s.unique_bytes / s.stored_bytes]);
  }
  lineChart($('plot-ratios'), [{name: 'dedup', points: dedup}, {name: 'compression', points: comp}],
            (v) => v.toFixed(1) + '×');
}

function renderThroughput(snaps) {
  const byAgent = {};
  for (const s of snaps.snapshots) {
    const st = s.stats || {};
    const secs = Number(st.seconds || 0);
    if (secs <= 0) continue;
    (byAgent[s.agent] = byAgent[s.agent] || []).push([num(s.created_unix_ms), num(st.bytes_read) / secs]);
  }
  const series = Object.keys(byAgent).slice(0, 6).map((a) => ({
    name: a, points: byAgent[a].sort((p, q) => p[0] - q[0])}));
  lineChart($('plot-throughput'), series, (v) => bytes(v) + '/s');
}

async function showSnapshots(agent) {
  const data = await api('/api/snapshots?limit=100&agent=' + encodeURIComponent(agent));
  $('snapshots-section').hidden = false;
  $('snapshots-title').textContent = 'Snapshots of ' + agent;
  const body = $('snapshots').tBodies[0];
  clear(body);
  for (const s of data.snapshots) {
    const row = body.insertRow();
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.value = s.id;
    box.addEventListener('change', updateDiffButton);
    row.insertCell().appendChild(box);
    const id = cell(row, s.id, 'link');
    id.addEventListener('click', () => browse(s.id, '', ''));
    cell(row, short(s.level, 'BACKUP_LEVEL_'));
    cell(row, when(s.created_unix_ms));
    cell(row, (s.roots || []).join(', '));
    const st = s.stats || {};
    cell(row, num(st.files));
    cell(row, bytes(st.bytes_scanned));
    cell(row, bytes(st.bytes_uploaded));
  }
  updateDiffButton();
}

function ticked() {
  return [...document.querySelectorAll('#snapshots input:checked')].map((b) => b.value);
}
function updateDiffButton() { $('diff-button').disabled = ticked().length !== 2; }

async function browse(snapshot, path, page) {
  const q = `/api/ls?snapshot=${encodeURIComponent(snapshot)}&path=${encodeURIComponent(path)}` +
      (page ? '&page=' + encodeURIComponent(page) : '');
  const data = await api(q);
  $('browser-section').hidden = false;
  $('browser-title').textContent = `Browse ${snapshot}: /${path}`;
  const body = $('browser').tBodies[0];
  if (!page) {
    clear(body);
    if (path) {
      const up = body.insertRow();
      const parent = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
      cell(up, '..', 'link').addEventListener('click', () => browse(snapshot, parent, ''));
      cell(up, 'dir'); cell(up, '');
    }
  }
  for (const f of data.files) {
    const row = body.insertRow();
    const e = f.entry || {};
    const kind = short(e.type, 'ENTRY_TYPE_');
    const name = cell(row, f.path, kind === 'directory' ? 'link' : '');
    if (kind === 'directory') name.addEventListener('click', () => browse(snapshot, f.path, ''));
    cell(row, kind);
    cell(row, kind === 'directory' ? '' : bytes(e.size));
  }
  const more = $('more-button');
  more.hidden = !data.next_page_token;
  more.onclick = () => browse(snapshot, path, data.next_page_token);
}

async function diff() {
  const [a, b] = ticked();
  const data = await api(`/api/diff?from=${encodeURIComponent(a)}&to=${encodeURIComponent(b)}`);
  $('diff-section').hidden = false;
  $('diff-title').textContent = `Diff ${a} → ${b}`;
  const body = $('diff').tBodies[0];
  clear(body);
  for (const c of data.changes || []) {
    const row = body.insertRow();
    cell(row, short(c.kind, 'CHANGE_KIND_'));
    cell(row, c.path);
  }
}

async function refresh() {
  try {
    const [status, history, snaps] = await Promise.all(
        [api('/api/status'), api('/api/history'), api('/api/snapshots?limit=500')]);
    $('signin').hidden = true;
    renderStatus(status);
    renderHistory(history);
    renderThroughput(snaps);
    document.body.dataset.loaded = 'true';
  } catch (e) {
    $('summary').textContent = String(e.message || e);
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('diff-button').addEventListener('click', diff);
  refresh();
  setInterval(refresh, 10000);
});
)js";

}  // namespace

std::optional<PageAsset> FindPageAsset(absl::string_view path) {
  if (path == "/" || path == "/index.html") return PageAsset{"text/html; charset=utf-8", kHtml};
  if (path == "/app.js") return PageAsset{"text/javascript; charset=utf-8", kJs};
  if (path == "/app.css") return PageAsset{"text/css; charset=utf-8", kCss};
  return std::nullopt;
}

}  // namespace cairn
