/* Brobygger chat widget. On any page:
     <script src="https://BROBYGGER/widget.js" data-lang="so" defer></script>
   adds a "chat with us" button that opens the chat in a frame served by Brobygger (its own styles,
   storage and security rules, untouched by the host page). data-lang is optional. */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || window.__brobyggerWidget) return;
  window.__brobyggerWidget = true;
  var origin = new URL(script.src).origin;
  var texts = {{ texts|tojson }};
  var rtl = {{ rtl|tojson }};
  var lang = script.getAttribute('data-lang');
  if (!texts[lang]) {
    var page = (document.documentElement.lang || '').slice(0, 2).toLowerCase();
    lang = texts[page] ? page : {{ default_language|tojson }};
  }
  var side = rtl.indexOf(lang) >= 0 ? 'left' : 'right';

  var button = document.createElement('button');
  button.type = 'button';
  button.textContent = texts[lang].open_chat;
  button.lang = lang;
  button.setAttribute('aria-expanded', 'false');
  button.setAttribute('data-brobygger', 'open');
  var b = button.style;
  b.position = 'fixed'; b.bottom = '1rem'; b[side] = '1rem'; b.zIndex = '2147483646';
  b.padding = '.7rem 1.1rem'; b.minHeight = '2.75rem'; b.borderRadius = '1.5rem'; b.border = '2px solid #fff';
  b.background = '#0b4f6c'; b.color = '#fff'; b.font = '600 1rem system-ui, sans-serif'; b.cursor = 'pointer';
  b.boxShadow = '0 2px 8px rgba(0,0,0,.3)';

  var frame = null;
  function open() {
    if (!frame) {
      frame = document.createElement('iframe');
      frame.src = origin + '/?embed=1&lang=' + encodeURIComponent(lang);
      frame.title = texts[lang].title;
      frame.setAttribute('data-brobygger', 'chat');
      var f = frame.style;
      f.position = 'fixed'; f.bottom = '4.5rem'; f[side] = '1rem'; f.zIndex = '2147483647';
      f.width = 'min(26rem, calc(100vw - 2rem))'; f.height = 'min(40rem, calc(100vh - 6rem))';
      f.border = '1px solid #8a969e'; f.borderRadius = '.75rem'; f.background = '#fff';
      f.boxShadow = '0 4px 18px rgba(0,0,0,.3)';
      document.body.appendChild(frame);
    }
    frame.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    frame.focus();
  }
  function close() {
    if (frame) frame.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    button.focus();
  }
  button.addEventListener('click', function () { if (frame && !frame.hidden) close(); else open(); });
  window.addEventListener('message', function (event) {
    if (event.origin === origin && event.data === 'brobygger:close') close();
  });
  document.addEventListener('keydown', function (event) {
    if (event.key === 'Escape' && frame && !frame.hidden) close();
  });
  document.body.appendChild(button);
})();
