// The workbench's small maps. Everything comes from the element's data-* attributes (no inline
// script, no request of its own); no basemap unless the county configured a WGS-84 one.
//  - .minimap[data-problem]: a suspected rebound, the closed problem and the new report joined
//    by a line (data-problem, data-trigger: "lon,lat"; data-problem-label, data-trigger-label).
//  - .minimap[data-features]: a GeoJSON FeatureCollection drawn as it comes, each feature with
//    its colours (stroke, fill, fill_opacity) and its label (label_zh, label_en) as a tooltip;
//    with data-link (a path such as "/ledger/") a click opens a popup linking to the path
//    followed by the feature's code. data-lang picks the label's language.
// Labels are set as text, never as HTML.
(function () {
  "use strict";
  function point(text) {
    var parts = String(text || "").split(",").map(Number);
    return parts.length === 2 && isFinite(parts[0]) && isFinite(parts[1]) ? [parts[1], parts[0]] : null;
  }
  function tip(text) {
    var span = document.createElement("span");
    span.textContent = text;  // text, never HTML
    return span;
  }
  function base(el, snap) {
    el.dataset.drawn = "1";
    var map = L.map(el, {
      attributionControl: false, zoomControl: true, scrollWheelZoom: false, zoomSnap: snap || 1
    });
    if (el.dataset.tileUrl) {
      L.tileLayer(el.dataset.tileUrl, { maxZoom: 18 }).addTo(map);
    }
    return map;
  }
  function drawPair(el) {
    var a = point(el.dataset.problem);
    var b = point(el.dataset.trigger);
    if (!a || !b) { return; }
    var map = base(el);
    L.polyline([a, b], { color: "#555", weight: 2, dashArray: "4 4" }).addTo(map);
    L.circleMarker(a, { radius: 8, color: "#1f5fa8", fillOpacity: 0.7 })
      .bindTooltip(tip(el.dataset.problemLabel), { permanent: true, direction: "top" }).addTo(map);
    L.circleMarker(b, { radius: 8, color: "#c0392b", fillOpacity: 0.7 })
      .bindTooltip(tip(el.dataset.triggerLabel), { permanent: true, direction: "bottom" }).addTo(map);
    map.fitBounds(L.latLngBounds([a, b]), { padding: [40, 40], maxZoom: 17 });
  }
  function style(props) {
    return {
      color: props.stroke || "#555555",
      weight: props.role === "problem" ? 3 : 1.5,
      fillColor: props.fill || props.stroke || "#555555",
      fillOpacity: typeof props.fill_opacity === "number" ? props.fill_opacity : 0.6
    };
  }
  function link(href, text) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = text;  // text, never HTML
    return a;
  }
  function drawFeatures(el) {
    var data;
    try { data = JSON.parse(el.dataset.features); } catch (e) { return; }
    if (!data || !data.features || !data.features.length) { return; }
    var lang = el.dataset.lang === "en" ? "en" : "zh";
    var map = base(el, 0.25);
    var labelled = el.dataset.labels === "permanent";
    var prefix = /^\/[\w\/-]*$/.test(el.dataset.link || "") ? el.dataset.link : "";
    var layer = L.geoJSON(data, {
      style: function (f) { return style(f.properties || {}); },
      pointToLayer: function (f, latlng) {
        var props = f.properties || {};
        var s = style(props);
        s.radius = props.role === "problem" ? 9 : 6;
        s.fillOpacity = 0.9;
        return L.circleMarker(latlng, s);
      },
      onEachFeature: function (f, item) {
        var props = f.properties || {};
        var text = props["label_" + lang] || props.label_zh || "";
        if (text) {
          item.bindTooltip(tip(text), {
            permanent: labelled && props.role === "problem", direction: "top"
          });
        }
        if (prefix && props.code) {
          item.bindPopup(link(prefix + encodeURIComponent(props.code), text));
        }
      }
    }).addTo(map);
    // zones under the points, the problem on top
    layer.eachLayer(function (item) {
      var f = item.feature || {};
      if ((f.properties || {}).role === "problem") {
        item.bringToFront();
      } else if (f.geometry && /Polygon/.test(f.geometry.type)) {
        item.bringToBack();
      }
    });
    var bounds = layer.getBounds();
    if (bounds.isValid()) {
      map.fitBounds(bounds, { padding: [24, 24], maxZoom: 16 });
    }
  }
  function draw(el) {
    if (el.dataset.drawn || typeof L === "undefined") { return; }
    if (el.dataset.features) { drawFeatures(el); } else if (el.dataset.problem) { drawPair(el); }
  }
  function all() {
    Array.prototype.forEach.call(
      document.querySelectorAll(".minimap[data-problem], .minimap[data-features]"), draw);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", all);
  } else {
    all();
  }
  // the ledger's results are swapped in by htmx when the filter changes: draw the new map
  document.addEventListener("htmx:afterSettle", all);
})();
