// Hotspots analyst map. Everything comes from this server: the vector tiles
// (data and the street basemap), the map configuration and the alerts
// stream. There are no text labels, so no glyphs are needed.
//
// Signing in: an API key comes from the address fragment (#key=...; a
// fragment never reaches the server or its logs, and it is removed from
// the address bar at once) or from the sign-in form, and is kept in
// sessionStorage, so closing the tab forgets it. Every request to this
// server carries it as "Authorization: Bearer <key>": fetch() calls, the
// map's tile requests (transformRequest) and the alerts stream, which is
// read with fetch() because EventSource cannot send headers.
"use strict";

(function () {
  const WINDOWS = ["7d", "30d", "90d", "365d", "all"];
  const WINDOW_NAMES = { "7d": "last 7 days", "30d": "last 30 days", "90d": "last 90 days", "365d": "last 365 days", "all": "all data" };
  const HOT = [
    ["hot_99", "Hot spot, 99% confidence", "#b2182b"],
    ["hot_95", "Hot spot, 95% confidence", "#ef8a62"],
    ["hot_90", "Hot spot, 90% confidence", "#fddbc7"],
    ["cold_90", "Cold spot, 90% confidence", "#d1e5f0"],
    ["cold_95", "Cold spot, 95% confidence", "#67a9cf"],
    ["cold_99", "Cold spot, 99% confidence", "#2166ac"],
  ];
  const EHSA = [
    ["new hot spot", "#ff0000"], ["consecutive hot spot", "#e31a1c"], ["intensifying hot spot", "#bd0026"],
    ["persistent hot spot", "#800026"], ["diminishing hot spot", "#fd8d3c"], ["sporadic hot spot", "#feb24c"],
    ["oscillating hot spot", "#fed976"], ["historical hot spot", "#c7a27c"],
  ];
  const FAMILY_COLORS = { shooting: "#c0392b", overdose: "#6c3483", homicide: "#111111", shots_fired: "#e67e22" };

  const state = { cfg: null, map: null, window: "365d", families: [], areaLayer: "", popup: null, alerts: null, alertsRetry: 0,
    me: null };
  // Tests and power users read the map from here.
  window.hotspots = state;

  const $ = (id) => document.getElementById(id);

  // The API key. Only this closure holds it: it is not on window.hotspots.
  const KEY_STORE = "hotspots.apiKey";
  const REJECTED_STORE = "hotspots.keyRejected";
  let apiKey = "";

  function storage() {
    try { return window.sessionStorage; } catch (e) { return null; } // storage disabled: keep the key in memory
  }

  // readKey takes a key from #key=... (dropping it from the address bar and
  // from history) or else from sessionStorage.
  function readKey() {
    const hash = location.hash.replace(/^#/, "");
    if (hash) {
      const parts = hash.split("&");
      const i = parts.findIndex((p) => p.startsWith("key="));
      if (i >= 0) {
        let key = parts[i].slice(4);
        try { key = decodeURIComponent(key); } catch (e) { /* use it as written */ }
        parts.splice(i, 1);
        history.replaceState(history.state, "", location.pathname + location.search + (parts.length ? "#" + parts.join("&") : ""));
        key = key.trim();
        if (key) { saveKey(key); return key; }
      }
    }
    const s = storage();
    return (s && s.getItem(KEY_STORE)) || "";
  }

  function saveKey(key) {
    apiKey = key;
    const s = storage();
    if (s) { if (key) s.setItem(KEY_STORE, key); else s.removeItem(KEY_STORE); }
  }

  function sameOrigin(url) {
    try { return new URL(url, location.href).origin === location.origin; } catch (e) { return false; }
  }

  // authHeaders adds the key to headers of a request to this server only.
  function authHeaders(url, headers) {
    const h = Object.assign({}, headers);
    if (apiKey && sameOrigin(url)) h.Authorization = "Bearer " + apiKey;
    return h;
  }

  // api fetches from this server with the key. A 401 to a request that
  // carried a key means the key was revoked while in use: start over as
  // the public, saying why.
  async function api(url, opts) {
    const o = Object.assign({}, opts);
    o.headers = authHeaders(url, Object.assign({ Accept: "application/json" }, o.headers));
    const sent = !!o.headers.Authorization;
    const r = await fetch(url, o);
    if (r.status === 401 && sent) keyRejected();
    return r;
  }

  function keyRejected() {
    if (!apiKey) return;
    saveKey("");
    const s = storage();
    if (s) s.setItem(REJECTED_STORE, "1");
    location.reload();
  }

  // checkKey asks the server who a key belongs to: the principal, or null
  // when the key is refused (401).
  async function checkKey(key) {
    const r = await fetch("/api/v1/me", { headers: { Accept: "application/json", Authorization: "Bearer " + key } });
    if (r.status === 401) return null;
    if (!r.ok) throw new Error("HTTP " + r.status);
    return r.json();
  }

  const REJECTED_TEXT = "That API key was not accepted (unknown, mistyped or revoked). Showing the public view.";

  // buildAccount shows who is signed in, with a form to sign in or a
  // button to sign out.
  function buildAccount(rejected) {
    const me = state.me, cfg = state.cfg;
    const who = $("signed-in");
    const form = $("sign-in"), out = $("sign-out"), msg = $("auth-message");
    const role = (me && me.role) || cfg.principal.role;
    if (me && me.authenticated) {
      who.textContent = "Signed in as " + me.name + " (" + role + ")";
    } else if (role !== "public") {
      who.textContent = "Signed in as " + role; // authenticated without a key of ours (e.g. a proxy)
    } else {
      who.textContent = "Not signed in: public view";
    }
    document.body.dataset.role = role;
    form.hidden = !!apiKey;
    out.hidden = !apiKey;
    msg.hidden = !rejected;
    if (rejected) msg.textContent = REJECTED_TEXT;
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      const key = $("api-key").value.trim();
      if (!key) return;
      const button = form.querySelector("button");
      button.disabled = true;
      try {
        const who = await checkKey(key);
        if (!who) {
          msg.textContent = "That API key was not accepted (unknown, mistyped or revoked).";
          msg.hidden = false;
          $("api-key").select();
          return;
        }
        saveKey(key);
        location.reload(); // every layer, count and panel as this key sees them
      } catch (err) {
        msg.textContent = "Could not check the key: " + err.message;
        msg.hidden = false;
      } finally {
        button.disabled = false;
      }
    };
    out.onclick = () => { saveKey(""); location.reload(); };
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
  }

  function query(extra) {
    const p = new URLSearchParams();
    p.set("window", state.window);
    const all = state.cfg.families;
    if (state.families.length && state.families.length < all.length) p.set("kinds", state.families.join(","));
    for (const [k, v] of Object.entries(extra || {})) if (v) p.set(k, v);
    return p.toString();
  }

  function tileURL(layer, extra) {
    return location.origin + "/tiles/" + layer + "/{z}/{x}/{y}.mvt?" + query(extra);
  }

  function sources() {
    const src = (layer, extra) => ({ type: "vector", tiles: [tileURL(layer, extra)], minzoom: 0, maxzoom: 16 });
    const s = {
      streets: { type: "vector", tiles: [location.origin + "/tiles/streets/{z}/{x}/{y}.mvt"], minzoom: 0, maxzoom: 16 },
      hex: src("hex"),
      hotspots: src("hotspots"),
      clusters: src("clusters"),
    };
    if (state.areaLayer) s.areas = src("areas", { area_layer: state.areaLayer });
    if (state.cfg.principal.sees_points) s.incidents = src("incidents");
    return s;
  }

  const countExpr = ["coalesce", ["get", "n_total"], 0];

  function layers() {
    const L = [
      { id: "background", type: "background", paint: { "background-color": "#eef0f2" } },
      { id: "city-fill", type: "fill", source: "streets", "source-layer": "city", paint: { "fill-color": "#fbfaf7" } },
      { id: "streets-alley", type: "line", source: "streets", "source-layer": "streets", filter: ["==", ["get", "class"], "alley"],
        paint: { "line-color": "#e6e3dc", "line-width": 0.6 } },
      { id: "streets-minor", type: "line", source: "streets", "source-layer": "streets", filter: ["==", ["get", "class"], "minor"],
        paint: { "line-color": "#d8d4cb", "line-width": ["interpolate", ["linear"], ["zoom"], 12, 0.5, 16, 2.5] } },
      { id: "streets-major", type: "line", source: "streets", "source-layer": "streets", filter: ["==", ["get", "class"], "major"],
        paint: { "line-color": "#c9b98f", "line-width": ["interpolate", ["linear"], ["zoom"], 10, 1, 16, 4] } },
      { id: "city-line", type: "line", source: "streets", "source-layer": "city", paint: { "line-color": "#7f8c8d", "line-width": 1.5, "line-dasharray": [3, 2] } },
    ];
    if (state.areaLayer) {
      L.push({ id: "areas-fill", type: "fill", source: "areas", "source-layer": "areas",
        paint: { "fill-color": "#2c3e50", "fill-opacity": ["case", ["boolean", ["get", "suppressed"], false], 0.03,
          ["interpolate", ["linear"], ["ln", ["+", 1, countExpr]], 0, 0.0, 6, 0.25]] } });
      L.push({ id: "areas-line", type: "line", source: "areas", "source-layer": "areas", paint: { "line-color": "#34495e", "line-width": 0.8 } });
    }
    L.push(
      { id: "hex-fill", type: "fill", source: "hex", "source-layer": "hex",
        paint: {
          "fill-color": ["case", ["boolean", ["get", "suppressed"], false], "#b0b0b0",
            ["interpolate", ["linear"], ["ln", ["+", 1, countExpr]], 0, "#fff7bc", 1.1, "#fec44f", 2.4, "#fe9929", 3.7, "#d95f0e", 5, "#993404"]],
          "fill-opacity": 0.72,
        } },
      { id: "hex-line", type: "line", source: "hex", "source-layer": "hex", paint: { "line-color": "#ffffff", "line-width": 0.4, "line-opacity": 0.7 } },
      { id: "hotspots-fill", type: "fill", source: "hotspots", "source-layer": "hotspots",
        paint: { "fill-color": hotspotColor(), "fill-opacity": 0.55 } },
      { id: "hotspots-line", type: "line", source: "hotspots", "source-layer": "hotspots",
        paint: { "line-color": hotspotColor(), "line-width": 1.2 } },
      { id: "clusters-line", type: "line", source: "clusters", "source-layer": "clusters",
        paint: { "line-color": "#8e44ad", "line-width": 3 } },
      { id: "clusters-fill", type: "fill", source: "clusters", "source-layer": "clusters",
        paint: { "fill-color": "#8e44ad", "fill-opacity": 0.08 } },
    );
    if (state.cfg.principal.sees_points) {
      const colors = ["match", ["get", "kind"]];
      for (const k of state.cfg.kinds) colors.push(k, FAMILY_COLORS[familyOf(k)] || "#2c3e50");
      colors.push("#2c3e50");
      L.push({ id: "incidents", type: "circle", source: "incidents", "source-layer": "incidents", minzoom: 12,
        paint: { "circle-radius": ["interpolate", ["linear"], ["zoom"], 12, 2, 17, 5], "circle-color": colors,
          "circle-stroke-color": "#fff", "circle-stroke-width": 0.5 } });
    }
    return L;
  }

  function familyOf(kind) {
    if (kind.startsWith("overdose")) return "overdose";
    if (kind.startsWith("shooting")) return "shooting";
    return kind;
  }

  function hotspotColor() {
    const m = ["match", ["get", "category"]];
    for (const [k, , c] of HOT) m.push(k, c);
    for (const [k, c] of EHSA) m.push(k, c);
    m.push(["case", ["in", "cold", ["get", "category"]], "#4393c3", "#d6604d"]);
    return m;
  }

  // Layer toggles: each toggle shows or hides a group of style layers.
  const GROUPS = {
    hex: { label: "Incident hexagons", layers: ["hex-fill", "hex-line"], on: true },
    hotspots: { label: "Hot spots (Gi*, emerging)", layers: ["hotspots-fill", "hotspots-line"], on: true },
    clusters: { label: "Space-time clusters", layers: ["clusters-fill", "clusters-line"], on: true },
    areas: { label: "Areas", layers: ["areas-fill", "areas-line"], on: true },
    incidents: { label: "Incidents (points)", layers: ["incidents"], on: false, points: true },
    streets: { label: "Streets", layers: ["streets-alley", "streets-minor", "streets-major"], on: true },
  };

  function applyVisibility() {
    for (const [name, g] of Object.entries(GROUPS)) {
      const box = $("toggle-" + name);
      for (const id of g.layers) {
        if (state.map.getLayer(id)) state.map.setLayoutProperty(id, "visibility", box && box.checked ? "visible" : "none");
      }
    }
  }

  function buildControls() {
    const cfg = state.cfg;
    const toggles = $("layer-toggles");
    for (const [name, g] of Object.entries(GROUPS)) {
      const box = el("input", { type: "checkbox", id: "toggle-" + name });
      if (g.points && !cfg.principal.sees_points) {
        // Shown, but off, with the reason: exact points need an analyst key.
        box.disabled = true;
        const note = cfg.principal.role === "public" ? "sign in as an analyst to see points" : "not for role " + cfg.principal.role;
        toggles.append(el("label", { class: "row disabled", title: note }, box, g.label, el("span", { class: "muted", text: "(" + note + ")" })));
        continue;
      }
      box.checked = g.on;
      box.addEventListener("change", applyVisibility);
      toggles.append(el("label", { class: "row" }, box, g.label));
    }
    const sel = $("area-layer");
    sel.append(el("option", { value: "", text: "none" }));
    for (const l of cfg.area_layers) sel.append(el("option", { value: l.id, text: l.name || l.id }));
    state.areaLayer = cfg.area_layers.length ? cfg.area_layers[0].id : "";
    sel.value = state.areaLayer;
    sel.addEventListener("change", () => { state.areaLayer = sel.value; rebuildStyle(); });

    const kinds = $("kind-filter");
    state.families = cfg.families.slice();
    for (const f of cfg.families) {
      const box = el("input", { type: "checkbox", value: f, id: "kind-" + f });
      box.checked = true;
      box.addEventListener("change", () => {
        const checked = [...kinds.querySelectorAll("input:checked")].map((b) => b.value);
        if (!checked.length) { box.checked = true; return; } // an empty filter would mean "everything"
        state.families = checked;
        refreshTiles();
      });
      const sw = el("span", { class: "swatch" });
      sw.style.background = FAMILY_COLORS[f] || "#2c3e50";
      kinds.append(el("label", { class: "row" }, box, sw, f.replace("_", " ")));
    }

    const slider = $("window");
    state.window = cfg.default_window || "365d";
    slider.value = String(Math.max(0, WINDOWS.indexOf(state.window)));
    const label = () => { $("window-label").textContent = WINDOW_NAMES[state.window] + (cfg.data_end && state.window !== "all" ? " to " + cfg.data_end : ""); };
    label();
    slider.addEventListener("input", () => { state.window = WINDOWS[Number(slider.value)]; label(); });
    slider.addEventListener("change", refreshTiles);

    const legend = $("legend");
    legend.append(el("div", { class: "muted", text: "Hexagons: incidents in the window (darker = more)" }));
    const grey = el("span", { class: "swatch" }); grey.style.background = "#b0b0b0";
    legend.append(el("div", { class: "legend-item" }, grey, "Small count, hidden for privacy"));
    for (const [, name, c] of HOT) {
      const s = el("span", { class: "swatch" }); s.style.background = c;
      legend.append(el("div", { class: "legend-item" }, s, name));
    }
    for (const [name, c] of EHSA) {
      const s = el("span", { class: "swatch" }); s.style.background = c;
      legend.append(el("div", { class: "legend-item" }, s, name[0].toUpperCase() + name.slice(1)));
    }
    const cl = el("span", { class: "swatch" }); cl.style.border = "3px solid #8e44ad";
    legend.append(el("div", { class: "legend-item" }, cl, "Space-time cluster"));

    $("title").textContent = "Hotspots – " + cfg.city;
    $("data-end").textContent = cfg.data_end ? "Data through " + cfg.data_end : "No incidents loaded yet";
    if (cfg.simulated && cfg.simulated.length) {
      const b = $("simulated-banner");
      b.textContent = "Includes SIMULATED data (" + cfg.simulated.join(", ") + "): not real incidents.";
      b.hidden = false;
    }
    $("privacy-note").textContent = cfg.principal.suppressed
      ? "Public view: counts from 1 to " + (cfg.suppress_below - 1) + " are hidden; hexagons are at most block-sized."
      : "Counts are not suppressed for role " + cfg.principal.role + "." +
        (cfg.principal.sees_points ? " Exact incident points are available; every point-level read is logged." : "");
  }

  function refreshTiles() {
    for (const [name, src] of Object.entries(sources())) {
      const s = state.map.getSource(name);
      if (s && s.setTiles) s.setTiles(src.tiles);
    }
    if (state.popup) state.popup.remove();
  }

  function rebuildStyle() {
    state.map.setStyle({ version: 8, sources: sources(), layers: layers() });
    state.map.once("styledata", applyVisibility);
  }

  // Popups: counts from the clicked feature, then a trend sparkline.
  const CLICK_ORDER = ["incidents", "clusters-fill", "hotspots-fill", "hex-fill", "areas-fill"];

  function onClick(e) {
    const ids = CLICK_ORDER.filter((id) => state.map.getLayer(id) && state.map.getLayoutProperty(id, "visibility") !== "none");
    const feats = state.map.queryRenderedFeatures(e.point, { layers: ids });
    if (!feats.length) return;
    feats.sort((a, b) => ids.indexOf(a.layer.id) - ids.indexOf(b.layer.id));
    const f = feats[0];
    const body = el("div", { class: "popup" });
    const p = f.properties;
    let seriesURL = null;
    if (f.layer.id === "hex-fill") {
      body.append(el("h3", { text: "Hexagon " + p.cell }));
      body.append(countsTable(p));
      seriesURL = "/api/v1/cells/" + encodeURIComponent(p.cell) + "/series?" + query();
    } else if (f.layer.id === "areas-fill") {
      body.append(el("h3", { text: p.name || p.code }));
      body.append(countsTable(p));
      seriesURL = "/api/v1/areas/" + encodeURIComponent(p.layer) + "/" + encodeURIComponent(p.code) + "/series?" + query();
    } else if (f.layer.id === "hotspots-fill") {
      body.append(el("h3", { text: (p.detector === "ehsa" ? "Emerging hot spot: " : "Gi* bin: ") + p.category }));
      body.append(table([["z", p.z], ["p", p.p], ["cell", p.cell]]));
    } else if (f.layer.id === "clusters-fill") {
      body.append(el("h3", { text: "Space-time cluster" }));
      body.append(table([["observed", p.suppressed ? "hidden (small)" : p.observed], ["expected", p.expected], ["O/E", p.o_e],
        ["p", p.p], ["recurrence (days)", p.ri], ["from", p.start], ["to", p.end]]));
    } else if (f.layer.id === "incidents") {
      const day = new Date(Number(p.day) * 86400000).toISOString().slice(0, 10);
      body.append(el("h3", { text: p.kind.replace("_", " ") }));
      body.append(table([["day", day], ["id", p.id], ["precision", p.precision || "exact"]]));
    }
    if (state.popup) state.popup.remove();
    state.popup = new maplibregl.Popup({ maxWidth: "320px" }).setLngLat(e.lngLat).setDOMContent(body).addTo(state.map);
    if (seriesURL) loadSparkline(seriesURL, body);
  }

  function table(rows) {
    const t = el("table");
    for (const [k, v] of rows) if (v !== undefined && v !== null && v !== "") t.append(el("tr", {}, el("td", { text: k }), el("td", { text: String(v) })));
    return t;
  }

  function countsTable(p) {
    const rows = [];
    for (const f of state.cfg.families) if (p["n_" + f] !== undefined) rows.push([f.replace("_", " "), p["n_" + f]]);
    rows.push(["total", p.suppressed && p.n_total === undefined ? "hidden (fewer than " + state.cfg.suppress_below + ")" : (p.n_total ?? 0)]);
    rows.push(["window", WINDOW_NAMES[state.window]]);
    return table(rows);
  }

  async function loadSparkline(url, into) {
    try {
      const r = await api(url);
      if (!r.ok) throw new Error("HTTP " + r.status);
      const s = await r.json();
      into.append(sparkline(s));
      into.append(el("div", { class: "muted", text: s.series.length + " " + s.step + "s from " + (s.from || "?") + " to " + (s.to || "?") }));
    } catch (err) {
      into.append(el("div", { class: "muted", text: "trend unavailable" }));
    }
  }

  function sparkline(s) {
    const W = 260, H = 44, n = s.series.length;
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("width", W); svg.setAttribute("height", H); svg.setAttribute("class", "spark");
    svg.setAttribute("role", "img"); svg.setAttribute("aria-label", "trend");
    const max = Math.max(1, ...s.series.map((b) => b.count || 0));
    const x = (i) => (n <= 1 ? W / 2 : (i * (W - 4)) / (n - 1) + 2);
    const y = (v) => H - 3 - (v / max) * (H - 8);
    let d = "";
    s.series.forEach((b, i) => {
      if (b.suppressed) {
        const r = document.createElementNS(ns, "rect");
        r.setAttribute("x", x(i) - 1); r.setAttribute("y", 2); r.setAttribute("width", 2); r.setAttribute("height", H - 4);
        r.setAttribute("fill", "#ddd"); svg.append(r);
        return;
      }
      d += (d ? "L" : "M") + x(i).toFixed(1) + " " + y(b.count).toFixed(1);
    });
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d || "M0 0"); path.setAttribute("fill", "none"); path.setAttribute("stroke", "#c0392b"); path.setAttribute("stroke-width", "1.5");
    svg.append(path);
    return svg;
  }

  // Alerts: a live stream when the server has one; a visible state when not.
  // The stream is text/event-stream read with fetch(), not EventSource,
  // because EventSource cannot send the Authorization header. It behaves
  // like EventSource: named events, "retry:" sets the reconnect delay and a
  // reconnect sends Last-Event-ID so the server replays what was missed.
  function connectAlerts() {
    if (state.alerts) state.alerts.close();
    clearTimeout(state.alertsRetry);
    const status = $("alerts-status");
    const setStatus = (text, cls) => { status.textContent = text; status.className = "status " + (cls || ""); };
    if (state.cfg.principal.role === "public") { setStatus("sign in to see alerts", "unavailable"); return; }
    if (!window.fetch || !window.AbortController || !window.TextDecoder || !window.ReadableStream) {
      setStatus("alerts unavailable", "unavailable");
      return;
    }
    const ctl = new AbortController();
    const conn = { closed: false, close() { this.closed = true; ctl.abort(); } };
    state.alerts = conn;
    let retry = 3000, lastId = "";
    const again = (ms) => {
      if (conn.closed) return;
      clearTimeout(state.alertsRetry);
      state.alertsRetry = setTimeout(connectAlerts, ms);
    };
    // Events are {type, at, alert: {id, title, status, ...}} named
    // "alert.raised", "alert.updated" and so on; a later event of the same
    // alert replaces its line.
    const show = (ev) => {
      let e;
      try { e = JSON.parse(ev.data); } catch (err) { e = { alert: { title: ev.data } }; }
      const a = e.alert || e;
      const text = a.title || a.summary || a.message || [a.kind, a.area, a.detector].filter(Boolean).join(" · ") || "alert";
      const what = (e.type || ev.type || "").replace(/^alert\./, "");
      const when = e.at || a.created_at || "";
      const li = el("li", {}, el("div", { text }), el("div", { class: "muted", text: [what, String(when).slice(0, 16).replace("T", " ")].filter(Boolean).join(" · ") }));
      const list = $("alerts-list");
      if (a.id !== undefined) {
        li.dataset.alertId = String(a.id);
        const old = list.querySelector('[data-alert-id="' + CSS.escape(String(a.id)) + '"]');
        if (old) old.remove();
      }
      list.prepend(li);
      while (list.children.length > 50) list.lastChild.remove();
    };
    const run = async () => {
      const url = state.cfg.alerts_stream || "/api/v1/alerts/stream";
      const headers = { Accept: "text/event-stream" };
      if (lastId) headers["Last-Event-ID"] = lastId;
      let r;
      try {
        r = await fetch(url, { headers: authHeaders(url, headers), cache: "no-store", signal: ctl.signal });
      } catch (err) {
        if (conn.closed) return;
        setStatus("reconnecting…", "");
        again(retry);
        return;
      }
      if (r.status === 401 && apiKey) { keyRejected(); return; }
      if (!r.ok || !(r.headers.get("Content-Type") || "").startsWith("text/event-stream") || !r.body) {
        // No stream here (404), not for this key (403), or down (503):
        // say so, and look again in a minute.
        setStatus("alerts unavailable", "unavailable");
        if (r.body) r.body.cancel().catch(() => {});
        again(60000);
        return;
      }
      setStatus("live", "live");
      const reader = r.body.getReader();
      const dec = new TextDecoder();
      let buf = "", data = [], name = "", id = null;
      const line = (l) => {
        if (l === "") { // blank line: dispatch the event
          if (id !== null) lastId = id;
          if (data.length) show({ type: name || "message", data: data.join("\n"), lastEventId: lastId });
          data = []; name = ""; id = null;
          return;
        }
        if (l[0] === ":") return; // comment (heartbeat)
        const c = l.indexOf(":");
        const field = c < 0 ? l : l.slice(0, c);
        let value = c < 0 ? "" : l.slice(c + 1);
        if (value[0] === " ") value = value.slice(1);
        if (field === "data") data.push(value);
        else if (field === "event") name = value;
        else if (field === "id" && !value.includes("\0")) id = value;
        else if (field === "retry" && /^\d+$/.test(value)) retry = Number(value);
      };
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let m;
          while ((m = /\r\n|\r|\n/.exec(buf))) {
            // A lone \r at the end may be the first half of \r\n: wait.
            if (m[0] === "\r" && m.index === buf.length - 1) break;
            line(buf.slice(0, m.index));
            buf = buf.slice(m.index + m[0].length);
          }
        }
      } catch (err) {
        if (conn.closed) return;
      }
      if (conn.closed) return;
      setStatus("reconnecting…", "");
      again(retry);
    };
    run();
  }

  async function start() {
    apiKey = readKey();
    const s = storage();
    let rejected = !!(s && s.getItem(REJECTED_STORE));
    if (s) s.removeItem(REJECTED_STORE);
    if (apiKey) {
      // Check the key before anything uses it: a refused key falls back to
      // the public view with a message, not to a map of 401s.
      const me = await checkKey(apiKey).catch(() => undefined); // undefined: could not check; carry on
      if (me === null) { saveKey(""); rejected = true; } else if (me) state.me = me;
    }
    let r = await fetch("/map/config.json", { headers: authHeaders("/map/config.json", { Accept: "application/json" }) });
    if (r.status === 401 && apiKey) { saveKey(""); rejected = true; state.me = null; r = await api("/map/config.json"); }
    if (!r.ok) throw new Error("map configuration: HTTP " + r.status);
    state.cfg = await r.json();
    buildAccount(rejected);
    buildControls();
    state.map = new maplibregl.Map({
      container: "map",
      style: { version: 8, sources: sources(), layers: layers() },
      // Tiles and TileJSON are fetched by MapLibre (partly in a worker);
      // this adds the key to those going to this server, and only those.
      transformRequest: (url) => (apiKey && sameOrigin(url) ? { url, headers: authHeaders(url) } : undefined),
      center: state.cfg.center,
      zoom: state.cfg.zoom,
      maxZoom: 18,
      attributionControl: false,
      canvasContextAttributes: { preserveDrawingBuffer: true },
    });
    state.map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
    state.map.addControl(new maplibregl.ScaleControl());
    state.map.on("load", () => { applyVisibility(); document.body.dataset.mapLoaded = "true"; });
    state.map.on("click", onClick);
    // A tile refused with 401 while signed in: the key was revoked.
    state.map.on("error", (e) => { if (e && e.error && e.error.status === 401 && apiKey) keyRejected(); });
    for (const id of ["hex-fill", "areas-fill", "hotspots-fill", "clusters-fill", "incidents"]) {
      state.map.on("mouseenter", id, () => { state.map.getCanvas().style.cursor = "pointer"; });
      state.map.on("mouseleave", id, () => { state.map.getCanvas().style.cursor = ""; });
    }
    connectAlerts();
  }
  // Reconnect the alerts panel now rather than at the next retry.
  state.reconnectAlerts = connectAlerts;

  start().catch((err) => {
    document.body.dataset.mapError = String(err);
    $("data-end").textContent = "The map could not start: " + err;
  });
})();
