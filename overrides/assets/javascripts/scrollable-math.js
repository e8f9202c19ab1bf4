// A display formula wider than its column scrolls sideways (kb.css); one that does is given a tab stop, so a
// keyboard can scroll it too. Measured again when the window is resized and when a closed answer is opened.
(function () {
  function mark() {
    document.querySelectorAll(".md-typeset div.arithmatex").forEach(function (el) {
      if (el.scrollWidth > el.clientWidth + 1) el.setAttribute("tabindex", "0");
      else el.removeAttribute("tabindex");
    });
  }
  window.addEventListener("resize", mark);
  document.addEventListener("toggle", mark, true);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mark); else mark();
})();
