// The workshop page: sends each photo on its own to api/report (so each
// has its own progress), shows the report's sections the server rendered
// for it. Nothing is stored in the browser either.
'use strict';

(function () {
  var input = document.getElementById('files');
  var drop = document.getElementById('drop');
  var progress = document.getElementById('progress');
  var results = document.getElementById('results');
  // The access token of --listen mode travels in the page's own query.
  var endpoint = 'api/report' + window.location.search;
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
      queue.push({ file: file, row: row, state: state, section: section });
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
        show(job, xhr.responseText);
        finish(job, 'done', 'done');
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

  // The server's fragment is parsed inertly (no script in it runs; the
  // page's policy allows none) and its nodes moved into the page.
  function show(job, html) {
    var doc = new DOMParser().parseFromString('<!DOCTYPE html><body>' + html, 'text/html');
    var title = el('h2', 'upload-name', job.file.name);
    job.section.textContent = '';
    job.section.appendChild(title);
    var nodes = Array.prototype.slice.call(doc.body.childNodes);
    nodes.forEach(function (n) { job.section.appendChild(document.adoptNode(n)); });
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
