// lagmon dashboard: polls api/state and redraws. No dependencies.
"use strict";

const ORDER = { OK: 0, WARN: 1, ERR: 2, STALL: 3, STOP: 4 };
const PALETTE = ["#58a6ff", "#3fb950", "#d29922", "#db61a2", "#a371f7", "#39c5cf", "#f0883e", "#8b949e"];
const state = { history: {}, report: null, since: 0, refresh: 2000, slo: 0, failures: 0 };

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

function fmtInt(n) {
  if (n == null) return "–";
  const a = Math.abs(n);
  if (a >= 1e9) return (n / 1e9).toFixed(1) + "G";
  if (a >= 1e6) return (n / 1e6).toFixed(1) + "M";
  if (a >= 1e4) return (n / 1e3).toFixed(1) + "k";
  return Math.round(n).toLocaleString("en-US");
}
function fmtRate(r) {
  if (!r) return "0";
  if (Number.isInteger(r)) return fmtInt(r);
  if (r >= 100) return fmtInt(r);
  return r >= 10 ? r.toFixed(1) : r.toFixed(2);
}
function fmtSecs(s) {
  if (s == null) return "–";
  if (s === 0) return "0 s";
  if (s < 10) return s.toFixed(1) + " s";
  if (s < 60) return Math.round(s) + " s";
  if (s < 3600) return Math.floor(s / 60) + "m " + String(Math.round(s % 60)).padStart(2, "0") + "s";
  return Math.floor(s / 3600) + "h " + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + "m";
}
function fmtEstimate(e) {
  if (!e) return "–";
  if (e.known) return fmtSecs(e.seconds);
  if (e.atLeast) return "> " + fmtSecs(e.atLeast);
  return "unknown";
}
function fmtTime(ms) {
  const d = new Date(ms);
  return d.toTimeString().slice(0, 8);
}

