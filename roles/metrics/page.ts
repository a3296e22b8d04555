/**
 * The live page a role serves at `/`: plain HTML, CSS and a script, no
 * download, that polls `/status` every 500 ms and shows each role of the
 * process: its gauges, rates over the last seconds (from the counters'
 * deltas between polls), the members and their lag, its counters, and, on
 * the sequencer's page, a message-sequence chart of the latest orders in
 * the look of the demo's chart (`tasks/_chart_svg.ts`). Every string from
 * the network is escaped before it goes into the DOM.
 *
 * @module
 */

/** The page: a template literal, so its script has no backticks, `${` or backslashes. */
export const LIVE_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>zmq group: live</title>
<meta name="viewport" content="width=device-width">
<style>
body{font:14px 'DejaVu Sans',Verdana,Arial,sans-serif;margin:1.5em;color:#222}
h1{font-size:20px;margin:0 0 .3em}h2{font-size:17px;margin:.8em 0 .3em}
#state.ok{color:#1a7f37}#state.bad{color:#c62828;font-weight:bold}
.stale{opacity:.5}section{border-top:1px solid #ddd;padding-bottom:.6em}
.tiles{display:flex;flex-wrap:wrap;gap:8px;margin:.4em 0}
.tile{border:1px solid #ccc;border-radius:4px;padding:3px 10px;min-width:80px;font-size:12px}
.tile b{display:block;font:bold 18px 'DejaVu Sans Mono',Menlo,Consolas,monospace}
.tile.rate{border-color:#1f6fd1}.tile.rate b{color:#1f6fd1}
table{border-collapse:collapse;margin:.3em 0}
td,th{padding:2px 10px;text-align:right;font-variant-numeric:tabular-nums}
th,td.id{text-align:left}td.id{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace}
.lagbar{display:inline-block;height:8px;background:#e08a00}
.note,.config,.counters{color:#555}.note{font-style:italic}.config,.counters{font-size:12px}
.failure{color:#c62828;font-weight:bold}
svg text{font-family:'DejaVu Sans',Verdana,Arial,sans-serif;font-size:12px;fill:#222}
.msc-label,.msc-g,.msc-lane-id{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace}
.msc-heading{font-weight:bold;font-size:13px}
.msc-lane{stroke:#b0b0b0;stroke-width:1.2}.msc-seq-lane{stroke:#333;stroke-width:2.5}
.msc-fan{stroke:#555;stroke-width:1.2}.msc-ok{fill:#1a9e3a;stroke:#fff;stroke-width:1}
.msc-missing{fill:#fff;stroke:#888;stroke-width:1.5;stroke-dasharray:2 2}
.msc-g{fill:#555;text-anchor:end}.msc-lane-id{text-anchor:middle;font-weight:bold}
</style></head>
<body>
<h1>zmq group: live</h1>
<p id="state">connecting to /status...</p>
<div id="roles"></div>
<script>
"use strict";
const POLL_MS = 500;
const WINDOW_S = 5;
const RATES = [["delivered", "deliveries/s"], ["ordered", "orders/s"],
  ["forwarded", "forwarded/s"], ["sent", "multicasts sent/s"]];
const COLOURS = ["#1f6fd1", "#e08a00", "#8a4fc7", "#00a3b8", "#b5651d", "#d14fa0", "#4a5dbf", "#6b7d00"];
const UNKNOWN = "#777777";
const ROW = 32, GUTTER = 56, MONO = 7.3;
const samples = new Map();
let pid = null;

function esc(value) {
  return String(value).replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");
}
function num(value) {
  if (value === null || value === undefined) return "–";
  return typeof value === "number" ? esc(Number.isInteger(value) ? value : value.toFixed(1)) : esc(value);
}
function obj(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? value : {};
}
function list(value) {
  return Array.isArray(value) ? value : [];
}
function clip(text, max) {
  const chars = Array.from(text);
  return chars.length <= max ? text : chars.slice(0, max - 1).join("") + "…";
}
function byId(a, b) {
  return a.localeCompare(b, "en", { numeric: true });
}
function tile(name, value, extra) {
  return '<div class="tile' + (extra || "") + '">' + esc(name) + "<b>" + value + "</b></div>";
}

/** Rates of a role's counters over about WINDOW_S, from the samples of the polls. */
function ratesOf(key, t, counters) {
  let kept = samples.get(key) || [];
  const previous = kept[kept.length - 1];
  if (previous !== undefined && t <= previous.t) kept = previous.t === t ? kept.slice(0, -1) : [];
  kept.push({ t, counters });
  while (kept.length > 2 && t - kept[1].t >= WINDOW_S) kept.shift();
  samples.set(key, kept);
  const first = kept[0];
  const rates = {};
  for (const [name] of RATES) {
    const now = counters[name];
    if (typeof now !== "number") continue;
    const then = first.counters[name];
    rates[name] = kept.length < 2 || typeof then !== "number" || now < then
      ? null : (now - then) / (t - first.t);
  }
  return rates;
}

function membersHtml(group, gauges) {
  const members = list(group.members);
  let html = "";
  if (members.some((m) => m !== null && typeof m === "object")) {
    const lags = members.map((m) => Number(obj(m).lag) || 0);
    const most = Math.max(1, ...lags);
    html += '<table class="members"><tr><th>member</th><th>delivered</th><th>lag (orders)</th><th></th></tr>' +
      members.map((m, i) => {
        const member = obj(m);
        return '<tr><td class="id">' + esc(member.id) + "</td><td>" +
          (member.delivered === null ? "not reported yet" : num(member.delivered)) + "</td><td>" +
          num(member.lag) + '</td><td><span class="lagbar" style="width:' +
          Math.round(80 * lags[i] / most) + 'px"></span></td></tr>';
      }).join("") + "</table>";
  } else if (members.length > 0) {
    html += "<p>members in view " + num(group.view) + ": " +
      members.map((id) => '<span class="id">' + esc(id) + "</span>").join(", ") + "</p>";
  }
  if (typeof gauges.lag_orders === "number") {
    html += "<p>own lag: <b>" + num(gauges.lag_orders) + "</b> orders (delivered " +
      num(gauges.delivered_order) + " of " + num(gauges.highest_order) + ")</p>";
  }
  if (Array.isArray(group.participants)) {
    html += "<p>participants: " + (group.participants.map(esc).join(", ") || "none yet") +
      (list(group.evicted).length > 0 ? "; evicted: " + group.evicted.map(esc).join(", ") : "") + "</p>";
  }
  if (typeof group.failure === "string") html += '<p class="failure">failed: ' + esc(group.failure) + "</p>";
  return html;
}

/** The latest orders as the demo draws them: a lane per participant, sender to sequencer. */
function chartSvg(recent, members) {
  const orders = recent.filter((o) => Number.isFinite(obj(o).seq));
  const delivered = new Map();
  const lanes = [];
  const lane = (id) => {
    if (typeof id === "string" && id !== "" && !lanes.includes(id)) lanes.push(id);
  };
  for (const m of members) {
    const member = obj(m);
    lane(typeof m === "string" ? m : member.id);
    if (typeof member.delivered === "number") delivered.set(member.id, member.delivered);
  }
  for (const o of orders) lane(o.sender);
  lanes.sort(byId);
  const longest = Math.max(9, ...lanes.map((id) => Array.from(clip(id, 20)).length));
  const spacing = Math.min(200, Math.max(112, Math.ceil(longest * MONO) + 36));
  const seqX = GUTTER + 56;
  const x = (i) => seqX + spacing * (i + 1);
  const lastX = lanes.length > 0 ? x(lanes.length - 1) : seqX;
  const labelX = lastX + 36, headerTop = 34, top = headerTop + 40;
  const bottom = top + Math.max(1, orders.length) * ROW + 8;
  const width = Math.max(480, Math.ceil(labelX + 28 * MONO + 24));
  const colour = (id) => lanes.includes(id) ? COLOURS[lanes.indexOf(id) % COLOURS.length] : UNKNOWN;
  const header = (cx, id, sequencer) => {
    const box = Math.ceil(Array.from(clip(id, 20)).length * MONO) + 20;
    return '<rect x="' + (cx - box / 2) + '" y="' + headerTop + '" width="' + box +
      '" height="24" rx="4" fill="' + (sequencer ? "#333" : "#fff") + '" stroke="' +
      (sequencer ? "#333" : colour(id)) + '" stroke-width="2"/><text x="' + cx + '" y="' +
      (headerTop + 17) + '" class="msc-lane-id"' + (sequencer ? ' style="fill:#fff"' : "") +
      "><title>" + esc(id) + "</title>" + esc(clip(id, 20)) + "</text>";
  };
  const first = orders[0], last = orders[orders.length - 1];
  const out = ['<svg xmlns="http://www.w3.org/2000/svg" class="msc" width="' + width + '" height="' +
    (bottom + 8) + '" viewBox="0 0 ' + width + " " + (bottom + 8) + '" role="img" aria-label="latest orders">',
    '<rect width="' + width + '" height="' + (bottom + 8) + '" fill="#fff"/>',
    '<text x="16" y="20" class="msc-heading">' + (orders.length === 0 ? "No orders yet"
      : "The latest " + orders.length + " orders, G=" + num(first.seq) + ".." + num(last.seq) +
        ", newest at the bottom") + "</text>",
    '<text x="' + (GUTTER - 12) + '" y="' + (headerTop + 17) + '" class="msc-g">G</text>',
    '<line x1="' + seqX + '" y1="' + (headerTop + 24) + '" x2="' + seqX + '" y2="' + bottom + '" class="msc-seq-lane"/>'];
  lanes.forEach((id, i) => out.push('<line x1="' + x(i) + '" y1="' + (headerTop + 24) + '" x2="' +
    x(i) + '" y2="' + bottom + '" class="msc-lane"/>'));
  out.push(header(seqX, "sequencer", true), ...lanes.map((id, i) => header(x(i), id, false)));
  orders.forEach((o, row) => {
    const g = o.seq, sender = typeof o.sender === "string" ? o.sender : "";
    const rowTop = top + row * ROW, y = rowTop + 8, fanY = rowTop + 19, c = colour(sender);
    out.push('<g data-g="' + esc(g) + '" data-sender="' + esc(sender) + '">',
      '<text x="' + (GUTTER - 12) + '" y="' + (fanY + 4) + '" class="msc-g">' + num(g) + "</text>");
    if (lanes.includes(sender)) {
      const sx = x(lanes.indexOf(sender));
      out.push('<line x1="' + sx + '" y1="' + y + '" x2="' + (seqX + 8) + '" y2="' + y + '" stroke="' + c +
        '" stroke-width="1.8"/><path d="M' + (seqX + 2) + " " + y + "l9-4v8zM" + sx + " " + (y - 3) +
        'v6" stroke="' + c + '" fill="' + c + '"/>');
    }
    if (lanes.length > 0) {
      out.push('<line x1="' + seqX + '" y1="' + fanY + '" x2="' + (lastX - 10) + '" y2="' + fanY +
        '" class="msc-fan"/><path d="' + lanes.map((id, i) => "M" + (x(i) - 6) + " " + fanY + "l-9-4v8z").join("") +
        '" fill="#555"/>');
    }
    lanes.forEach((id, i) => {
      if (!delivered.has(id)) return;
      const ok = delivered.get(id) >= g;
      out.push('<circle cx="' + x(i) + '" cy="' + fanY + '" r="5" class="' + (ok ? "msc-ok" : "msc-missing") +
        '"><title>' + esc(id + (ok ? " delivered G=" : " has not reported G=") + g) + "</title></circle>");
    });
    out.push('<text x="' + labelX + '" y="' + (fanY + 4) + '" class="msc-label" style="fill:' + c + '">' +
      esc(clip(g + ": " + (sender || "(sender unknown)"), 28)) + "</text>", "</g>");
  });
  out.push("</svg>");
  return out.join("");
}

function roleHtml(role, t, chartElsewhere) {
  const counters = obj(role.counters), gauges = obj(role.gauges), group = obj(role.group);
  const rates = ratesOf(String(role.role) + "/" + String(role.id), t, counters);
  const config = Object.entries(obj(role.config)).map(([k, v]) =>
    esc(k) + " " + esc(v !== null && typeof v === "object" ? JSON.stringify(v) : v)).join(" · ");
  let html = '<section class="role" data-role="' + esc(role.role) + '" data-id="' + esc(role.id) + '">' +
    "<h2>" + esc(role.role) + " " + esc(role.id) + "</h2>" + '<p class="config">' + config + "</p>" +
    '<div class="tiles">' +
    RATES.filter(([name]) => name in rates).map(([name, label]) => tile(label, num(rates[name]), " rate")).join("") +
    Object.entries(gauges).map(([name, value]) => tile(name.replaceAll("_", " "), num(value))).join("") +
    "</div>" + membersHtml(group, gauges) + '<p class="counters">counters: ' +
    Object.entries(counters).map(([name, value]) => esc(name) + " <b>" + num(value) + "</b>").join(" · ") +
    "</p>";
  if (Array.isArray(role.recent)) html += chartSvg(role.recent, list(group.members));
  else if (chartElsewhere) {
    html += '<p class="note">The chart of the latest orders is on the sequencer&#39;s page ' +
      "(or the broker&#39;s, when the sequencer runs inside it).</p>";
  }
  return html + "</section>";
}

function show(status) {
  const roles = list(status.roles).map(obj);
  if (status.pid !== pid) samples.clear();
  pid = status.pid;
  const t = Number.isFinite(status.uptimeSeconds) ? status.uptimeSeconds : performance.now() / 1000;
  const chartElsewhere = !roles.some((r) => Array.isArray(r.recent));
  const element = document.getElementById("roles");
  element.innerHTML = roles.map((r) => roleHtml(r, t, chartElsewhere)).join("") ||
    '<p class="note">No role serves here yet.</p>';
  element.classList.remove("stale");
  setState("ok", "live: pid " + status.pid + ", up " + t.toFixed(1) + " s, " +
    roles.map((r) => r.role + " " + r.id).join(", ") + "; updated " + new Date().toLocaleTimeString());
}

function setState(kind, text) {
  const state = document.getElementById("state");
  state.className = kind;
  state.textContent = text;
}

async function tick() {
  let status;
  try {
    const response = await fetch("/status", { cache: "no-store", signal: AbortSignal.timeout(3000) });
    if (!response.ok) throw new Error("HTTP " + response.status);
    status = obj(await response.json());
  } catch (error) {
    setState("bad", "not reachable (" + (error instanceof Error ? error.message : error) +
      "): retrying every " + POLL_MS / 1000 + " s" + (pid === null ? "" : "; below is what it said last"));
    document.getElementById("roles").classList.add("stale");
    setTimeout(tick, POLL_MS);
    return;
  }
  try {
    show(status);
  } catch (error) {
    setState("bad", "cannot show the status: " + (error instanceof Error ? error.message : error));
  }
  setTimeout(tick, POLL_MS);
}
tick();
</script></body></html>
`;
