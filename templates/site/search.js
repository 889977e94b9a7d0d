/* Alliance Digest archive search: the whole index is a static file, matched in the browser.
   The index is loaded with a <script> tag rather than fetch() so search also works when the
   site is opened from disk (file://), where browsers refuse fetch(). */
(function () {
  "use strict";

  var MAX_RESULTS = 50;
  var form = document.getElementById("search-form");
  var input = document.getElementById("q");
  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");
  var folded = null;

  // Lower case, width-folded (NFKC: full-width Latin in Japanese text) and without accents.
  function fold(text) {
    return text.normalize("NFKC").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function loadIndex(done) {
    if (window.DIGEST_SEARCH_INDEX) { done(window.DIGEST_SEARCH_INDEX); return; }
    var script = document.createElement("script");
    script.src = form.getAttribute("data-index");
    script.onload = function () { done(window.DIGEST_SEARCH_INDEX); };
    script.onerror = function () { say("The search index could not be loaded."); };
    document.head.appendChild(script);
  }

  function say(text) { status.textContent = text; }

  // Story rows: [date, anchor, headline, section, text, sources].
  function prepare(index) {
    folded = index.stories.map(function (s) {
      return { story: s, headline: fold(s[2]), all: fold(s[2] + " " + s[4] + " " + s[3] + " " + s[5]) };
    });
  }

  function search(index, query) {
    var terms = fold(query).split(/\s+/).filter(Boolean);
    if (!terms.length) { return []; }
    if (!folded) { prepare(index); }
    var hits = [];
    folded.forEach(function (row, order) {
      var score = 0;
      for (var i = 0; i < terms.length; i++) {
        if (row.all.indexOf(terms[i]) === -1) { return; }
        score += row.headline.indexOf(terms[i]) !== -1 ? 3 : 1;
      }
      hits.push({ row: row, score: score, order: order });
    });
    // Best matches first; among equals, the newest (the index is newest first).
    hits.sort(function (a, b) { return b.score - a.score || a.order - b.order; });
    return hits;
  }

  // A bit of the story around the first matched word, so the reader sees why it matched.
  function snippet(text, terms) {
    var lower = fold(text);
    var at = -1;
    for (var i = 0; i < terms.length && at === -1; i++) { at = lower.indexOf(terms[i]); }
    var start = Math.max(0, at - 80);
    var piece = text.slice(start, start + 240);
    return (start > 0 ? "…" : "") + piece + (start + 240 < text.length ? "…" : "");
  }

  // Append `text` to `parent` with the searched words wrapped in <mark>; text nodes only, so
  // nothing in a story can become markup.
  function highlight(parent, text, terms) {
    var escaped = terms.map(function (t) { return t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); });
    var pattern = new RegExp(escaped.join("|"), "gi");
    var last = 0;
    text.replace(pattern, function (match, offset) {
      parent.appendChild(document.createTextNode(text.slice(last, offset)));
      var mark = document.createElement("mark");
      mark.textContent = match;
      parent.appendChild(mark);
      last = offset + match.length;
      return match;
    });
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function show(index, query) {
    list.textContent = "";
    var hits = search(index, query);
    var terms = fold(query).split(/\s+/).filter(Boolean);
    if (!terms.length) { say(""); return; }
    say(hits.length === 0 ? "No story matches “" + query + "”." :
        hits.length + (hits.length === 1 ? " story matches" : " stories match") + " “" + query + "”" +
        (hits.length > MAX_RESULTS ? "; the first " + MAX_RESULTS + " are shown." : "."));
    hits.slice(0, MAX_RESULTS).forEach(function (hit) {
      var s = hit.row.story;
      var item = document.createElement("li");
      var heading = document.createElement("h2");
      var link = document.createElement("a");
      link.href = s[0] + "/index.html#" + s[1];
      highlight(link, s[2], terms);
      heading.appendChild(link);
      var meta = document.createElement("p");
      meta.className = "meta";
      meta.textContent = (index.issues[s[0]] || s[0]) + " · " + s[0] + " · " + s[3];
      var text = document.createElement("p");
      highlight(text, snippet(s[4], terms), terms);
      item.appendChild(heading);
      item.appendChild(meta);
      item.appendChild(text);
      list.appendChild(item);
    });
  }

  function run(query) {
    say("Searching…");
    loadIndex(function (index) { show(index, query); });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var query = input.value.trim();
    if (window.history && window.history.replaceState && location.protocol !== "file:") {
      window.history.replaceState(null, "", "search.html?q=" + encodeURIComponent(query));
    }
    run(query);
  });

  var initial = new URLSearchParams(location.search).get("q");
  if (initial) { input.value = initial; run(initial); }
})();
