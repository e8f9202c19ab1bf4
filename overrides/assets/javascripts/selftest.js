// Self-test mode: collapse every answer on a page so a reader can answer first, then open it.
// The choice is remembered (localStorage) across pages and visits.
(function () {
  var KEY = "kb.selftest";
  var zh = (document.documentElement.lang || "").indexOf("zh") === 0;
  var LABEL = zh ? { on: "退出自测", off: "自测模式：隐藏答案" } : { on: "Leave self-test", off: "Self-test: hide answers" };

  function answers(root) { return root.querySelectorAll("details.success, details.info"); }

  function init() {
    var inner = document.querySelector(".md-content__inner");
    if (!inner || !answers(inner).length || inner.querySelector(".selftest-toggle")) return;
    var on = localStorage.getItem(KEY) === "1";
    var btn = document.createElement("button");
    btn.type = "button";
    btn.className = "md-button selftest-toggle";
    function apply() {
      answers(inner).forEach(function (d) { d.open = !on; });
      btn.textContent = on ? LABEL.on : LABEL.off;
      document.body.classList.toggle("selftest", on);
    }
    btn.addEventListener("click", function () {
      on = !on;
      localStorage.setItem(KEY, on ? "1" : "0");
      apply();
    });
    inner.insertBefore(btn, inner.firstChild);
    apply();
  }

  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  });
  if (window.document$) document$.subscribe(init); else document.addEventListener("DOMContentLoaded", init);
})();
