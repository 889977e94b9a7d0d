/* Alliance Digest archive search: a static index, one file per year, matched in the browser.
   Index files are loaded with <script> tags rather than fetch() so search also works when the
   site is opened from disk (file://), where browsers refuse fetch(). The newest year comes
   first, so recent stories show while older years are still loading. */
(function () {
  "use strict";

  var PAGE = 50;
  var form = document.getElementById("search-form");
  var input = document.getElementById("q");
  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");
  var more = document.getElementById("search-more");
  var shards = (form.getAttribute("data-shards") || "").split(" ").filter(Boolean);
  var rows = [];        // every story loaded so far, newest first
  var loaded = 0;       // index files loaded (or failed)
  var failed = 0;
  var loading = false;
  var waiting = [];     // called after each index file
  var query = "";
  var shown = PAGE;
  var typingTimer = null;

  // Lower case, width-folded (NFKC: full-width Latin in Japanese text) and without accents.
  function fold(text) {
    return text.normalize("NFKC").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  // The folded text with, for each of its characters, where it came from in `text`, so that
  // a match found in folded text can be marked in the original.
  function foldMapped(text) {
    var out = "";
    var from = [];
    for (var i = 0; i < text.length; i++) {
      var code = text.charCodeAt(i);
      var ch = code >= 0xd800 && code < 0xdc00 && i + 1 < text.length ? text.slice(i, i + 2) : text[i];
      var f = fold(ch);
      for (var k = 0; k < f.length; k++) { from.push(i); }
      out += f;
      i += ch.length - 1;
    }
    from.push(text.length);
    return { text: out, from: from };
  }

  // A Latin or digit term matches at the start of a word ("war" finds "wars", not "toward");
  // other scripts (Japanese has no spaces between words) match anywhere.
  function matcher(term) {
    var escaped = term.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    return /^[a-z0-9]/.test(term) ? new RegExp("(^|[^a-z0-9])(" + escaped + ")", "g")
                                  : new RegExp("()(" + escaped + ")", "g");
  }

  // Japanese is written without spaces: a phrase such as 護衛艦と駆逐艦 is cut at its kana
  // particles and endings into its kanji and katakana words, each to be found on its own.
  function words(term) {
    if (/[\u3041-\u309f]/.test(term) && /[\u30a0-\u30ff\u3400-\u9fff]/.test(term)) {
      return term.split(/[\u3041-\u309f]+/).filter(Boolean);
    }
    return [term];
  }

  function termsOf(text) {
    var terms = [];
    fold(text).split(/[\s,、。・「」]+/).filter(Boolean).forEach(function (term) {
      words(term).forEach(function (word) { terms.push({ term: word, re: matcher(word) }); });
    });
    return terms;
  }

  // Story rows: [date, anchor, headline, section, text, sources].
  function add(shard) {
    shard.stories.forEach(function (s) {
      rows.push({ story: s, title: shard.issues[s[0]] || s[0],
                  date: (shard.dates && shard.dates[s[0]]) || s[0], headline: fold(s[2]),
                  all: fold(s[2] + "\n" + s[4] + "\n" + s[3] + "\n" + s[5]) });
    });
  }

  window.digestSearchShard = add;

  function found(re, text) {
    re.lastIndex = 0;
    return re.test(text);
  }

  function search(terms) {
    var hits = [];
    rows.forEach(function (row, order) {
      var score = 0;
      for (var i = 0; i < terms.length; i++) {
        if (!found(terms[i].re, row.all)) { return; }
        score += found(terms[i].re, row.headline) ? 3 : 1;
      }
      hits.push({ row: row, score: score, order: order });
    });
    // Best matches first; among equals, the newest (rows are newest first).
    hits.sort(function (a, b) { return b.score - a.score || a.order - b.order; });
    return hits;
  }

  // [start, end) ranges of `text` (original characters) where the terms match.
  function ranges(text, terms) {
    var mapped = foldMapped(text);
    var out = [];
    terms.forEach(function (t) {
      t.re.lastIndex = 0;
      var m;
      while ((m = t.re.exec(mapped.text)) !== null) {
        var start = m.index + m[0].length - m[2].length;
        var end = start + m[2].length;
        out.push([mapped.from[start], mapped.from[end]]);
      }
    });
    out.sort(function (a, b) { return a[0] - b[0]; });
    return out;
  }

  // Append `text` to `parent` with the matched words in <mark>; text nodes only, so nothing in
  // a story can become markup.
  function highlight(parent, text, terms) {
    var last = 0;
    ranges(text, terms).forEach(function (r) {
      if (r[0] < last) { return; }
      parent.appendChild(document.createTextNode(text.slice(last, r[0])));
      var mark = document.createElement("mark");
      mark.textContent = text.slice(r[0], r[1]);
      parent.appendChild(mark);
      last = r[1];
    });
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  // A bit of the story around the first matched word, so the reader sees why it matched.
  // It starts and ends at a word: after a space when one is near (Japanese has none, and
  // any character may start a Japanese snippet).
  function snippet(text, terms) {
    var first = ranges(text, terms)[0];
    var start = first ? Math.max(0, first[0] - 80) : 0;
    var end = Math.min(text.length, start + 240);
    if (start > 0) {
      var space = text.indexOf(" ", start - 1);
      if (space >= 0 && space < (first ? first[0] : start + 40)) { start = space + 1; }
      else if (/[A-Za-z0-9]/.test(text[start - 1] || "")) {
        var back = text.lastIndexOf(" ", start);
        if (back >= 0 && start - back < 40) { start = back + 1; }
      }
    }
    if (end < text.length) {
      var stop = text.lastIndexOf(" ", end);
      if (stop > start + 120) { end = stop; }
    }
    return (start > 0 ? "…" : "") + text.slice(start, end) + (end < text.length ? "…" : "");
  }

  function say(text) { status.textContent = text; }

  function result(hit, terms) {
    var s = hit.row.story;
    var item = document.createElement("li");
    var heading = document.createElement("h2");
    var link = document.createElement("a");
    link.href = s[0] + "/index.html#" + s[1];
    highlight(link, s[2], terms);
    heading.appendChild(link);
    var meta = document.createElement("p");
    meta.className = "meta";
    meta.textContent = hit.row.title + " · " + hit.row.date + " · " + s[3];
    var text = document.createElement("p");
    highlight(text, snippet(s[4], terms), terms);
    // Japanese stories in an English archive (and the reverse) are marked for screen readers.
    var lang = /[\u3040-\u30ff\u3400-\u9fff]/.test(s[2] + s[4].slice(0, 40)) ? "ja" : "en";
    if (lang !== document.documentElement.lang) { item.lang = lang; }
    item.appendChild(heading);
    item.appendChild(meta);
    item.appendChild(text);
    return item;
  }

  function describe(count, done) {
    var quoted = "“" + query + "”";
    if (!done) {
      return "Searching… " + count + (count === 1 ? " story" : " stories") + " so far match " +
        quoted + ".";
    }
    var text = count === 0
      ? "No story matches " + quoted + ". Check the spelling, or try fewer or shorter words."
      : count + (count === 1 ? " story matches " : " stories match ") + quoted + ".";
    if (failed) { text += " Part of the index could not be loaded; some issues were not searched."; }
    return text;
  }

  function show(focusFrom) {
    var terms = termsOf(query);
    list.textContent = "";
    more.hidden = true;
    if (!terms.length) { say(""); return; }
    var done = loaded === shards.length;
    var hits = search(terms);
    // Screen readers hear the count once the whole index is searched, not once per year.
    status.setAttribute("aria-busy", done ? "false" : "true");
    say(describe(hits.length, done));
    hits.slice(0, shown).forEach(function (hit, i) {
      var item = result(hit, terms);
      list.appendChild(item);
      if (i === focusFrom) { item.querySelector("a").focus(); }
    });
    if (hits.length > shown) {
      more.hidden = false;
      more.textContent = "Show " + Math.min(PAGE, hits.length - shown) + " more of " +
        (hits.length - shown);
    }
  }

  function loadIndex() {
    if (loading) { return; }
    loading = true;
    shards.forEach(function (src) {
      var script = document.createElement("script");
      script.src = src;
      script.async = false;  // downloaded together, run in order: newest year first
      script.onload = script.onerror = function (event) {
        loaded += 1;
        if (event.type === "error") { failed += 1; }
        waiting.forEach(function (callback) { callback(); });
      };
      document.head.appendChild(script);
    });
  }

  function run(text) {
    query = text.trim();
    shown = PAGE;
    if (window.history && window.history.replaceState && location.protocol !== "file:") {
      window.history.replaceState(null, "", "search.html" + (query ? "?q=" + encodeURIComponent(query) : ""));
    }
    loadIndex();
    show(-1);
  }

  waiting.push(function () { if (query) { show(-1); } });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    window.clearTimeout(typingTimer);
    run(input.value);
  });
  // Results follow typing, after a short pause so a screen reader is not told every letter.
  input.addEventListener("input", function () {
    window.clearTimeout(typingTimer);
    typingTimer = window.setTimeout(function () { run(input.value); }, 300);
  });
  input.addEventListener("focus", loadIndex);
  input.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && input.value) { input.value = ""; run(""); }
  });
  more.addEventListener("click", function () {
    var from = shown;
    shown += PAGE;
    show(from);
  });

  var initial = new URLSearchParams(location.search).get("q");
  if (initial) { input.value = initial; run(initial); }
})();
