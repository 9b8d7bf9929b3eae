// Small maps of the suspected-rebound queue: the closed problem and the new complaint or
// inspection, joined by a line. Everything comes from the element's data-* attributes; no
// basemap unless the county configured one.
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
  function draw(el) {
    if (el.dataset.drawn || typeof L === "undefined") { return; }
    var a = point(el.dataset.problem);
    var b = point(el.dataset.trigger);
    if (!a || !b) { return; }
    el.dataset.drawn = "1";
    var map = L.map(el, { attributionControl: false, zoomControl: true, scrollWheelZoom: false });
    if (el.dataset.tileUrl) {
      L.tileLayer(el.dataset.tileUrl, { maxZoom: 18 }).addTo(map);
    }
    L.polyline([a, b], { color: "#555", weight: 2, dashArray: "4 4" }).addTo(map);
    L.circleMarker(a, { radius: 8, color: "#1f5fa8", fillOpacity: 0.7 })
      .bindTooltip(tip(el.dataset.problemLabel), { permanent: true, direction: "top" }).addTo(map);
    L.circleMarker(b, { radius: 8, color: "#c0392b", fillOpacity: 0.7 })
      .bindTooltip(tip(el.dataset.triggerLabel), { permanent: true, direction: "bottom" }).addTo(map);
    map.fitBounds(L.latLngBounds([a, b]), { padding: [40, 40], maxZoom: 17 });
  }
  function all() {
    Array.prototype.forEach.call(document.querySelectorAll(".minimap[data-problem]"), draw);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", all);
  } else {
    all();
  }
})();
