// The random-drill page: a question at a time, the interview answer on request, a grade, and Leitner boxes that
// bring missed questions back sooner. kb/drill.py writes, beside each language's drill page, drill-data.js (every
// question, without answers) and drill-answers-<topic>.js (a topic's answers), loaded when a question of the topic
// is first drawn; script tags rather than fetch(), so the page also works from file://. Progress is kept in
// localStorage, per language.
(function () {
  var root = document.getElementById("drill");
  if (!root || !window.KB_QUESTIONS) return;
  var zh = (document.documentElement.lang || "").indexOf("zh") === 0;
  var T = zh ? {
    topic: "主题", level: "难度", all: "全部", easy: "简单", medium: "中等", hard: "困难",
    reveal: "显示答案（空格）", knew: "会（1）", missed: "不会（2）", explanation: "到主题页看详解 →",
    status: "待复习 {due} · 未练过 {fresh} · 已掌握 {known} / {total}", none: "没有符合条件的题目。",
    progress: "各主题进度", seen: "练过", knownCol: "已掌握", totalCol: "题数", reset: "清除进度"
  } : {
    topic: "Topic", level: "Level", all: "all", easy: "easy", medium: "medium", hard: "hard",
    reveal: "Show answer (Space)", knew: "Knew it (1)", missed: "Didn't (2)", explanation: "Explanation on the topic page →",
    status: "Due {due} · new {fresh} · known {known} of {total}", none: "No question matches this filter.",
    progress: "Progress per topic", seen: "Seen", knownCol: "Known", totalCol: "Questions", reset: "Clear progress"
  };
  // Leitner box b (1 = just missed, 5 = known for long) comes back after INTERVAL[b] further questions.
  var INTERVAL = [0, 2, 6, 15, 40, 100];
  var KEY = "kb.drill." + (zh ? "zh" : "en");
  var questions = window.KB_QUESTIONS, state = load(), current = null, revealed = false;

  function load() {
    try { return JSON.parse(localStorage.getItem(KEY)) || { n: 0, cards: {} }; } catch (e) { return { n: 0, cards: {} }; }
  }
  function save() { localStorage.setItem(KEY, JSON.stringify(state)); }
  function el(tag, attrs, html) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (html !== undefined) e.innerHTML = html;
    return e;
  }
  function select(label, options) {
    var s = el("select", { "aria-label": label });
    options.forEach(function (o) { s.appendChild(el("option", { value: o[0] }, o[1])); });
    var wrap = el("label", { class: "drill-filter" }, label + " ");
    wrap.appendChild(s);
    filters.appendChild(wrap);
    s.addEventListener("change", next);
    return s;
  }

  var filters = el("div", { class: "drill-filters" });
  var topics = [];
  questions.forEach(function (q) { if (!topics.some(function (t) { return t[0] === q.topic; })) topics.push([q.topic, q.topicTitle]); });
  topics.sort(function (a, b) { return a[1].localeCompare(b[1], zh ? "zh" : "en"); });
  var topicSelect = select(T.topic, [["", T.all]].concat(topics));
  var levelSelect = select(T.level, [["", T.all], ["easy", T.easy], ["medium", T.medium], ["hard", T.hard]]);
  var status = el("p", { class: "drill-status", "aria-live": "polite" });
  var card = el("div", { class: "drill-card" });
  var progress = el("div", { class: "drill-progress" });
  var reset = el("button", { type: "button", class: "md-button drill-reset" }, T.reset);
  reset.addEventListener("click", function () { state = { n: 0, cards: {} }; save(); next(); });
  [filters, status, card, progress, reset].forEach(function (e) { root.appendChild(e); });

  function pool() {
    return questions.filter(function (q) {
      return (!topicSelect.value || q.topic === topicSelect.value) && (!levelSelect.value || q.level === levelSelect.value);
    });
  }
  function pick(candidates) {
    var others = candidates.length > 1 && current ? candidates.filter(function (q) { return q.key !== current.key; }) : candidates;
    var due = others.filter(function (q) { var c = state.cards[q.key]; return c && c.due <= state.n; });
    if (due.length) {  // missed questions (low boxes) first, then the longest overdue
      due.sort(function (a, b) { var x = state.cards[a.key], y = state.cards[b.key]; return x.box - y.box || x.due - y.due; });
      return due[0];
    }
    var fresh = others.filter(function (q) { return !state.cards[q.key]; });
    if (fresh.length) return fresh[Math.floor(Math.random() * fresh.length)];
    return others.slice().sort(function (a, b) { return state.cards[a.key].due - state.cards[b.key].due; })[0];
  }
  var loading = {};
  function withAnswers(topic, then) {  // the topic's answers, loaded once
    if ((window.KB_ANSWERS || {})[topic]) return then();
    if (!loading[topic]) {
      loading[topic] = [];
      var s = el("script", { src: "drill-answers-" + topic + ".js" });
      s.onload = function () { loading[topic].splice(0).forEach(function (f) { f(); }); };
      document.body.appendChild(s);
    }
    loading[topic].push(then);
  }
  function show(q) {
    current = q; revealed = false;
    if (q) withAnswers(q.topic, function () {});  // fetched while the reader thinks
    root.setAttribute("data-current", q ? q.key : "");
    card.innerHTML = "";
    if (!q) { card.appendChild(el("p", {}, T.none)); return; }
    card.appendChild(el("p", { class: "drill-meta" }, q.topicTitle + ' · <span class="level level-' + q.level + '">' + T[q.level] + "</span>"));
    card.appendChild(el("h2", { class: "drill-question" }, q.title));
    var button = el("button", { type: "button", class: "md-button md-button--primary drill-reveal" }, T.reveal);
    button.addEventListener("click", reveal);
    card.appendChild(button);
  }
  function reveal() {
    if (!current || revealed) return;
    revealed = true;
    var q = current;
    withAnswers(q.topic, function () { if (current === q) showAnswer(q); });
  }
  function showAnswer(q) {
    card.querySelector(".drill-reveal").remove();
    card.appendChild(el("div", { class: "drill-answer" }, window.KB_ANSWERS[q.topic][q.key]));
    card.appendChild(el("p", {}, '<a href="' + q.url + '">' + T.explanation + "</a>"));
    var grades = el("div", { class: "drill-grades" });
    [[true, T.knew, "drill-knew"], [false, T.missed, "drill-missed"]].forEach(function (g) {
      var b = el("button", { type: "button", class: "md-button " + g[2] }, g[1]);
      b.addEventListener("click", function () { grade(g[0]); });
      grades.appendChild(b);
    });
    card.appendChild(grades);
    grades.querySelector("button").focus();
  }
  function grade(knew) {
    if (!current || !card.querySelector(".drill-answer")) return;  // only once the answer is on screen
    var c = state.cards[current.key] || { box: 1, due: 0 };
    c.box = knew ? Math.min(c.box + 1, 5) : 1;
    state.n += 1;
    c.due = state.n + INTERVAL[c.box];
    state.cards[current.key] = c;
    save();
    next();
  }
  function render() {
    var p = pool(), counts = { due: 0, fresh: 0, known: 0, total: p.length };
    p.forEach(function (q) {
      var c = state.cards[q.key];
      if (!c) counts.fresh += 1; else if (c.due <= state.n) counts.due += 1;
      if (c && c.box >= 2) counts.known += 1;
    });
    status.textContent = T.status.replace(/\{(\w+)\}/g, function (_, k) { return counts[k]; });
    var rows = topics.map(function (t) {
      var qs = questions.filter(function (q) { return q.topic === t[0]; });
      var seen = qs.filter(function (q) { return state.cards[q.key]; }).length;
      var known = qs.filter(function (q) { var c = state.cards[q.key]; return c && c.box >= 2; }).length;
      return "<tr><td>" + t[1] + "</td><td>" + seen + "</td><td>" + known + "</td><td>" + qs.length + "</td></tr>";
    });
    progress.innerHTML = "<h2>" + T.progress + "</h2><table><thead><tr><th>" + T.topic + "</th><th>" + T.seen +
      "</th><th>" + T.knownCol + "</th><th>" + T.totalCol + "</th></tr></thead><tbody>" + rows.join("") + "</tbody></table>";
  }
  function next() { show(pick(pool()) || null); render(); }

  document.addEventListener("keydown", function (e) {
    if (e.target.closest && e.target.closest("input, select, textarea")) return;
    if (e.key === " " && current && !revealed) { e.preventDefault(); reveal(); }
    else if (e.key === "1") grade(true);
    else if (e.key === "2") grade(false);
  });
  next();
})();
