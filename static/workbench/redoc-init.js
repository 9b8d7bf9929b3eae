// ReDoc for /redoc, started from a file so the page needs no inline script (CSP).
(function () {
  "use strict";
  var el = document.getElementById("redoc");
  Redoc.init(el.getAttribute("data-openapi-url"), { disableSearch: true, hideDownloadButton: false }, el);
})();
