/* Brobygger web chat. Plain script, no framework: a cheap phone downloads and runs it fast.
   Rules kept here: citizen and bot text only ever goes into textContent (never HTML); a message that
   fails to send stays on screen and in the box; the conversation id lives in localStorage so a
   reload continues the chat; later messages (a counsellor) arrive on an EventSource stream, or by
   polling where that is not available. */
(function () {
  'use strict';

  var config = JSON.parse(document.getElementById('brobygger-config').textContent);
  var KEY_ID = 'brobygger.conversation';
  var KEY_LANGUAGE = 'brobygger.language';
  var POLL_MS = 5000;
  var RTL = config.rtl;

  var $ = function (id) { return document.getElementById(id); };
  var log = $('log'), quick = $('quick'), input = $('input'), form = $('composer'), typing = $('typing');
  var errorBox = $('error'), errorText = $('error-text'), announce = $('announce');

  // localStorage can be refused (private mode, blocked third-party storage in an embedded frame).
  var memory = {};
  function load(key) { try { return window.localStorage.getItem(key); } catch (e) { return memory[key] || null; } }
  function save(key, value) { try { window.localStorage.setItem(key, value); } catch (e) { memory[key] = value; } }

  function newId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }

  var conversationId = load(KEY_ID);
  var language = config.chosen ? config.language : (load(KEY_LANGUAGE) || config.language);
  // Sent with the next message only when the citizen picked it; otherwise the bot recognises it.
  var picked = config.chosen ? config.language : null;
  var shown = {};
  var lastId = 0;
  var live = null;
  var pending = null;  // the text of a message that failed, for "try again"

  function t(name) { return (config.texts[language] || config.texts.en)[name] || ''; }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // --- language -------------------------------------------------------------------------------
  function applyLanguage(code) {
    if (!config.texts[code]) return;
    language = code;
    save(KEY_LANGUAGE, code);
    var root = document.documentElement;
    root.lang = code;
    root.dir = RTL.indexOf(code) >= 0 ? 'rtl' : 'ltr';
    document.title = t('title');
    Array.prototype.forEach.call(document.querySelectorAll('[data-text]'), function (node) {
      node.textContent = t(node.getAttribute('data-text'));
    });
    Array.prototype.forEach.call(document.querySelectorAll('[data-label]'), function (node) {
      node.setAttribute('aria-label', t(node.getAttribute('data-label')));
    });
    input.placeholder = t('placeholder');
    $('privacy').textContent = config.privacy[code] || '';
    Array.prototype.forEach.call(document.querySelectorAll('[data-language]'), function (button) {
      button.setAttribute('aria-pressed', String(button.getAttribute('data-language') === code));
    });
  }

  $('languages').addEventListener('click', function (event) {
    var button = event.target.closest('[data-language]');
    if (!button) return;
    picked = button.getAttribute('data-language');
    applyLanguage(picked);
  });

  // --- messages -------------------------------------------------------------------------------
  function scrollToEnd(node) {
    if (node.scrollIntoView) node.scrollIntoView({ block: 'nearest' });
  }

  function addMessage(message, fromHistory) {
    if (message.id) {
      if (shown[message.id]) return null;
      shown[message.id] = true;
      lastId = Math.max(lastId, message.id);
    }
    var item = el('div', 'msg ' + message.author);
    if (message.author === 'counsellor') {
      item.appendChild(el('span', 'who', t('counsellor')));
    } else {
      item.appendChild(el('span', 'sr-only', (message.author === 'citizen' ? t('you') : 'Brobygger') + ':'));
    }
    var offers = message.offers || [];
    // With cards, a list's lead (its first and last lines) is enough; the cards carry each offer. A
    // single offer's details stay as text, and its card keeps only the buttons.
    var text = el('p', null, offers.length && message.lead ? message.lead : message.text);
    text.dir = 'auto';
    item.appendChild(text);
    if (offers.length) item.appendChild(offerCards(offers, !message.lead));
    log.appendChild(item);
    $('intro').hidden = true;
    if (message.author !== 'citizen') showQuickReplies(message.quick_replies || [], fromHistory);
    scrollToEnd(item);
    return item;
  }

  function showQuickReplies(replies, fromHistory) {
    quick.textContent = '';
    if (fromHistory) return;
    replies.forEach(function (reply) {
      var button = el('button', null, reply);
      button.type = 'button';
      button.dir = 'auto';
      button.addEventListener('click', function () { send(reply); });
      quick.appendChild(button);
    });
  }

  // --- offer cards ----------------------------------------------------------------------------
  function webUrl(value) {
    if (!value) return null;
    try {
      var url = new URL(/^https?:\/\//i.test(value) ? value : 'https://' + value);
      return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
    } catch (e) { return null; }
  }

  function telUrl(phone) {
    var digits = String(phone || '').replace(/[^\d+]/g, '');
    return digits.length >= 3 ? 'tel:' + digits : null;
  }

  function mapUrl(offer) {
    var c = offer.coordinates;
    if (c && typeof c.lat === 'number' && typeof c.lon === 'number') {
      return 'https://www.openstreetmap.org/?mlat=' + c.lat + '&mlon=' + c.lon + '#map=17/' + c.lat + '/' + c.lon;
    }
    if (offer.address) return 'https://www.openstreetmap.org/search?query=' + encodeURIComponent(offer.address);
    return null;
  }

  function link(href, className, label, extra) {
    var a = el('a', className, label);
    a.href = href;
    if (/^https?:/.test(href)) { a.target = '_blank'; a.rel = 'noopener noreferrer'; }
    if (extra) { var b = el('bdi', null, extra); b.dir = 'ltr'; a.appendChild(b); }
    return a;
  }

  function offerCards(offers, buttonsOnly) {
    var list = el('ul', 'offers');
    offers.forEach(function (offer, index) {
      var card = el('li', 'card');
      card.lang = language;
      var heading = el('h3', null, buttonsOnly ? offer.title : (offer.number || index + 1) + '. ' + offer.title);
      heading.dir = 'auto';
      card.appendChild(heading);
      if (!buttonsOnly && offer.summary) {
        var summary = el('p', null, offer.summary);
        summary.dir = 'auto';
        card.appendChild(summary);
      }
      var meta = [offer.address || offer.place || offer.municipality, offer.hours].filter(Boolean).join(' · ');
      if (meta && !buttonsOnly) { var metaLine = el('p', 'meta', meta); metaLine.dir = 'auto'; card.appendChild(metaLine); }
      var actions = el('div', 'actions');
      var tel = telUrl(offer.phone);
      if (tel) actions.appendChild(link(tel, 'call', t('call'), offer.phone));
      var site = webUrl(offer.url);
      if (site) actions.appendChild(link(site, null, t('website')));
      if (offer.email && !tel && !site) actions.appendChild(link('mailto:' + offer.email, null, t('email')));
      var map = mapUrl(offer);
      if (map) actions.appendChild(link(map, null, t('map')));
      var copy = el('button', null, t('copy'));
      copy.type = 'button';
      copy.addEventListener('click', function () {
        copyText([offer.title, offer.address, offer.phone, offer.url || offer.email, offer.hours]
          .filter(Boolean).join('\n'));
      });
      actions.appendChild(copy);
      card.appendChild(actions);
      list.appendChild(card);
    });
    return list;
  }

  function copyText(text) {
    function done() { announce.textContent = ''; announce.textContent = t('copied'); }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
    } else {
      fallbackCopy(text);
      done();
    }
  }

  function fallbackCopy(text) {  // plain http or an old browser
    var area = el('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.className = 'sr-only';
    document.body.appendChild(area);
    area.select();
    try { document.execCommand('copy'); } catch (e) { /* nothing more to try */ }
    document.body.removeChild(area);
  }

  // --- sending --------------------------------------------------------------------------------
  function showError(message, retryText) {
    errorText.textContent = message;
    pending = retryText;
    $('retry').hidden = !retryText;
    errorBox.hidden = false;
  }

  function send(text, action) {
    text = (text || '').trim();
    if (!text) { input.focus(); return; }
    if (text.length > config.maxChars) { showError(t('too_long'), null); input.focus(); return; }
    errorBox.hidden = true;
    quick.textContent = '';
    if (!conversationId) { conversationId = newId(); save(KEY_ID, conversationId); }
    var bubble = addMessage({ author: 'citizen', text: text });
    if (input.value.trim() === text) input.value = '';
    resize();
    input.focus();
    typing.hidden = false;
    var body = { conversation_id: conversationId, text: text };
    if (picked) body.language = picked;
    if (action) body.action = action;
    fetch('/api/webchat/messages', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body)
    }).then(function (response) {
      if (!response.ok) throw new Error('HTTP ' + response.status);
      return response.json();
    }).then(function (reply) {
      picked = null;  // the conversation keeps its language from now on
      if (reply.language !== language) applyLanguage(reply.language);
      reply.messages.forEach(function (message) { message.author = message.author || 'bot'; addMessage(message); });
      listen();
    }).catch(function () {
      // Nothing is lost: the text goes back into the box and "try again" sends it.
      log.removeChild(bubble);
      if (!input.value) { input.value = text; resize(); }
      showError(t('error_send'), text);
    }).then(function () { typing.hidden = true; });
  }

  form.addEventListener('submit', function (event) { event.preventDefault(); send(input.value); });
  input.addEventListener('keydown', function (event) {
    // Enter sends; Shift+Enter makes a new line. A phone keyboard's Enter inserts a line instead.
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && window.matchMedia('(pointer: fine)').matches) {
      event.preventDefault();
      send(input.value);
    }
  });
  function resize() { input.style.height = 'auto'; input.style.height = Math.min(input.scrollHeight + 4, 144) + 'px'; }
  input.addEventListener('input', resize);
  $('retry').addEventListener('click', function () {
    var text = pending || input.value;
    if (input.value.trim() === text) input.value = '';
    send(text);
  });
  $('human').addEventListener('click', function () { send(t('talk_to_person'), 'request_human'); });
  // In the widget's frame: the close button and Escape ask the host page to close the frame.
  var close = $('close');
  function closeFrame() { window.parent.postMessage('brobygger:close', '*'); }
  if (close) {
    close.addEventListener('click', closeFrame);
    document.addEventListener('keydown', function (event) { if (event.key === 'Escape') closeFrame(); });
  }

  // --- later messages -------------------------------------------------------------------------
  function later(message) {
    // The citizen's own messages are already on screen (this page sent them).
    if (message.author !== 'citizen') addMessage(message);
  }

  function listen() {
    if (live || !conversationId) return;
    if (!window.EventSource) { live = 'polling'; poll(); return; }
    live = new EventSource('/api/webchat/stream?conversation_id=' + encodeURIComponent(conversationId) +
                           '&after=' + lastId);
    live.addEventListener('message', function (event) { later(JSON.parse(event.data)); });
    live.addEventListener('error', function () {
      // EventSource reconnects by itself; when it gives up (a proxy that refuses streams), poll.
      if (live && live.readyState === 2) { live = 'polling'; poll(); }
    });
  }

  function poll() {
    window.setTimeout(function () {
      fetch('/api/webchat/messages?conversation_id=' + encodeURIComponent(conversationId) + '&after=' + lastId)
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (transcript) { if (transcript) transcript.messages.forEach(later); })
        .catch(function () { /* offline for now: the next poll tries again */ })
        .then(poll);
    }, POLL_MS);
  }

  // --- start ----------------------------------------------------------------------------------
  applyLanguage(language);
  if (conversationId) {
    fetch('/api/webchat/messages?conversation_id=' + encodeURIComponent(conversationId) + '&after=0')
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (transcript) {
        if (!transcript) return;
        transcript.messages.forEach(function (message) { addMessage(message, true); });
        var last = transcript.messages[transcript.messages.length - 1];
        if (last && last.author !== 'citizen') showQuickReplies(last.quick_replies || [], false);
        if (!config.chosen && transcript.language !== language) applyLanguage(transcript.language);
        listen();
      })
      .catch(function () { /* the chat still works; history shows after the next reload */ });
  }
})();
