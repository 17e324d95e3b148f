/* Counsellor console. Everything citizens wrote goes into the page as text (textContent), never HTML;
   every change is a call to /api/counsellor with the session cookie and the page's CSRF token. */
(function () {
  'use strict';
  var CSRF = document.querySelector('meta[name="csrf-token"]').content;
  var ME = document.querySelector('meta[name="user-name"]').content;
  var REFRESH_MS = 3000;
  var STATE = { queued: 'Venter', human: 'Hos rådgiver', bot: 'Bot', closed: 'Afsluttet' };
  var AUTHOR = { citizen: 'Borger', bot: 'Bot', counsellor: 'Rådgiver', system: 'System' };
  // What the crisis screen found: the kind decides the first help (112, the violence hotline, a talk). Violence
  // covers a partner, the family, sexual violence and children; a cry for rescue ("red mig") names no kind.
  var CRISIS_KIND = { suicide: 'selvmord', self_harm: 'selvskade', overdose: 'overdosis', violence: 'vold',
    medical: 'akut sygdom', unspecified: 'råb om hjælp (art ukendt)', classifier: 'art ukendt (modellen)' };
  function crisisLabel(kind) { return CRISIS_KIND[kind] || kind; }
  var INTENTS = ['greet', 'goodbye', 'thank', 'affirm', 'deny', 'seek_support', 'inform_location',
    'choose_language', 'request_human', 'more_results', 'offer_details', 'send_offer', 'crisis', 'opt_out',
    'delete_data', 'bot_challenge', 'help', 'out_of_scope'];
  var $ = function (id) { return document.getElementById(id); };
  var current = null;  // the open conversation's id
  var shownMessages = 0;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function say(text) { $('status').textContent = text; window.setTimeout(function () { $('status').textContent = ''; }, 4000); }

  function api(method, path, body) {
    var options = { method: method, credentials: 'same-origin', headers: { 'X-CSRF-Token': CSRF } };
    if (body !== undefined) { options.headers['Content-Type'] = 'application/json'; options.body = JSON.stringify(body); }
    return fetch('/api/counsellor' + path, options).then(function (response) {
      if (response.status === 401) { window.location.href = '/console/login'; throw new Error('signed out'); }
      return response.json().then(function (data) {
        if (!response.ok) throw new Error(data.detail || ('HTTP ' + response.status));
        return data;
      });
    });
  }

  function minutes(seconds) { return seconds < 60 ? seconds + ' s' : Math.floor(seconds / 60) + ' min'; }

  function loadQueue() {
    return api('GET', '/conversations?state=all').then(function (items) {
      var body = $('queue');
      body.textContent = '';
      $('queue-empty').hidden = items.length > 0;
      items.forEach(function (item) {
        var row = el('tr', (item.priority === 'urgent' ? 'urgent' : '') + (item.id === current ? ' selected' : ''));
        var priority = el('td', null, item.priority === 'urgent' ? 'AKUT' : 'normal');
        if (item.crisis_kind) priority.appendChild(el('span', 'kind', crisisLabel(item.crisis_kind)));
        row.appendChild(priority);
        row.appendChild(el('td', null, item.language));
        row.appendChild(el('td', null, item.region || '–'));
        row.appendChild(el('td', null, item.channel));
        row.appendChild(el('td', null, minutes(item.waiting_s)));
        row.appendChild(el('td', null, (STATE[item.state] || item.state) + (item.assigned_to ? ' (' + item.assigned_to + ')' : '')));
        var open = el('button', null, 'Åbn');
        open.type = 'button';
        open.setAttribute('aria-label', 'Åbn samtale ' + item.id + ' (' + item.language + ')');
        open.setAttribute('data-open', item.id);
        open.addEventListener('click', function () { openConversation(item.id, true); });
        var cell = el('td');
        cell.appendChild(open);
        row.appendChild(cell);
        body.appendChild(row);
      });
    }).catch(function (error) { say(error.message); });
  }

  function openConversation(id, focus) {
    if (current !== id) shownMessages = 0;
    current = id;
    return api('GET', '/conversations/' + id + '/messages').then(function (data) {
      $('conversation').hidden = false;
      $('conversation-title').textContent = 'Samtale ' + data.id;
      $('conversation-meta').textContent = [data.priority === 'urgent' ? 'AKUT' : 'normal', 'sprog ' + data.language,
        data.channel, STATE[data.state] || data.state, data.assigned_to ? 'hos ' + data.assigned_to : ''].filter(Boolean).join(' · ');
      var mine = data.state === 'human' && data.assigned_to === ME;
      $('claim').disabled = data.state === 'human' || data.state === 'closed';
      $('handback').disabled = !mine;
      $('close').disabled = !(mine || data.state === 'queued');
      $('reply').disabled = !mine;
      $('send-reply').disabled = !mine;
      if (data.messages.length !== shownMessages) showTranscript(data.messages);
      showNotes(data.notes);
      loadCanned(data.language);
      if (focus) $('conversation-title').focus();
    }).catch(function (error) { say(error.message); });
  }

  function showTranscript(messages) {
    var list = $('transcript');
    list.textContent = '';
    messages.forEach(function (message) {
      var item = el('li', message.author);
      item.appendChild(el('span', 'who', AUTHOR[message.author] || message.author));
      if (message.crisis_rule) {
        item.appendChild(el('span', 'flag', 'Krise' + (message.crisis_kind ? ': ' + crisisLabel(message.crisis_kind) : '') +
          ' · ' + message.crisis_rule + ' '));
      }
      var text = el('p', null, message.text);
      text.dir = 'auto';
      text.lang = message.language;
      item.appendChild(text);
      if (message.intent) {
        item.appendChild(el('span', 'understood', 'Forstået som ' + message.intent +
          (message.confidence !== null ? ' (' + Math.round(message.confidence * 100) + ' %)' : '') +
          ' · sprog ' + message.language));
      }
      if (message.author === 'citizen') item.appendChild(intentPicker(message.id));
      list.appendChild(item);
    });
    shownMessages = messages.length;
    list.scrollTop = list.scrollHeight;
  }

  function intentPicker(messageId) {
    var select = el('select');
    select.setAttribute('aria-label', 'Ret hvad beskeden betød');
    select.appendChild(el('option', null, 'Ret intent…')).value = '';
    INTENTS.forEach(function (intent) { select.appendChild(el('option', null, intent)).value = intent; });
    select.addEventListener('change', function () {
      if (!select.value) return;
      api('POST', '/messages/' + messageId + '/intent', { intent: select.value })
        .then(function () { say('Rettelsen er sendt til gennemgang.'); })
        .catch(function (error) { say(error.message); });
    });
    return select;
  }

  function showNotes(notes) {
    var list = $('notes');
    list.textContent = '';
    notes.forEach(function (note) { list.appendChild(el('li', null, note.author + ': ' + note.text)); });
  }

  var cannedFor = null;
  function loadCanned(language) {
    if (cannedFor === language) return;
    cannedFor = language;
    api('GET', '/canned?language=' + encodeURIComponent(language)).then(function (answers) {
      var box = $('canned');
      box.textContent = '';
      answers.forEach(function (answer) {
        var button = el('button', null, answer);
        button.type = 'button';
        button.dir = 'auto';
        button.addEventListener('click', function () { $('reply').value = answer; $('reply').focus(); });
        box.appendChild(button);
      });
    });
  }

  function act(path, message) {
    return api('POST', '/conversations/' + current + path).then(function () {
      say(message);
      return Promise.all([openConversation(current), loadQueue()]);
    }).catch(function (error) { say(error.message); });
  }

  $('claim').addEventListener('click', function () { act('/claim', 'Samtalen er din.').then(function () { $('reply').focus(); }); });
  $('handback').addEventListener('click', function () { act('/handback', 'Botten svarer igen.'); });
  $('close').addEventListener('click', function () { act('/close', 'Samtalen er afsluttet.'); });
  $('reply-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var text = $('reply').value.trim();
    if (!text) return;
    api('POST', '/conversations/' + current + '/reply', { text: text }).then(function (sent) {
      $('reply').value = '';
      say(sent.status === 'sent' ? 'Sendt.' : 'Ikke sendt: ' + sent.status);
      openConversation(current);
    }).catch(function (error) { say(error.message); });
  });
  $('note-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var text = $('note').value.trim();
    if (!text) return;
    api('POST', '/conversations/' + current + '/notes', { text: text }).then(function () {
      $('note').value = '';
      openConversation(current);
    }).catch(function (error) { say(error.message); });
  });

  $('conversation-title').tabIndex = -1;
  loadQueue();
  window.setInterval(function () {
    loadQueue();
    if (current !== null) openConversation(current);
  }, REFRESH_MS);
})();
