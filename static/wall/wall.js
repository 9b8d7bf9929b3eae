/* Lookback command-centre wall: refresh layers and panel in place, survive outages.
 *
 * Reads window.lookbackWallConfig (written by the page): the Leaflet map, the township layer,
 * the layer control, the refresh interval and the endpoints. Exposes window.lookbackWall for
 * diagnostics and tests. Layers are reused (clearLayers + addData), so memory stays flat.
 */
(function () {
  "use strict";

  // Colours come from the page config (gis/palette.py), never written again here.
  let PALETTE = {}, CLASS_COLOUR = {}, WARNING_STROKE = {};
  const KIND_LABEL = { inspection: "巡查", complaint: "信访", problem: "交办" };
  const SIGNED_OUT_RETRY_MS = 30000;

  function pad(n) { return String(n).padStart(2, "0"); }
  function hhmmss(d) { return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`; }
  // Text as text: controls and bidi overrides dropped, markup escaped (same rule as layers/safe.py).
  const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
  function esc(s) {
    return String(s == null ? "" : s).replace(CONTROL, "").replace(/[&<>"']/g, c => (
      { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  function start(cfg) {
    PALETTE = cfg.palette || {};
    CLASS_COLOUR = PALETTE.classes || {};
    WARNING_STROKE = PALETTE.warning_strokes || {};
    const map = cfg.map;
    const renderer = L.canvas({ padding: 0.3 });
    const state = {
      refreshes: 0, failures: 0, lastOk: null, stale: false, signedOut: false, mode: null,
      inFlight: null, timer: null, problemFeatures: 0, heatPoints: 0,
    };

    const problems = L.geoJSON(null, {
      pointToLayer(feature, latlng) {
        const p = feature.properties;
        if (p.mode) return bubble(p, latlng);
        const rebounded = p.map_class === "rebounded";
        return L.circleMarker(latlng, {
          renderer, radius: rebounded ? 9 : p.map_class === "closed" ? 4 : 7,
          color: rebounded ? PALETTE.marker_outline : WARNING_STROKE[p.warning] || PALETTE.marker_outline,
          weight: rebounded ? 3 : p.warning && p.warning !== "none" ? 2.5 : 1,
          fillColor: CLASS_COLOUR[p.map_class], fillOpacity: 0.92,
        });
      },
      onEachFeature(feature, layer) {
        const p = feature.properties;
        if (p.mode) {
          layer.bindTooltip(`${esc(p.name || "")} 未销号 ${p.open + p.overdue + p.rebounded}` +
            ` · 逾期 ${p.overdue} · 反弹 ${p.rebounded}`);
        } else {
          layer.bindPopup(`<b>${esc(p.code)}</b> ${esc(p.status_label)}<br>${esc(p.description)}` +
            `<br>责任单位 ${esc(p.responsible_unit)} · 责任人 ${esc(p.responsible_person)}` +
            `<br>时限 ${esc(p.due_date)} ${p.overdue ? "逾期 " + p.days_overdue + " 天" : ""}`);
        }
      },
    }).addTo(map);
    const heat = L.heatLayer([], { radius: 22, blur: 18, maxZoom: 14, minOpacity: 0.25 });
    if (cfg.layerControl) {
      cfg.layerControl.addOverlay(problems, "问题（实时） Problems (live)");
      cfg.layerControl.addOverlay(heat, "信访热力 Complaint heat");
    }

    function bubble(p, latlng) {
      const active = p.open + p.overdue + p.rebounded;
      const size = Math.round(18 + Math.min(46, Math.sqrt(active) * 5));
      const colour = p.rebounded > 0 ? CLASS_COLOUR.rebounded : p.overdue > 0 ? CLASS_COLOUR.overdue
        : active > 0 ? CLASS_COLOUR.open : CLASS_COLOUR.closed;
      return L.marker(latlng, {
        icon: L.divIcon({
          className: "", iconSize: [size, size],
          html: `<div class="wall-bubble" style="width:${size}px;height:${size}px;background:${colour}">${active}</div>`,
        }),
      });
    }

    // Township names as permanent labels, once.
    cfg.townships.eachLayer(layer => {
      const f = layer.feature;
      if (f && f.properties && f.properties.name) {
        layer.bindTooltip(esc(f.properties.name), { permanent: true, direction: "center", className: "township-label" });
      }
    });

    const $ = id => document.getElementById(id);
    const filters = () => {
      const q = new URLSearchParams();
      const cat = $("filter-category").value, src = $("filter-source").value;
      if (cat) q.set("category", cat);
      if (src) q.set("source", src);
      if (cfg.township) q.set("township", cfg.township);
      return q;
    };

    // The last answer per URL with its ETag: an unchanged view comes back as 304 with no body.
    const lastSeen = new Map();
    async function getJSON(url, signal) {
      const seen = lastSeen.get(url);
      const headers = { Accept: "application/json" };
      if (seen) headers["If-None-Match"] = seen.etag;
      const resp = await fetch(url, { signal, cache: "no-store", headers });
      if (resp.status === 304 && seen) return seen.body;
      if (resp.status === 401 || resp.status === 403) {
        const err = new Error(`${resp.status} ${url}`);
        err.signedOut = true;  // the session ended or was revoked: retrying will not help
        throw err;
      }
      if (!resp.ok) throw new Error(`${resp.status} ${url}`);
      const body = await resp.json();
      const etag = resp.headers.get("ETag");
      if (etag) {
        if (lastSeen.size > 200) lastSeen.clear();
        lastSeen.set(url, { etag, body });
      }
      return body;
    }

    function drawSummary(s) {
      for (const k of ["open", "overdue", "rebounded", "closed"]) $(`count-${k}`).textContent = s.counts[k];
      const classes = s.choropleth.classes, colours = s.choropleth.colours;
      cfg.townships.eachLayer(layer => {
        const code = layer.feature && layer.feature.id;
        const k = classes[code];
        layer.setStyle({
          fillColor: k == null ? PALETTE.township_fill : colours[k],
          fillOpacity: PALETTE.choropleth_fill_opacity,
        });
      });
      const rows = s.ranking.map((t, i) =>
        `<tr class="${i >= s.ranking.length - 3 ? "worst" : ""}"><td>${t.rank}</td><td>${esc(t.name)}</td>` +
        `<td>${t.open}</td><td>${t.overdue}</td><td>${Math.round(t.overdue_rate * 100)}%</td><td>${t.rebounded}</td></tr>`);
      $("wall-ranking").innerHTML = rows.join("");
      $("wall-ticker").innerHTML = s.ticker.map(t => {
        const when = new Date(t.at);
        return `<li class="t-${t.kind}"><span class="t-time">${pad(when.getMonth() + 1)}-${pad(when.getDate())} ${hhmmss(when).slice(0, 5)}</span>` +
          `<span class="t-kind">${KIND_LABEL[t.kind] || esc(t.kind)}</span>${esc(t.township_name || "")} ` +
          `${esc(t.problem_code || "")} ${esc(t.text || "")}</li>`;
      }).join("");
    }

    function drawProblems(fc) {
      problems.clearLayers();
      // Aggregated views show where work is open; closed-only cells appear as points up close.
      const shown = fc.mode === "points" ? fc : { ...fc, features: fc.features.filter(
        f => f.properties.open + f.properties.overdue + f.properties.rebounded > 0) };
      problems.addData(shown);
      state.mode = fc.mode;
      state.problemFeatures = fc.features.length;
    }

    function setStale(stale) {
      state.stale = stale;
      $("wall-stale").hidden = !stale || state.signedOut;
      document.body.classList.toggle("stale", stale);
    }

    // A kiosk whose session ended says so and how to sign in again, instead of "stale" forever;
    // it keeps checking slowly, so signing in (in this or another tab) brings it back.
    function setSignedOut(out) {
      state.signedOut = out;
      $("wall-signin").hidden = !out;
      $("wall-signin-link").href =
        "/login?next=" + encodeURIComponent(location.pathname + location.search);
      if (out) $("wall-stale").hidden = true;
    }

    async function refresh() {
      if (state.inFlight) state.inFlight.abort();
      const ctrl = new AbortController();
      state.inFlight = ctrl;
      const timeout = setTimeout(() => ctrl.abort(), Math.max(5000, cfg.refresh_ms));
      const q = filters();
      const view = new URLSearchParams(q);
      const b = map.getBounds();
      view.set("zoom", String(Math.round(map.getZoom())));
      view.set("bbox", [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(v => v.toFixed(6)).join(","));
      const heatQ = new URLSearchParams();
      if (cfg.township) heatQ.set("township", cfg.township);
      try {
        const [summary, fc, heatPts] = await Promise.all([
          getJSON(`${cfg.endpoints.summary}?${q}`, ctrl.signal),
          getJSON(`${cfg.endpoints.problems}?${view}`, ctrl.signal),
          getJSON(`${cfg.endpoints.heat}?${heatQ}`, ctrl.signal),
        ]);
        drawSummary(summary);
        drawProblems(fc);
        heat.setLatLngs(heatPts);
        state.heatPoints = heatPts.length;
        state.lastOk = new Date();
        state.refreshes += 1;
        $("wall-updated").textContent = hhmmss(state.lastOk);
        setSignedOut(false);
        setStale(false);
        schedule(cfg.refresh_ms);
      } catch (err) {
        if (ctrl.signal.aborted && state.inFlight !== ctrl) return; // superseded by a newer refresh
        state.failures += 1;
        if (err.signedOut) {
          setSignedOut(true);
          setStale(true);
          schedule(SIGNED_OUT_RETRY_MS);
          return;
        }
        setStale(true);
        schedule(Math.min(cfg.refresh_ms, 2000 * Math.min(state.failures, 5)));
      } finally {
        clearTimeout(timeout);
        if (state.inFlight === ctrl) state.inFlight = null;
      }
    }

    function schedule(ms) {
      clearTimeout(state.timer);
      state.timer = setTimeout(refresh, ms);
    }

    let moveTimer = null;
    map.on("moveend", () => { clearTimeout(moveTimer); moveTimer = setTimeout(refresh, 250); });
    $("filter-category").addEventListener("change", refresh);
    $("filter-source").addEventListener("change", refresh);
    const tick = () => { $("wall-clock").textContent = hhmmss(new Date()); };
    tick();
    setInterval(() => {
      tick();
      if (state.lastOk && Date.now() - state.lastOk.getTime() > 3 * cfg.refresh_ms + 5000) setStale(true);
    }, 1000);

    window.lookbackWall = { state, layers: { problems, heat }, refreshNow: refresh };
    refresh();
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (window.lookbackWallConfig) start(window.lookbackWallConfig);
  });
})();
