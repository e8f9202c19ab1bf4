// The search index of the page's language, fetched when the reader first opens search rather than on every page.
// Material requests search/search_index.json with XMLHttpRequest as soon as it starts; kb/search.py writes one
// index per language (the default language's at that path, another's under <lang>/search/), so this points the
// request at the page's language and holds it back until the search box gets focus. Loaded before Material's bundle.
(function () {
  var INDEX = /\/search\/search_index\.json$/;
  var lang = (document.documentElement.lang || "en").split("-")[0];
  var open = XMLHttpRequest.prototype.open, send = XMLHttpRequest.prototype.send;
  var engaged = false, held = [];

  function engage() {
    if (engaged) return;
    engaged = true;
    held.splice(0).forEach(function (release) { release(); });
  }

  XMLHttpRequest.prototype.open = function (method, url) {
    var args = Array.prototype.slice.call(arguments);
    if (INDEX.test(String(url))) {
      this.kbSearchIndex = true;
      if (lang !== "en") args[1] = String(url).replace(INDEX, "/" + lang + "/search/search_index.json");
    }
    return open.apply(this, args);
  };
  XMLHttpRequest.prototype.send = function () {
    var xhr = this, args = arguments;
    if (!xhr.kbSearchIndex || engaged) return send.apply(xhr, args);
    held.push(function () { send.apply(xhr, args); });
  };

  document.addEventListener("focusin", function (e) {
    if (e.target.closest && e.target.closest(".md-search")) engage();
  });
  document.addEventListener("change", function (e) {
    if (e.target.id === "__search") engage();
  });
})();
