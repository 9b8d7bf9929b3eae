// The import page: refuse a workbook over the size limit before it is uploaded (the server
// checks again, and checks the type and the contents).
(function () {
  "use strict";
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var form = evt.detail.elt;
    if (!form || !form.matches || !form.matches('form[data-action="preview"]')) return;
    var input = form.querySelector('input[type="file"][name="file"]');
    var file = input && input.files && input.files[0];
    var max = Number(input && input.dataset.maxBytes);
    var box = form.querySelector("[data-client-error]");
    if (box) box.textContent = "";
    if (!file || !max || file.size <= max) return;
    evt.preventDefault();
    var mb = String(max / 1000000);
    var zh = "文件过大（上限 " + mb + " MB），未上传";
    var en = "the file is over " + mb + " MB; it was not uploaded";
    if (box) box.textContent = document.documentElement.lang === "en" ? en : zh + " · " + en;
  });
})();
