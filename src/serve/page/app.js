// The workshop page: sends each photo on its own to api/report (so each
// has its own progress), shows the report's sections the server rendered
// for it, and keeps its results (face embeddings included) in this tab's
// memory only, to send them all to api/findings after each upload: the
// server keeps nothing, so the findings across the photos come from here.
// Nothing is stored in the browser (no storage API, no cookie of ours).
'use strict';

(function () {
  var input = document.getElementById('files');
  var drop = document.getElementById('drop');
  var progress = document.getElementById('progress');
  var results = document.getElementById('results');
  // The access token of --listen mode travels in the page's own query.
  var endpoint = 'api/report' + window.location.search;
  var findingsEndpoint = 'api/findings' + window.location.search;
  var across = document.getElementById('across');
  // Results per upload, in upload order (sparse until each arrives).
  var held = [];
  var findingsRunning = false;
  var findingsAgain = false;
  var queue = [];
  var running = 0;
  var PARALLEL = 2;
  var counter = 0;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function add(files) {
    for (var i = 0; i < files.length; i++) {
      var file = files[i];
      counter += 1;
      var row = el('li', 'waiting');
      row.id = 'upload-' + counter;
      row.appendChild(el('span', 'name', file.name));
      var state = el('span', 'state', 'waiting');
      row.appendChild(state);
      progress.appendChild(row);
      var section = el('section', 'upload');
      section.setAttribute('aria-label', file.name);
      results.appendChild(section);
      queue.push({ file: file, row: row, state: state, section: section, n: counter });
    }
    pump();
  }

  function pump() {
    while (running < PARALLEL && queue.length > 0) {
      running += 1;
      send(queue.shift());
    }
  }

  function finish(job, cls, text) {
    job.row.className = cls;
    job.state.textContent = text;
    running -= 1;
    pump();
  }

  function send(job) {
    var form = new FormData();
    form.append('file', job.file, job.file.name);
    var xhr = new XMLHttpRequest();
    xhr.open('POST', endpoint);
    job.row.className = 'uploading';
    job.state.textContent = 'uploading';
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) {
        job.state.textContent = 'uploading ' + Math.round(100 * e.loaded / e.total) + '%';
      }
    };
    xhr.upload.onload = function () {
      job.row.className = 'analysing';
      job.state.textContent = 'analysing';
    };
    xhr.onerror = function () { finish(job, 'failed', 'failed: the server could not be reached'); };
    xhr.onload = function () {
      if (xhr.status === 200) {
        var reply = JSON.parse(xhr.responseText);
        show(job, reply.html);
        held[job.n] = reply.images;
        finish(job, 'done', 'done');
        updateFindings();
      } else if (xhr.status === 503) {
        // Busy: wait as told, then try again.
        var wait = parseInt(xhr.getResponseHeader('Retry-After') || '2', 10);
        job.state.textContent = 'busy, trying again in ' + wait + ' s';
        setTimeout(function () { send(job); }, wait * 1000);
      } else {
        var message = 'failed';
        try { message = 'failed: ' + JSON.parse(xhr.responseText).error; } catch (e) { /* not JSON */ }
        finish(job, 'failed', message);
      }
    };
    xhr.send(form);
  }

  // All results held, sent back; the answer replaces the cross-photo
  // section. One request at a time; uploads finished meanwhile send again.
  function updateFindings() {
    if (findingsRunning) { findingsAgain = true; return; }
    var images = [];
    var owners = [];
    held.forEach(function (list, n) {
      if (!list) return;
      list.forEach(function (image) { images.push(image); owners.push(n); });
    });
    if (images.length < 2) return;
    findingsRunning = true;
    findingsAgain = false;
    var xhr = new XMLHttpRequest();
    xhr.open('POST', findingsEndpoint);
    xhr.setRequestHeader('Content-Type', 'application/json');
    var done = function () {
      findingsRunning = false;
      if (findingsAgain) updateFindings();
    };
    xhr.onerror = done;
    xhr.onload = function () {
      if (xhr.status === 200) {
        showAcross(xhr.responseText, owners);
      } else if (xhr.status === 503) {
        findingsAgain = true;
        findingsRunning = false;
        setTimeout(updateFindings, 2000);
        return;
      }
      done();
    };
    xhr.send(JSON.stringify({ images: images }));
  }

  function showAcross(html, owners) {
    var doc = new DOMParser().parseFromString('<!DOCTYPE html><body>' + html, 'text/html');
    // Links to the i-th photo lead to that upload's own section.
    Array.prototype.forEach.call(doc.querySelectorAll('a[href^="#image-"]'), function (a) {
      var i = parseInt(a.getAttribute('href').slice('#image-'.length), 10);
      if (owners[i - 1] !== undefined) a.setAttribute('href', '#u' + owners[i - 1] + '-image-1');
    });
    unique(doc, 'across-');
    across.textContent = '';
    across.appendChild(el('h2', 'across-title', 'Across your photos'));
    Array.prototype.slice.call(doc.body.childNodes).forEach(function (n) {
      across.appendChild(document.adoptNode(n));
    });
    across.hidden = false;
  }

  // Each fragment is a report page's own: its ids are made unique to it,
  // and the references to them follow.
  function unique(doc, prefix) {
    Array.prototype.forEach.call(doc.querySelectorAll('[id]'), function (e) { e.id = prefix + e.id; });
    ['aria-labelledby', 'aria-describedby', 'for'].forEach(function (attr) {
      Array.prototype.forEach.call(doc.querySelectorAll('[' + attr + ']'), function (e) {
        e.setAttribute(attr, e.getAttribute(attr).split(' ').map(function (v) { return prefix + v; }).join(' '));
      });
    });
    Array.prototype.forEach.call(doc.querySelectorAll('a[href^="#"]'), function (a) {
      var h = a.getAttribute('href');
      if (h.indexOf('#' + prefix) !== 0 && h.indexOf('#u') !== 0) a.setAttribute('href', '#' + prefix + h.slice(1));
    });
  }

  // The server's fragment is parsed inertly (no script in it runs; the
  // page's policy allows none) and its nodes moved into the page.
  function show(job, html) {
    var doc = new DOMParser().parseFromString('<!DOCTYPE html><body>' + html, 'text/html');
    unique(doc, 'u' + job.n + '-');
    var title = el('h2', 'upload-name', job.file.name);
    job.section.textContent = '';
    job.section.appendChild(title);
    openable(doc);
    var nodes = Array.prototype.slice.call(doc.body.childNodes);
    nodes.forEach(function (n) { job.section.appendChild(document.adoptNode(n)); });
  }

  // Links to full-size copies and keyframes arrive as data: URLs, which
  // browsers will not open as a page; each becomes a blob: URL (held in
  // this tab's memory, one per distinct picture) opened in a new tab.
  function openable(doc) {
    var made = {};
    Array.prototype.forEach.call(doc.querySelectorAll('a[href^="data:image/"]'), function (a) {
      var href = a.getAttribute('href');
      if (!made[href]) {
        var comma = href.indexOf(',');
        var type = href.slice('data:'.length, href.indexOf(';'));
        var bytes = atob(href.slice(comma + 1));
        var buf = new Uint8Array(bytes.length);
        for (var i = 0; i < bytes.length; i++) buf[i] = bytes.charCodeAt(i);
        made[href] = URL.createObjectURL(new Blob([buf], { type: type }));
      }
      a.setAttribute('href', made[href]);
      a.setAttribute('target', '_blank');
      a.setAttribute('rel', 'noopener');
    });
  }

  input.addEventListener('change', function () {
    add(input.files);
    input.value = '';
  });
  ['dragenter', 'dragover'].forEach(function (t) {
    drop.addEventListener(t, function (e) { e.preventDefault(); drop.classList.add('over'); });
  });
  ['dragleave', 'drop'].forEach(function (t) {
    drop.addEventListener(t, function (e) { e.preventDefault(); drop.classList.remove('over'); });
  });
  drop.addEventListener('drop', function (e) {
    if (e.dataTransfer && e.dataTransfer.files) add(e.dataTransfer.files);
  });
  drop.addEventListener('submit', function (e) { e.preventDefault(); });
})();
