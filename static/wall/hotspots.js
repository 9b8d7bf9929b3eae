/* Lookback wall: an optional live Gi* hot spot overlay (off by default, toggled in the layer control).
 *
 * Loaded after wall.js. Reads window.lookbackWallConfig and, once the overlay is switched on,
 * fetches /api/hotspots.geojson (same category/source/township filters as the wall) when it is
 * switched on, when a filter changes, and after every EVERY_REFRESHES refreshes of the wall.
 * Nothing is fetched while the overlay is off. Exposes window.lookbackHotspots for tests.
 *
 * A select on the legend switches the view: hot spots now (the bins), the change since last
 * month, or the wall's category against another one (/api/hotspots/change.geojson). The change
 * views draw what the API returns: each cell's class, the legend's colours and names (from
 * gis/palette.py and gis/hotspots/compare.py) and the periods compared.
 */
(function () {
  "use strict";

  const EVERY_REFRESHES = 4;
  const STEP_WORDS = { month: ["月", "months"], week: ["周", "weeks"], day: ["天", "days"] };
  // Colours and labels come from the page config (gis/palette.py), never written again here.
  let BINS = [], OUTLINE = {}, COLOUR = {};

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, c => (
      { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  function start(cfg) {
    const palette = cfg.palette || {};
    BINS = palette.hotspot_bins || [];
    OUTLINE = palette.hotspot_outline || {};
    COLOUR = Object.fromEntries(BINS.map(b => [b[0], b[1]]));
    const map = cfg.map;
    const endpoint = (cfg.endpoints && cfg.endpoints.hotspots) || "/api/hotspots.geojson";
    const changeEndpoint = (cfg.endpoints && cfg.endpoints.hotspot_change) ||
      "/api/hotspots/change.geojson";
    const state = {
      fetches: 0, features: 0, error: null, atRefresh: 0, inFlight: null, mode: "now",
      versus: "", legend: [], body: null,
    };
    let changeStyle = {};

    const layer = L.geoJSON(null, {
      style(feature) {
        const p = feature.properties;
        if (p.change !== undefined) {
          const c = changeStyle[p.change] || {};
          return {
            color: c.quiet ? OUTLINE.not_significant : OUTLINE.significant, weight: 0.6,
            fillColor: c.colour, fillOpacity: c.quiet ? 0.1 : 0.65,
          };
        }
        const bin = p.bin || 0;
        return {
          color: bin ? OUTLINE.significant : OUTLINE.not_significant, weight: 0.6,
          fillColor: COLOUR[bin] || COLOUR[0], fillOpacity: bin ? 0.6 : 0.1,
        };
      },
      onEachFeature(feature, lyr) {
        const p = feature.properties;
        if (p.change !== undefined) {
          const body = state.body || {};
          lyr.bindTooltip(`${esc(p.change_zh)} ${esc(p.change_en)}<br>` +
            `${esc(body.a)}: ${esc(p.count_a)} · ${esc(body.b)}: ${esc(p.count_b)}`);
          return;
        }
        const z = p.z == null ? "—" : p.z.toFixed(2);
        lyr.bindTooltip(`事件 ${p.count} · Gi* z ${z} · 分级 bin ${p.bin}`);
      },
    });

    function categoryOptions() {
      const cat = document.getElementById("filter-category");
      if (!cat) return "";
      return Array.from(cat.options).filter(o => o.value).map(o =>
        `<option value="${esc(o.value)}">${esc(o.textContent)}</option>`).join("");
    }

    function swatch(colour) {
      return `<i style="display:inline-block;width:12px;height:12px;background:${esc(colour)};` +
        'margin-right:6px;vertical-align:-1px;border:1px solid #999"></i>';
    }

    function periodLine(body) {
      if (body.by === "category") {
        const c = body.categories || {};
        const a = c.a || {}, b = c.b || {};
        const d = body.dates || {};
        const when = d.since || d.until
          ? `${esc(d.since || "…")} 至 ${esc(d.until || "…")} · ${esc(d.since || "…")} to ` +
            `${esc(d.until || "…")}`
          : "全部记录 All records";
        return `${esc(a.zh)} 对比 ${esc(b.zh)} · ${esc(a.en)} against ${esc(b.en)}<br>${when}`;
      }
      const p = body.period || {};
      const w = STEP_WORDS[p.step] || STEP_WORDS.month;
      return `${esc(body.b)} 对比 ${esc(body.a)}（完整${w[0]}，${esc(p.excluded)} 未结束不计）<br>` +
        `${esc(body.b)} (${esc(p.b_start)}–${esc(p.b_end)}) against ${esc(body.a)} ` +
        `(${esc(p.a_start)}–${esc(p.a_end)}), complete ${w[1]}; ${esc(p.excluded)} ` +
        "unfinished, left out";
    }

    function renderLegend() {
      const el = document.querySelector(".hotspot-legend .hotspot-body");
      if (!el) return;
      if (state.mode === "now") {
        el.innerHTML = "<b>热点 Gi* Hot spots (FDR)</b>" + BINS.map(b =>
          `<div>${swatch(b[1])}${esc(b[2])} ${esc(b[3])}</div>`).join("");
        return;
      }
      const title = state.mode === "change"
        ? "<b>热点变化（较上月） Hot spots, change since last month</b>"
        : "<b>热点类别对比 Hot spots, category against category</b>";
      const body = state.body;
      el.innerHTML = title + (body ? `<div class="hotspot-period">${periodLine(body)}</div>` +
        state.legend.map(c => `<div data-change="${esc(c.change)}">${swatch(c.colour)}` +
          `${esc(c.zh)} ${esc(c.en)} <span class="hotspot-n">${esc((body.tally || {})[c.change])}` +
          "</span></div>").join("") : "");
    }

    const legend = L.control({ position: "bottomleft" });
    legend.onAdd = function () {
      const div = L.DomUtil.create("div", "hotspot-legend");
      div.style.cssText = "background:rgba(255,255,255,.92);padding:6px 10px;border-radius:6px;" +
        "font:12px/1.5 'Noto Sans CJK SC',sans-serif;color:#222;max-width:380px";
      div.innerHTML =
        '<label>显示 View <select name="hotspot-mode">' +
        '<option value="now">当前热点 Hot spots now</option>' +
        '<option value="change">较上月变化 Change since last month</option>' +
        '<option value="versus">类别对比 Category against category</option></select></label>' +
        '<label class="hotspot-versus" hidden> 对比 against <select name="hotspot-versus">' +
        categoryOptions() + "</select></label>" +
        '<div class="hotspot-body"></div><div class="hotspot-note"></div>';
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      const mode = div.querySelector("select[name=hotspot-mode]");
      const versus = div.querySelector("select[name=hotspot-versus]");
      mode.value = state.mode;
      if (state.versus) versus.value = state.versus;
      div.querySelector(".hotspot-versus").hidden = state.mode !== "versus";
      mode.addEventListener("change", () => {
        state.mode = mode.value;
        state.body = null;
        div.querySelector(".hotspot-versus").hidden = state.mode !== "versus";
        renderLegend();
        load();
      });
      versus.addEventListener("change", () => { state.versus = versus.value; load(); });
      state.versus = versus.value;
      return div;
    };

    if (cfg.layerControl) cfg.layerControl.addOverlay(layer, "热点分析（Gi*） Hot spots");

    function params() {
      const q = new URLSearchParams({ input: "problems" });
      const cat = document.getElementById("filter-category");
      const src = document.getElementById("filter-source");
      if (cat && cat.value) q.set("category", cat.value);
      if (src && src.value) q.set("source", src.value);
      if (cfg.township) q.set("township", cfg.township);
      if (state.mode === "change") q.set("period", "month");
      if (state.mode === "versus") q.set("versus", state.versus);
      return q;
    }

    function request() {
      if (state.mode === "now") return `${endpoint}?${params()}`;
      if (state.mode === "versus") {
        const cat = document.getElementById("filter-category");
        if (!cat || !cat.value) return null;
      }
      return `${changeEndpoint}?${params()}`;
    }

    function note(text) {
      const el = document.querySelector(".hotspot-legend .hotspot-note");
      if (el) el.textContent = text || "";
    }

    async function load() {
      if (!map.hasLayer(layer)) return;
      if (state.inFlight) state.inFlight.abort();
      const url = request();
      if (!url) {
        layer.clearLayers();
        state.features = 0;
        state.body = null;
        renderLegend();
        note("请先在右侧选择类别 Choose a category in the panel first");
        return;
      }
      const ctrl = new AbortController();
      state.inFlight = ctrl;
      const mode = state.mode;
      try {
        const resp = await fetch(url, {
          signal: ctrl.signal, cache: "no-store", headers: { Accept: "application/geo+json" },
        });
        const body = await resp.json();
        if (mode !== state.mode) return;
        layer.clearLayers();
        if (resp.ok) {
          if (mode !== "now") {
            state.legend = body.legend || [];
            changeStyle = Object.fromEntries(state.legend.map(c => [c.change, c]));
            state.body = body;
          } else {
            state.body = null;
          }
          layer.addData(body);
          // Above the township choropleth, below everything else.
          layer.bringToBack();
          if (cfg.townships && cfg.townships.bringToBack) cfg.townships.bringToBack();
          state.features = body.features.length;
          state.error = null;
          note("");
        } else {
          state.features = 0;
          state.body = null;
          state.error = body.detail || String(resp.status);
          note(state.error);
        }
        renderLegend();
        state.fetches += 1;
      } catch (err) {
        if (!ctrl.signal.aborted) { state.error = String(err); note(state.error); }
      } finally {
        if (state.inFlight === ctrl) state.inFlight = null;
      }
    }

    layer.on("add", () => { legend.addTo(map); renderLegend(); load(); });
    layer.on("remove", () => { legend.remove(); if (state.inFlight) state.inFlight.abort(); });
    for (const id of ["filter-category", "filter-source"]) {
      const el = document.getElementById(id);
      if (el) el.addEventListener("change", load);
    }
    // Follow the wall's own refreshes rather than running a second timer against the server.
    setInterval(() => {
      const wall = window.lookbackWall;
      const n = wall && wall.state ? wall.state.refreshes : 0;
      if (n - state.atRefresh >= EVERY_REFRESHES) {
        state.atRefresh = n;
        load();
      }
    }, 1000);

    window.lookbackHotspots = { layer, state, reload: load, show: () => layer.addTo(map) };
  }

  function boot() {
    if (window.lookbackWallConfig && !window.lookbackHotspots) start(window.lookbackWallConfig);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
