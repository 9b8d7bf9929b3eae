/* Lookback wall: an optional live Gi* hot spot overlay (off by default, toggled in the layer control).
 *
 * Loaded after wall.js. Reads window.lookbackWallConfig and, once the overlay is switched on,
 * fetches /api/hotspots.geojson (same category/source/township filters as the wall) when it is
 * switched on, when a filter changes, and after every EVERY_REFRESHES refreshes of the wall.
 * Nothing is fetched while the overlay is off. Exposes window.lookbackHotspots for tests.
 */
(function () {
  "use strict";

  const EVERY_REFRESHES = 4;
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
    const state = { fetches: 0, features: 0, error: null, atRefresh: 0, inFlight: null };

    const layer = L.geoJSON(null, {
      style(feature) {
        const bin = feature.properties.bin || 0;
        return {
          color: bin ? OUTLINE.significant : OUTLINE.not_significant, weight: 0.6,
          fillColor: COLOUR[bin] || COLOUR[0], fillOpacity: bin ? 0.6 : 0.1,
        };
      },
      onEachFeature(feature, lyr) {
        const p = feature.properties;
        const z = p.z == null ? "—" : p.z.toFixed(2);
        lyr.bindTooltip(`事件 ${p.count} · Gi* z ${z} · 分级 bin ${p.bin}`);
      },
    });

    const legend = L.control({ position: "bottomleft" });
    legend.onAdd = function () {
      const div = L.DomUtil.create("div", "hotspot-legend");
      div.style.cssText = "background:rgba(255,255,255,.92);padding:6px 10px;border-radius:6px;" +
        "font:12px/1.5 'Noto Sans CJK SC',sans-serif;color:#222";
      div.innerHTML = "<b>热点 Gi* Hot spots (FDR)</b>" + BINS.map(b =>
        `<div><i style="display:inline-block;width:12px;height:12px;background:${b[1]};` +
        `margin-right:6px;vertical-align:-1px;border:1px solid #999"></i>${esc(b[2])} ${esc(b[3])}</div>`
      ).join("") + '<div class="hotspot-note"></div>';
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
      return q;
    }

    function note(text) {
      const el = document.querySelector(".hotspot-legend .hotspot-note");
      if (el) el.textContent = text || "";
    }

    async function load() {
      if (!map.hasLayer(layer)) return;
      if (state.inFlight) state.inFlight.abort();
      const ctrl = new AbortController();
      state.inFlight = ctrl;
      try {
        const resp = await fetch(`${endpoint}?${params()}`, {
          signal: ctrl.signal, cache: "no-store", headers: { Accept: "application/geo+json" },
        });
        const body = await resp.json();
        layer.clearLayers();
        if (resp.ok) {
          layer.addData(body);
          layer.bringToBack();
          state.features = body.features.length;
          state.error = null;
          note("");
        } else {
          state.features = 0;
          state.error = body.detail || String(resp.status);
          note(state.error);
        }
        state.fetches += 1;
      } catch (err) {
        if (!ctrl.signal.aborted) { state.error = String(err); note(state.error); }
      } finally {
        if (state.inFlight === ctrl) state.inFlight = null;
      }
    }

    layer.on("add", () => { legend.addTo(map); load(); });
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
