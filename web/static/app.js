// Hotspots analyst map. Everything comes from this server: the vector tiles
// (data and the street basemap), the map configuration and the alerts
// stream. There are no text labels, so no glyphs are needed.
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

  const state = { cfg: null, map: null, window: "365d", families: [], areaLayer: "", popup: null, alerts: null, alertsRetry: 0 };
  // Tests and power users read the map from here.
  window.hotspots = state;

  const $ = (id) => document.getElementById(id);

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
      if (g.points && !cfg.principal.sees_points) continue;
      const box = el("input", { type: "checkbox", id: "toggle-" + name });
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
      : "Signed in as " + cfg.principal.role + ".";
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
      const r = await fetch(url, { headers: { Accept: "application/json" } });
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
  function connectAlerts() {
    if (state.alerts) state.alerts.close();
    const status = $("alerts-status");
    const setStatus = (text, cls) => { status.textContent = text; status.className = "status " + (cls || ""); };
    if (!window.EventSource) { setStatus("alerts unavailable", "unavailable"); return; }
    let es;
    try { es = new EventSource(state.cfg.alerts_stream || "/api/v1/alerts/stream"); } catch (e) { setStatus("alerts unavailable", "unavailable"); return; }
    state.alerts = es;
    es.onopen = () => setStatus("live", "live");
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
    es.onmessage = show;
    for (const t of ["alert", "alert.raised", "alert.updated", "alert.reopened", "alert.acknowledged", "alert.resolved"]) es.addEventListener(t, show);
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) {
        setStatus("alerts unavailable", "unavailable");
        clearTimeout(state.alertsRetry);
        state.alertsRetry = setTimeout(connectAlerts, 60000);
      } else {
        setStatus("reconnecting…", "");
      }
    };
  }

  async function start() {
    const r = await fetch("/map/config.json", { headers: { Accept: "application/json" } });
    state.cfg = await r.json();
    buildControls();
    state.map = new maplibregl.Map({
      container: "map",
      style: { version: 8, sources: sources(), layers: layers() },
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
