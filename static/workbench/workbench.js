// The workbench's only script besides htmx: say so when the server refuses a request that htmx
// does not swap (403, 404, 5xx) or when the network is down, instead of doing nothing.
(function () {
  "use strict";
  function say(target, zh, en) {
    var box = document.getElementById("request-error");
    if (!box) {
      box = document.createElement("p");
      box.id = "request-error";
      box.className = "field-error";
      box.setAttribute("role", "alert");
      var main = document.getElementById("main");
      main.insertBefore(box, main.firstChild);
    }
    box.textContent = document.documentElement.lang === "en" ? en : zh + " · " + en;
  }
  document.addEventListener("htmx:responseError", function (evt) {
    var status = evt.detail.xhr ? evt.detail.xhr.status : 0;
    say(evt.target, "操作未完成（HTTP " + status + "）：请刷新页面后重试",
      "The server refused this (HTTP " + status + "); reload the page and retry");
  });
  document.addEventListener("htmx:sendError", function (evt) {
    say(evt.target, "网络连接失败，请检查网络后重试", "The network is unreachable; retry when it is back");
  });
})();