// chart draws an SVG line chart. series: [{name, color, points: [[t, v|null]]}].
function chart(title, series, opts) {
  const W = 480, H = 170, L = 46, R = 10, T = 8, B = 22;
  const pts = series.flatMap((s) => s.points.filter((p) => p[1] != null));
  let body;
  const legend = series.map((s) => `<span><i style="background:${s.color}"></i>${esc(s.name)}</span>`).join("");
  if (pts.length < 2) {
    body = `<text class="wait" x="${W / 2}" y="${H / 2}" text-anchor="middle">collecting samples…</text>`;
  } else {
    const t0 = Math.min(...series.flatMap((s) => s.points.map((p) => p[0])));
    const t1 = Math.max(...series.flatMap((s) => s.points.map((p) => p[0])));
    const top = Math.max(...pts.map((p) => p[1]), opts.ref || 0) * 1.05;
    const step = top <= 0 ? 0.25 : niceStep(top / 4);
    const vmax = step * 4;
    const x = (t) => L + ((t - t0) / Math.max(1, t1 - t0)) * (W - L - R);
    const y = (v) => T + (1 - v / vmax) * (H - T - B);
    const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => {
      const v = vmax * f;
      return `<line class="grid" x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}"/>` +
        `<text class="axis" x="${L - 6}" y="${y(v) + 3}" text-anchor="end">${opts.fmt(v)}</text>`;
    }).join("");
    const xl = `<text class="axis" x="${L}" y="${H - 6}">${fmtTime(t0)}</text>` +
      `<text class="axis" x="${W - R}" y="${H - 6}" text-anchor="end">${fmtTime(t1)}</text>`;
    const ref = opts.ref ? `<line class="ref" x1="${L}" x2="${W - R}" y1="${y(opts.ref)}" y2="${y(opts.ref)}"><title>SLO ${fmtSecs(opts.ref)}</title></line>` : "";
    const lines = series.map((s) => {
      // Unknown values (null) break the line instead of drawing a guess.
      let d = "", pen = false, n = 0, area = "", first = null, last = null;
      for (const [t, v] of s.points) {
        if (v == null) { pen = false; continue; }
        d += (pen ? "L" : "M") + x(t).toFixed(1) + "," + y(v).toFixed(1);
        pen = true; n++;
        if (first == null) first = t;
        last = t;
      }
      if (series.length === 1 && n > 1 && !s.points.some((p) => p[1] == null)) {
        area = `<path class="area" fill="${s.color}" d="${d}L${x(last).toFixed(1)},${y(0)}L${x(first).toFixed(1)},${y(0)}Z"/>`;
      }
      return `${area}<path class="line" stroke="${s.color}" data-series="${esc(s.name)}" data-points="${n}" d="${d}"><title>${esc(s.name)}</title></path>`;
    }).join("");
    body = grid + ref + lines + xl;
  }
  return `<div class="chart" data-chart="${esc(title)}"><h3>${esc(title)}</h3>` +
    `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">${body}</svg>` +
    `<div class="legend">${legend}</div></div>`;
}
// niceStep rounds a grid step up to 1, 2, 2.5 or 5 times a power of ten.
function niceStep(v) {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function kpi(label, value, hint, bad) {
  return `<div class="kpi${bad ? " bad" : ""}"><div class="label">${esc(label)}</div>` +
    `<div class="value">${esc(value)}</div><div class="hint">${hint}</div></div>`;
}

function groupCard(g, hist) {
  const st = g.verdict.status;
  const topics = g.topics.map((t) => t.topic);
  const color = (i) => PALETTE[i % PALETTE.length];
  const series = (field) => topics.map((name, i) => ({
    name, color: color(i), points: hist.map((p) => [p.t, p.topics[name] ? p.topics[name][field] : null]),
  }));
  const total = (field) => hist.map((p) => [p.t, p.topics[""] ? p.topics[""][field] : null]);
  const sum = (f) => g.topics.reduce((a, t) => a + (t[f] || 0), 0);
  const produce = sum("produceRate"), retried = sum("retried"), dlq = sum("deadLettered");
  const retryRate = sum("retryRate"), dlqRate = sum("dlqRate");
  const members = g.members || [];

  const memberRows = members.length ? members.map((m) =>
    `<tr><td>${esc(m.clientId || m.id)}</td><td class="muted">${esc(m.host)}</td><td class="num">${m.partitions}</td>` +
    `<td>${(m.assigned || []).map((a) => `<span class="tag">${esc(a)}</span>`).join("")}</td></tr>`).join("")
    : `<tr><td colspan="4" class="muted">no active members</td></tr>`;
  const partRows = g.topics.flatMap((t) => t.partitions.map((p) => {
    const has = p.committed >= 0;
    const note = p.note ? ` <span class="note" title="${esc(p.note)}">*</span>` : "";
    const secs = has ? fmtEstimate(p.seconds) : "–";
    const secTitle = p.seconds && !p.seconds.known && p.seconds.reason ? ` title="${esc(p.seconds.reason)}"` : "";
    return `<tr><td>${esc(t.topic)}</td><td class="num">${p.partition}</td><td class="num">${has ? fmtInt(p.committed) : "–"}</td>` +
      `<td class="num">${fmtInt(p.end)}</td><td class="num" data-lag="${p.lag}">${has ? p.lag.toLocaleString("en-US") : "–"}${note}</td>` +
      `<td class="num"${secTitle}>${secs}</td><td class="muted">${esc(p.owner || "unassigned")}</td></tr>`;
  })).join("");

  return `<section class="group s-${st}" data-group="${esc(g.name)}" data-status="${st}">
  <div class="ghead"><h2>${esc(g.name)}</h2><span class="badge s-${st}">${st}</span>
    <span class="state">${esc(g.state || "")} · ${members.length} member${members.length === 1 ? "" : "s"} · ${topics.map(esc).join(", ")}</span></div>
  <p class="reason">${esc(g.verdict.reason)}</p>
  <div class="kpis">
    ${kpi("Lag", fmtInt(g.lag), "records behind")}
    ${kpi("Behind", fmtEstimate(g.maxSeconds), g.maxSeconds && !g.maxSeconds.known && g.maxSeconds.reason ? esc(g.maxSeconds.reason) : "oldest unread record", state.slo && g.maxSeconds && (g.maxSeconds.seconds > state.slo || g.maxSeconds.atLeast > state.slo))}
    ${kpi("Consume", fmtRate(g.consumeRate), "records/s committed")}
    ${kpi("Produce", fmtRate(produce), "records/s into its topics")}
    ${kpi("Retried", fmtInt(retried), fmtRate(retryRate) + "/s to retry topics")}
    ${kpi("Dead-lettered", fmtInt(dlq), fmtRate(dlqRate) + "/s to DLQ", dlqRate > 0)}
  </div>
  <div class="charts">
    ${chart("Lag (records)", series("lag"), { fmt: fmtInt })}
    ${chart("Lag (seconds)", series("seconds"), { fmt: (v) => fmtSecs(v), ref: state.slo })}
    ${chart("Throughput (records/s)", [
      { name: "produce", color: "#58a6ff", points: total("produce") },
      { name: "consume", color: "#3fb950", points: total("consume") },
    ], { fmt: fmtRate })}
  </div>
  <div class="tables">
    <div class="box"><h3>Partitions per member</h3><table><thead><tr><th>Member</th><th>Host</th><th class="num">#</th><th>Assigned</th></tr></thead><tbody>${memberRows}</tbody></table></div>
    <div class="box"><h3>Partitions</h3><table><thead><tr><th>Topic</th><th class="num">P</th><th class="num">Committed</th><th class="num">End</th><th class="num">Lag</th><th class="num">Behind</th><th>Owner</th></tr></thead><tbody>${partRows}</tbody></table></div>
  </div>
</section>`;
}

function render() {
  const r = state.report;
  const main = document.getElementById("groups");
  const err = document.getElementById("error");
  if (r && r.error) { err.hidden = false; err.textContent = "Last read of the cluster failed: " + r.error; } else { err.hidden = true; }
  if (!r || !r.time || r.time.startsWith("0001")) return;
  const groups = (r.groups || []).slice().sort((a, b) => (ORDER[b.verdict.status] - ORDER[a.verdict.status]) || a.name.localeCompare(b.name));
  const counts = {};
  for (const g of groups) counts[g.verdict.status] = (counts[g.verdict.status] || 0) + 1;
  document.getElementById("summary").innerHTML = `<span class="pill">groups<b>${groups.length}</b></span>` +
    Object.keys(ORDER).filter((s) => counts[s]).map((s) => `<span class="pill s-${s}" style="border-color:var(--${s.toLowerCase()})">${s}<b>${counts[s]}</b></span>`).join("");
  document.getElementById("updated").textContent = "updated " + fmtTime(Date.parse(r.time));
  main.innerHTML = groups.length ? groups.map((g) => groupCard(g, state.history[g.name] || [])).join("")
    : `<p class="empty">No consumer groups found.</p>`;
}

async function poll() {
  const dot = document.getElementById("live-dot");
  try {
    const res = await fetch("api/state?since=" + state.since, { cache: "no-store" });
    if (!res.ok) throw new Error(res.status + " " + res.statusText);
    const s = await res.json();
    state.refresh = s.refreshMillis || state.refresh;
    state.slo = s.sloSeconds || 0;
    state.report = s.report;
    const live = new Set((s.report.groups || []).map((g) => g.name));
    for (const name of Object.keys(state.history)) if (!live.has(name)) delete state.history[name];
    for (const [name, pts] of Object.entries(s.history || {})) {
      if (!pts) continue;
      const h = (state.history[name] = state.history[name] || []);
      for (const p of pts) if (!h.length || p.t > h[h.length - 1].t) h.push(p);
      if (h.length > 720) h.splice(0, h.length - 720);
      if (h.length) state.since = Math.max(state.since, h[h.length - 1].t);
    }
    dot.className = "dot on";
    render();
  } catch (e) {
    dot.className = "dot off";
    document.getElementById("updated").textContent = "disconnected: " + e.message;
  }
  setTimeout(poll, state.refresh);
}
poll();
