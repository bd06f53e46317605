// Tether dashboard: refreshes the sections marked data-live and streams the live tap.
// Our own code, no dependencies. Everything shown comes from the same origin.
"use strict";

const REFRESH_MS = 3000;
const TAP_MAX_ROWS = 200;

function refreshLive() {
  const live = document.querySelectorAll("[data-live][id]");
  if (!live.length) return;
  setInterval(async () => {
    if (document.hidden) return;
    try {
      const reply = await fetch(location.href, { headers: { "x-tether-refresh": "1" } });
      if (!reply.ok) return;
      const fresh = new DOMParser().parseFromString(await reply.text(), "text/html");
      for (const el of document.querySelectorAll("[data-live][id]")) {
        const next = fresh.getElementById(el.id);
        if (next && next.innerHTML !== el.innerHTML) el.innerHTML = next.innerHTML;
      }
    } catch (err) {
      // the control plane restarted or is away: keep what is shown, try again later
    }
  }, REFRESH_MS);
}

function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

function clock(at) {
  return new Date(at * 1000).toISOString().slice(11, 19);
}

function tapRow(r) {
  const tr = document.createElement("tr");
  tr.className = "tap-line fresh s" + String(r.status).charAt(0);
  tr.dataset.status = String(r.status);
  tr.dataset.path = r.path;
  cell(tr, clock(r.at));
  cell(tr, r.reporter === "source" ? "outbound" : "inbound");
  cell(tr, r.method);
  cell(tr, r.path.length > 60 ? r.path.slice(0, 59) + "…" : r.path);
  cell(tr, String(r.status), "status");
  cell(tr, r.flags || "-", "flags");
  cell(tr, r.duration_ms.toFixed(1) + " ms");
  cell(tr, r.source_workload + " → " + r.destination_workload);
  const td = cell(tr, "");
  if (r.trace_id) {
    const a = document.createElement("a");
    a.href = "/traces/" + encodeURIComponent(r.trace_id);
    a.textContent = r.trace_id.slice(0, 8) + "…";
    td.appendChild(a);
  }
  const detail = document.createElement("tr");
  detail.className = "detail";
  detail.hidden = true;
  const d = document.createElement("td");
  d.colSpan = 9;
  const facts = [
    ["authority", r.authority], ["x-request-id", r.request_id], ["trace id", r.trace_id],
    ["destination service", r.destination_service],
    ["source", r.source_workload + "." + r.source_namespace],
    ["destination", r.destination_workload + "." + r.destination_namespace],
    ["response flags", r.flags], ["bytes in / out", r.request_bytes + " / " + r.response_bytes],
  ];
  for (const [name, value] of facts) {
    const b = document.createElement("b");
    b.textContent = name + ": ";
    d.appendChild(b);
    d.appendChild(document.createTextNode((value || "-") + "   "));
  }
  detail.appendChild(d);
  tr.addEventListener("click", () => { detail.hidden = !detail.hidden; });
  return [tr, detail];
}

function startTap(section) {
  const form = section.querySelector("form");
  const body = section.querySelector("table.tap-lines tbody");
  const state = section.querySelector(".tap-state");
  const pause = section.querySelector(".tap-pause");
  let controller = null;
  let paused = false;
  let generation = 0;

  function setState(text) { state.textContent = text; section.dataset.state = text; }

  async function run(gen) {
    const query = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (String(v).trim()) query.set(k, String(v).trim());
    controller = new AbortController();
    setState("connecting…");
    try {
      const reply = await fetch(section.dataset.tap + "?" + query, { signal: controller.signal });
      if (!reply.ok) { setState("error " + reply.status); return; }
      setState("live");
      const reader = reply.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        const lines = buffer.split("\n");
        buffer = lines.pop();
        for (const line of lines) {
          if (!line.trim() || paused) continue;
          const empty = body.querySelector("td.empty");
          if (empty) empty.parentElement.remove();
          const [row, detail] = tapRow(JSON.parse(line));
          body.prepend(detail);
          body.prepend(row);
          while (body.children.length > TAP_MAX_ROWS * 2) body.lastElementChild.remove();
        }
      }
    } catch (err) {
      if (err.name === "AbortError") return;
    }
    if (gen === generation) {
      setState("reconnecting…");
      setTimeout(() => { if (gen === generation) run(gen); }, 2000);
    }
  }

  function restart() {
    generation += 1;
    if (controller) controller.abort();
    body.replaceChildren();
    run(generation);
  }

  form.addEventListener("submit", (ev) => { ev.preventDefault(); restart(); });
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.textContent = paused ? "Resume" : "Pause";
    setState(paused ? "paused" : "live");
  });
  window.addEventListener("pagehide", () => { generation += 1; if (controller) controller.abort(); });
  run(generation);
}

document.addEventListener("DOMContentLoaded", () => {
  refreshLive();
  for (const section of document.querySelectorAll("[data-tap]")) startTap(section);
});
