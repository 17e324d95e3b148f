/* Admin console: the review queue, models and the catalogue, on one page with three tabs.
   Everything comes from the admin JSON APIs with the session cookie; every change sends the page's CSRF
   token. Citizens' messages are untrusted: they go into the page as text (textContent), never as HTML,
   with dir="auto" so Arabic and Farsi read right to left inside the Danish page. */
(function () {
  'use strict';
  const CSRF = document.querySelector('meta[name="csrf-token"]').content;
  const LANGUAGES = document.body.dataset.languages.split(' ');
  const LOGIN = '/console/login?next=' + encodeURIComponent('/admin');
  const JOB_POLL_MS = 2000;
  const INDEX_POLL_MS = 1000;
  const STALE_ROWS_SHOWN = 500;
  const LANGUAGE_NAMES = { da: 'dansk', ar: 'arabisk', so: 'somali', tr: 'tyrkisk', fa: 'farsi', en: 'engelsk' };
  const REASONS = {
    fallback: 'Fallback', low_confidence: 'Lav sikkerhed', citizen_said_wrong: 'Borgeren sagde, det var forkert',
    counsellor_corrected: 'Rettet af rådgiver', negative_feedback: 'Negativ tilbagemelding',
  };
  const JOB_STATES = { queued: 'i kø', training: 'træner', evaluating: 'evaluerer', done: 'færdig', failed: 'fejlede' };
  const RUNNING = ['queued', 'training', 'evaluating'];
  const VERSION_STATES = { candidate: 'Kandidat', active: 'Aktiv', retired: 'Afløst', rolled_back: 'Rullet tilbage fra' };
  const SOURCES = { deployment: 'Udrulning', training: 'Træning' };
  const ACTIONS = { deployment: 'Udrullet', promote: 'Godkendt og aktiveret', rollback: 'Rullet tilbage til' };

  const $ = (id) => document.getElementById(id);

  function el(tag, attributes, text) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([name, value]) => {
      if (value === null || value === undefined || value === false) return;
      if (name === 'className') node.className = value;
      else node.setAttribute(name, value === true ? '' : value);
    });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function number(value, digits) {
    if (value === null || value === undefined) return '–';
    return Number(value).toLocaleString('da-DK', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }

  function percent(value) { return Math.round(Number(value || 0) * 100) + ' %'; }

  function when(iso) {
    if (!iso) return '–';
    return new Date(iso).toLocaleString('da-DK', { dateStyle: 'short', timeStyle: 'short' });
  }

  function languageName(code) { return LANGUAGE_NAMES[code] ? LANGUAGE_NAMES[code] + ' (' + code + ')' : code; }

  class ApiError extends Error {
    constructor(status, message, data) { super(message); this.status = status; this.data = data; }
  }

  function detailText(data, status) {
    const detail = data && data.detail;
    if (typeof detail === 'string') return detail;
    if (Array.isArray(detail)) {  // FastAPI's validation errors
      return detail.map((d) => (d.loc ? d.loc.filter((p) => p !== 'body').join('.') + ': ' : '') + d.msg).join('; ');
    }
    return 'HTTP ' + status;
  }

  /* One call to an admin API. Resolves with the JSON body; rejects with ApiError carrying the API's own
     message (409 and 502 say exactly why, and the administrator should read that, not a paraphrase).
     `accept` lists error statuses whose JSON body is a normal answer (the import's 422 report). */
  async function api(method, path, body, options) {
    const settings = { method: method, credentials: 'same-origin', headers: { 'X-CSRF-Token': CSRF } };
    const accept = (options && options.accept) || [];
    if (options && options.raw !== undefined) {
      settings.body = options.raw;
      settings.headers['Content-Type'] = options.contentType;
    } else if (body !== undefined) {
      settings.headers['Content-Type'] = 'application/json';
      settings.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, settings);
    } catch (error) {
      throw new ApiError(0, 'Ingen forbindelse til serveren (' + error.message + ')');
    }
    if (response.status === 401) {
      window.location.href = LOGIN;
      throw new ApiError(401, 'Du er logget ud.');
    }
    let data = null;
    try { data = await response.json(); } catch (error) { data = null; }
    if (!response.ok && accept.indexOf(response.status) < 0) {
      throw new ApiError(response.status, detailText(data, response.status), data);
    }
    return { status: response.status, data: data };
  }

  function failure(error) {
    return error.status ? 'Fejl (HTTP ' + error.status + '): ' + error.message : error.message;
  }

  function show(node, text, kind) {
    node.textContent = text;
    node.hidden = !text;
    node.classList.toggle('bad', kind === 'bad');
    node.classList.toggle('good', kind === 'good');
  }

  function say(node, text) {
    node.textContent = text;
    window.clearTimeout(node.clearTimer);
    node.clearTimer = window.setTimeout(() => { node.textContent = ''; }, 6000);
  }

  function busy(buttons, on) { buttons.forEach((button) => { button.disabled = on; }); }

  /* ---------- tabs (WAI-ARIA tabs pattern: arrow keys, Home, End; the hash keeps the tab on reload) ---------- */
  const tabs = Array.from(document.querySelectorAll('[role="tab"]'));
  const loaded = {};
  const loaders = { 'panel-review': loadReview, 'panel-models': loadModelsTab, 'panel-catalogue': loadCatalogueTab };

  function selectTab(tab, focus) {
    tabs.forEach((other) => {
      const selected = other === tab;
      other.setAttribute('aria-selected', String(selected));
      other.tabIndex = selected ? 0 : -1;
      $(other.getAttribute('aria-controls')).hidden = !selected;
    });
    if (focus) tab.focus();
    if (window.location.hash !== '#' + tab.dataset.hash) window.history.replaceState(null, '', '#' + tab.dataset.hash);
    const panel = tab.getAttribute('aria-controls');
    if (!loaded[panel]) {
      loaded[panel] = true;
      loaders[panel]();
    }
  }

  tabs.forEach((tab, index) => {
    tab.addEventListener('click', () => selectTab(tab, false));
    tab.addEventListener('keydown', (event) => {
      const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 };
      if (!(event.key in moves)) return;
      event.preventDefault();
      selectTab(tabs[(moves[event.key] + tabs.length) % tabs.length], true);
    });
  });

  /* ---------- review queue ---------- */
  let intents = [];

  async function loadReview() {
    const language = $('review-language').value;
    try {
      const { data } = await api('GET', '/api/admin/review' + (language ? '?language=' + encodeURIComponent(language) : ''));
      intents = data.intents;
      showCounts(data.counts);
      showClusters(data.clusters);
    } catch (error) {
      say($('review-status'), failure(error));
    }
  }

  async function refreshCounts() {
    // limit=1: the counts cover the whole queue whatever the limit, and one item needs no clustering.
    try {
      const { data } = await api('GET', '/api/admin/review?limit=1');
      showCounts(data.counts);
    } catch (error) {
      say($('review-status'), failure(error));
    }
  }

  function showCounts(counts) {
    const reasons = Object.keys(REASONS);
    const head = $('review-counts').tHead;
    head.textContent = '';
    const headRow = head.insertRow();
    headRow.appendChild(el('th', { scope: 'col' }, 'Sprog'));
    headRow.appendChild(el('th', { scope: 'col' }, 'Åbne'));
    reasons.forEach((reason) => headRow.appendChild(el('th', { scope: 'col' }, REASONS[reason])));
    const body = $('review-counts').tBodies[0];
    body.textContent = '';
    const languages = Object.keys(counts).sort((a, b) => LANGUAGES.indexOf(a) - LANGUAGES.indexOf(b));
    languages.forEach((language) => {
      const row = body.insertRow();
      row.dataset.language = language;
      row.appendChild(el('th', { scope: 'row' }, languageName(language)));
      row.appendChild(el('td', { 'data-reason': 'open' }, String(counts[language].open || 0)));
      reasons.forEach((reason) => row.appendChild(el('td', { 'data-reason': reason }, String(counts[language][reason] || 0))));
    });
    if (!languages.length) {
      const row = body.insertRow();
      row.appendChild(el('td', { colspan: String(reasons.length + 2) }, 'Ingen åbne beskeder.'));
    }
  }

  function showClusters(clusters) {
    const box = $('clusters');
    box.textContent = '';
    clusters.forEach((cluster) => box.appendChild(clusterCard(cluster)));
    $('review-empty').hidden = clusters.length > 0;
  }

  function option(select, value, text, selected) {
    const node = el('option', { value: value }, text);
    node.selected = Boolean(selected);
    select.appendChild(node);
  }

  function mostSuggested(items) {
    const votes = {};
    items.forEach((item) => { if (item.suggested_intent) votes[item.suggested_intent] = (votes[item.suggested_intent] || 0) + 1; });
    const ranked = Object.keys(votes).sort((a, b) => votes[b] - votes[a]);
    return ranked.length ? ranked[0] : '';
  }

  function clusterCard(cluster) {
    const key = 'c-' + cluster.id;
    const card = el('article', { className: 'cluster card', 'data-cluster': cluster.id, 'aria-labelledby': key + '-title' });
    const title = el('h3', { id: key + '-title', tabindex: '-1' });
    card.appendChild(title);
    const list = el('ul', { className: 'items' });
    cluster.items.forEach((item) => list.appendChild(itemRow(item, card)));
    card.appendChild(list);

    const controls = el('div', { className: 'label-row' });
    const intentField = el('div', { className: 'field' });
    intentField.appendChild(el('label', { for: key + '-intent' }, 'Intent'));
    const intentSelect = el('select', { id: key + '-intent', className: 'intent' });
    const suggested = mostSuggested(cluster.items);
    option(intentSelect, '', 'Vælg intent…', !suggested);
    intents.forEach((intent) => option(intentSelect, intent, intent, intent === suggested));
    intentField.appendChild(intentSelect);
    controls.appendChild(intentField);

    const languageField = el('div', { className: 'field' });
    languageField.appendChild(el('label', { for: key + '-language' }, 'Sprog'));
    const languageSelect = el('select', { id: key + '-language', className: 'language' });
    LANGUAGES.forEach((code) => option(languageSelect, code, languageName(code), code === cluster.language));
    languageField.appendChild(languageSelect);
    controls.appendChild(languageField);

    const labelAll = el('button', { type: 'button', className: 'label-all' });
    const noise = el('button', { type: 'button', className: 'noise secondary' });
    controls.appendChild(labelAll);
    controls.appendChild(noise);
    card.appendChild(controls);
    const message = el('p', { className: 'cluster-message', role: 'status' });
    card.appendChild(message);

    card.language = cluster.language;
    card.update = () => updateCluster(card);
    card.addEventListener('change', (event) => { if (event.target.type === 'checkbox') card.update(); });
    labelAll.addEventListener('click', () => labelCluster(card, intentSelect, languageSelect, message));
    noise.addEventListener('click', () => noiseCluster(card, message));
    card.update();
    return card;
  }

  function included(card) {
    return Array.from(card.querySelectorAll('li[data-item]'))
      .filter((row) => row.querySelector('input[type="checkbox"]').checked)
      .map((row) => Number(row.dataset.item));
  }

  function updateCluster(card) {
    const total = card.querySelectorAll('li[data-item]').length;
    const chosen = included(card).length;
    card.querySelector('h3').textContent = 'Gruppe på ' + languageName(card.language) + ' · ' + total +
      (total === 1 ? ' besked' : ' beskeder');
    card.querySelector('.label-all').textContent = 'Mærk alle (' + chosen + ')';
    card.querySelector('.noise').textContent = 'Støj (' + chosen + ')';
  }

  function itemMeta(item) {
    const understood = item.intent === 'nlu_fallback' ? 'ikke forstået (fallback)' : (item.intent || '–');
    const parts = ['Forstået som ' + understood + ' (' + percent(item.confidence) + ')'];
    const others = (item.ranking || []).map((r) => r.intent + ' ' + percent(r.confidence));
    if (others.length) parts.push('modellens bud: ' + others.join(', '));
    parts.push('årsag: ' + (item.reasons || []).map((r) => REASONS[r] || r).join(', '));
    if (item.suggested_intent) parts.push('rådgiverens forslag: ' + item.suggested_intent);
    parts.push(item.channel + ', ' + when(item.created_at));
    if (item.redacted) parts.push('redigeret');
    return parts.join(' · ');
  }

  function itemRow(item, card) {
    const key = 'item-' + item.id;
    const row = el('li', { 'data-item': String(item.id) });
    const check = el('div', { className: 'include' });
    const box = el('input', { type: 'checkbox', id: key + '-include', 'aria-describedby': key + '-text' });
    box.checked = true;
    check.appendChild(box);
    check.appendChild(el('label', { for: key + '-include' }, 'Medtag'));
    row.appendChild(check);
    const text = el('p', { className: 'text', id: key + '-text', dir: 'auto', lang: item.language }, item.text);
    row.appendChild(text);
    const meta = el('p', { className: 'meta' }, itemMeta(item));
    row.appendChild(meta);
    const refusal = el('p', { className: 'refusal' });
    row.appendChild(refusal);
    showRefusal(refusal, item.refusal);

    const edit = el('button', { type: 'button', className: 'secondary small', 'aria-describedby': key + '-text' }, 'Rediger tekst');
    row.appendChild(edit);
    const form = el('form', { className: 'redact' });
    form.hidden = true;
    form.appendChild(el('label', { for: key + '-redact' }, 'Tekst uden personlige oplysninger'));
    const area = el('textarea', { id: key + '-redact', rows: '2', maxlength: '2000', dir: 'auto', lang: item.language });
    form.appendChild(area);
    const save = el('button', { type: 'submit' }, 'Gem');
    const cancel = el('button', { type: 'button', className: 'secondary' }, 'Annuller');
    const buttons = el('div', { className: 'actions' });
    buttons.appendChild(save);
    buttons.appendChild(cancel);
    form.appendChild(buttons);
    row.appendChild(form);

    edit.addEventListener('click', () => {
      area.value = text.textContent;
      form.hidden = false;
      edit.hidden = true;
      area.focus();
    });
    cancel.addEventListener('click', () => { form.hidden = true; edit.hidden = false; edit.focus(); });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const value = area.value.trim();
      if (!value) { say(card.querySelector('.cluster-message'), 'Teksten er tom. Marker beskeden som støj i stedet.'); return; }
      busy([save, cancel], true);
      try {
        const { data } = await api('POST', '/api/admin/review/' + item.id + '/redact', { text: value });
        text.textContent = data.text;
        meta.textContent = itemMeta(data);
        form.hidden = true;
        edit.hidden = false;
        edit.focus();
        say(card.querySelector('.cluster-message'), 'Teksten er gemt.');
      } catch (error) {
        say(card.querySelector('.cluster-message'), failure(error));
      } finally {
        busy([save, cancel], false);
      }
    });
    return row;
  }

  function showRefusal(node, reason) {
    node.textContent = reason ? 'Ikke tilføjet til træningsdata: ' + reason : '';
    node.hidden = !reason;
  }

  function removeItems(card, ids) {
    ids.forEach((id) => {
      const row = card.querySelector('li[data-item="' + id + '"]');
      if (row) row.remove();
    });
    if (card.querySelector('li[data-item]')) {
      card.update();
      return false;
    }
    // The whole group is done: focus moves to the next group, so keyboard users keep their place.
    const next = card.nextElementSibling || card.previousElementSibling;
    card.remove();
    if (next) next.querySelector('h3').focus();
    $('review-empty').hidden = Boolean($('clusters').children.length);
    return true;
  }

  async function labelCluster(card, intentSelect, languageSelect, message) {
    const ids = included(card);
    if (!ids.length) { say(message, 'Vælg mindst én besked.'); return; }
    if (!intentSelect.value) { say(message, 'Vælg en intent først.'); intentSelect.focus(); return; }
    const buttons = Array.from(card.querySelectorAll('.label-row button'));
    busy(buttons, true);
    try {
      const { data } = await api('POST', '/api/admin/review/label',
        { ids: ids, intent: intentSelect.value, language: languageSelect.value });
      const labelled = data.results.filter((r) => r.status === 'labelled').map((r) => r.id);
      const refused = data.results.filter((r) => r.status === 'refused');
      refused.forEach((r) => showRefusal(card.querySelector('li[data-item="' + r.id + '"] .refusal'), r.reason));
      const summary = data.labelled + ' mærket som ' + intentSelect.value +
        (refused.length ? '; ' + refused.length + ' ikke tilføjet (se begrundelsen ved beskeden)' : '') + '.';
      const gone = removeItems(card, labelled);
      say(gone ? $('review-status') : message, summary);
      refreshCounts();
    } catch (error) {
      say(message, failure(error));
    } finally {
      busy(buttons, false);
    }
  }

  async function noiseCluster(card, message) {
    const ids = included(card);
    if (!ids.length) { say(message, 'Vælg mindst én besked.'); return; }
    const buttons = Array.from(card.querySelectorAll('.label-row button'));
    busy(buttons, true);
    try {
      const { data } = await api('POST', '/api/admin/review/noise', { ids: ids });
      const gone = removeItems(card, ids);
      say(gone ? $('review-status') : message, data.noise + (data.noise === 1 ? ' besked' : ' beskeder') + ' markeret som støj.');
      refreshCounts();
    } catch (error) {
      say(message, failure(error));
    } finally {
      busy(buttons, false);
    }
  }

  $('review-filter').addEventListener('submit', (event) => { event.preventDefault(); loadReview(); });

  /* ---------- models ---------- */
  let models = null;       // the last GET /api/admin/models
  let selected = null;     // the version shown in detail
  let jobTimer = null;

  function loadModelsTab() {
    loadModels();
    loadJobs();
  }

  async function loadModels() {
    try {
      const { data } = await api('GET', '/api/admin/models');
      models = data;
      showVersions();
      showActivations();
      const plot = $('history-plot');
      plot.src = '/api/admin/models/history.png?t=' + Date.now();  // a new version changes the picture
      if (selected !== null) showVersion(selected);
    } catch (error) {
      show($('models-message'), failure(error), 'bad');
    }
  }

  function activeName() {
    const active = models.versions.find((v) => v.id === models.active);
    return active ? active.name : null;
  }

  function gateWord(version) {
    const gate = version.gate;
    if (!gate) return version.state === 'active' ? '–' : 'Ikke vurderet';
    if (gate.passed) return 'Bestået';
    if (!gate.crisis_ok) return 'Afvist: krise';
    return 'Afvist: F1';
  }

  function showVersions() {
    const table = $('versions');
    const head = table.tHead;
    head.textContent = '';
    const headRow = head.insertRow();
    ['Version', 'Tilstand', 'Kilde', 'Oprettet'].forEach((name) => headRow.appendChild(el('th', { scope: 'col' }, name)));
    models.languages.forEach((language) => {
      const th = el('th', { scope: 'col' }, language);
      th.appendChild(el('span', { className: 'small' }, 'F1 · krise'));
      headRow.appendChild(th);
    });
    headRow.appendChild(el('th', { scope: 'col' }, 'Porten'));
    const detailsHead = el('th', { scope: 'col' });
    detailsHead.appendChild(el('span', { className: 'sr-only' }, 'Detaljer'));
    headRow.appendChild(detailsHead);
    const body = table.tBodies[0];
    body.textContent = '';
    models.versions.forEach((version) => {
      const row = body.insertRow();
      row.dataset.version = String(version.id);
      if (version.state === 'active') row.className = 'active';
      const name = el('th', { scope: 'row' }, 'v' + version.id);
      name.appendChild(el('span', { className: 'small' }, version.name));
      row.appendChild(name);
      row.appendChild(el('td', { 'data-field': 'state' }, VERSION_STATES[version.state] || version.state));
      row.appendChild(el('td', null, SOURCES[version.source] || version.source));
      row.appendChild(el('td', null, when(version.created_at)));
      models.languages.forEach((language) => {
        const scores = version.summary && version.summary[language];
        const cell = el('td', { 'data-language': language }, scores ? number(scores.macro_f1, 3) : '–');
        if (scores) {
          const crisis = el('span', { className: 'small' + (scores.crisis_recall < 1 ? ' warn' : '') },
            'krise ' + number(scores.crisis_recall, 2));
          cell.appendChild(crisis);
        }
        row.appendChild(cell);
      });
      const gateCell = el('td', { 'data-field': 'gate' });
      gateCell.appendChild(el('span', { className: 'gate-word' }, gateWord(version)));
      if (version.gate && version.gate.reasons.length) {
        const reasons = el('ul', { className: 'reasons small' });
        version.gate.reasons.forEach((reason) => reasons.appendChild(el('li', null, reason)));
        gateCell.appendChild(reasons);
      }
      row.appendChild(gateCell);
      const cell = el('td');
      const open = el('button', { type: 'button', className: 'secondary small', 'data-open-version': String(version.id),
        'aria-label': 'Vis version v' + version.id }, 'Vis');
      open.addEventListener('click', () => { showVersion(version.id); $('version-detail').focus(); });
      cell.appendChild(open);
      row.appendChild(cell);
    });
    const active = models.versions.find((v) => v.id === models.active);
    $('active-model').textContent = active ? 'Aktiv model: v' + active.id + ' (' + active.name + ')' : 'Ingen model er aktiv.';
  }

  function showActivations() {
    const body = $('activations').tBodies[0];
    body.textContent = '';
    models.history.forEach((entry) => {
      const row = body.insertRow();
      row.appendChild(el('td', null, when(entry.at)));
      row.appendChild(el('td', null, ACTIONS[entry.action] || entry.action));
      row.appendChild(el('td', null, 'v' + entry.version_id));
      row.appendChild(el('td', null, entry.reason || ''));
    });
  }

  function mark(ok) { return ok ? 'ok' : 'afvist'; }

  function showVersion(id) {
    const version = models.versions.find((v) => v.id === id);
    if (!version) { $('version-detail').hidden = true; selected = null; return; }
    selected = id;
    $('version-detail').hidden = false;
    $('version-title').textContent = 'Version v' + version.id + ' · ' + version.name;
    $('version-meta').textContent = [VERSION_STATES[version.state] || version.state, SOURCES[version.source] || version.source,
      'oprettet ' + when(version.created_at),
      version.learned_examples !== null ? version.learned_examples + ' mærkede eksempler' : '',
      version.summary && version.summary.nonsense_rejected !== null && version.summary.nonsense_rejected !== undefined
        ? 'vrøvl afvist ' + percent(version.summary.nonsense_rejected) : ''].filter(Boolean).join(' · ');

    const gate = version.gate;
    const reasons = $('gate-reasons');
    reasons.textContent = '';
    const body = $('gate').tBodies[0];
    body.textContent = '';
    if (gate) {
      $('gate-verdict').textContent = (gate.passed ? 'Bestået' : 'Afvist') + ' mod den aktive model ' + gate.baseline + '.';
      gate.reasons.forEach((reason) => reasons.appendChild(el('li', null, reason)));
      Object.entries(gate.languages).forEach(([language, g]) => {
        const row = body.insertRow();
        row.dataset.language = language;
        row.appendChild(el('th', { scope: 'row' }, language));
        // Four decimals, as the gate compares them: a drop of 0,0104 fails where "0,010" would look like a pass.
        row.appendChild(el('td', null, number(g.baseline_f1, 4)));
        row.appendChild(el('td', null, number(g.candidate_f1, 4)));
        row.appendChild(el('td', null, number(g.drop, 4)));
        row.appendChild(el('td', { className: g.f1_ok ? 'ok' : 'bad' }, mark(g.f1_ok)));
        row.appendChild(el('td', null, number(g.baseline_crisis_recall, 2)));
        row.appendChild(el('td', null, number(g.crisis_recall, 2)));
        row.appendChild(el('td', { className: g.crisis_ok ? 'ok' : 'bad' }, mark(g.crisis_ok)));
      });
    } else {
      $('gate-verdict').textContent = 'Versionen er ikke vurderet af porten.';
      const row = body.insertRow();
      row.appendChild(el('td', { colspan: '8' }, 'Ingen sammenligning.'));
    }
    showPromote(version);
    show($('promote-message'), '');

    const box = $('confusions');
    box.textContent = '';
    Object.keys(version.summary || {}).filter((key) => key !== 'nonsense_rejected').forEach((language) => {
      const figure = el('figure');
      const src = '/api/admin/models/' + version.id + '/confusion/' + language + '.png';
      const link = el('a', { href: src, target: '_blank', rel: 'noopener' });  // full size on a small screen
      link.appendChild(el('img', {
        src: src, alt: 'Forvekslingsmatrix for ' + languageName(language) + ', version v' + version.id + ' (åbner i fuld størrelse)',
        'data-language': language,
      }));
      figure.appendChild(link);
      figure.appendChild(el('figcaption', null, languageName(language)));
      box.appendChild(figure);
    });
    if (!box.children.length) box.appendChild(el('p', null, 'Versionen er ikke evalueret endnu.'));
  }

  /* Mirrors the API's rule (nlu.registry.service.check_promotable) so the button is only offered when the
     promotion can go through; the API still decides, and its refusal is shown as it is. */
  function showPromote(version) {
    const button = $('promote');
    const explain = $('promote-explain');
    const override = $('override-box');
    const reason = $('override-reason');
    const gate = version.gate;
    const current = activeName();
    override.hidden = true;
    reason.value = '';
    button.disabled = true;
    button.dataset.override = '';
    if (version.state === 'active') {
      explain.textContent = 'Denne version er den aktive model.';
    } else if (!version.file_present) {
      explain.textContent = 'Modelfilen findes ikke længere på serveren, så versionen kan ikke aktiveres.';
    } else if (current === null) {
      explain.textContent = 'Ingen model er aktiv: denne bliver den første.';
      button.disabled = false;
    } else if (!gate || gate.baseline !== current) {
      explain.textContent = 'Kandidaten er ikke vurderet mod den aktive model (' + current + '). Træn en ny model, så ' +
        'porten kan sammenligne dem.';
    } else if (!gate.crisis_ok) {
      explain.textContent = 'Kan ikke aktiveres: krise-recall ville falde. En borger i krise skal altid få nødsvaret ' +
        '(112 og Livslinien) og en akut rådgiver, så krisereglen kan ingen tilsidesætte – heller ikke en administrator. ' +
        'Ret træningsdata og træn igen.';
    } else if (!gate.f1_ok) {
      explain.textContent = 'Porten afviste den, fordi macro-F1 falder mere end ' + number(gate.max_f1_drop, 2) +
        ' i mindst ét sprog. Du kan godkende den alligevel med en skriftlig begrundelse (fx at testsættet er rettet); ' +
        'begrundelsen gemmes i historikken.';
      override.hidden = false;
      button.dataset.override = 'true';
    } else {
      explain.textContent = 'Porten er bestået. Modellen skiftes i den kørende Rasa uden at afbryde samtaler; den ' +
        'nuværende gemmes, så du kan rulle tilbage.';
      button.disabled = false;
    }
  }

  $('override-reason').addEventListener('input', () => {
    if ($('promote').dataset.override) $('promote').disabled = !$('override-reason').value.trim();
  });

  $('promote').addEventListener('click', async () => {
    const button = $('promote');
    const id = selected;
    const body = button.dataset.override ? { override_reason: $('override-reason').value.trim() } : {};
    button.disabled = true;
    show($('promote-message'), 'Aktiverer v' + id + ' …');
    try {
      const { data } = await api('POST', '/api/admin/models/' + id + '/promote', body);
      show($('promote-message'), 'v' + data.id + ' er nu den aktive model.', 'good');
      await loadModels();
    } catch (error) {
      show($('promote-message'), 'Ikke aktiveret. ' + failure(error), 'bad');
      button.disabled = false;
    }
  });

  $('rollback').addEventListener('click', () => {
    $('rollback-confirm').hidden = false;
    $('rollback').disabled = true;
    $('rollback-yes').focus();
  });
  $('rollback-no').addEventListener('click', () => {
    $('rollback-confirm').hidden = true;
    $('rollback').disabled = false;
    $('rollback').focus();
  });
  $('rollback-yes').addEventListener('click', async () => {
    busy([$('rollback-yes'), $('rollback-no')], true);
    try {
      const { data } = await api('POST', '/api/admin/models/rollback');
      show($('models-message'), 'Rullet tilbage: v' + data.id + ' (' + data.name + ') er nu den aktive model.', 'good');
      await loadModels();
    } catch (error) {
      show($('models-message'), 'Ikke rullet tilbage. ' + failure(error), 'bad');
    } finally {
      busy([$('rollback-yes'), $('rollback-no')], false);
      $('rollback-confirm').hidden = true;
      $('rollback').disabled = false;
    }
  });

  async function loadJobs() {
    try {
      const { data } = await api('GET', '/api/admin/models/jobs');
      if (data.length) followJob(data[0]);
    } catch (error) {
      show($('models-message'), failure(error), 'bad');
    }
  }

  function showJob(job) {
    const running = RUNNING.indexOf(job.state) >= 0;
    $('job').hidden = false;
    $('job').dataset.state = job.state;
    $('job-title').textContent = 'Træningsjob ' + job.id.slice(0, 8) + ': ' + (JOB_STATES[job.state] || job.state) +
      ' · ' + percent(job.progress) + ' · startet ' + when(job.started_at) +
      (job.finished_at ? ' · slut ' + when(job.finished_at) : '');
    $('job-progress').value = job.progress || 0;
    $('job-stage').textContent = job.stage || '';
    show($('job-error'), job.error || '', 'bad');
    const log = $('job-log');
    const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.textContent = job.log_tail || '(ingen log endnu)';
    if (atEnd) log.scrollTop = log.scrollHeight;  // follow the log unless the reader scrolled up
    $('train').disabled = running;
    return running;
  }

  function followJob(job) {
    window.clearTimeout(jobTimer);
    if (!showJob(job)) return;
    jobTimer = window.setTimeout(async () => {
      try {
        const { data } = await api('GET', '/api/admin/models/jobs/' + encodeURIComponent(job.id));
        const wasRunning = RUNNING.indexOf(data.state) >= 0;
        followJob(data);
        if (!wasRunning) loadModels();  // a finished job has added a candidate with its gate verdict
      } catch (error) {
        show($('models-message'), failure(error), 'bad');
        followJob(job);  // keep following: a hiccup of the network is not the end of the job
      }
    }, JOB_POLL_MS);
  }

  $('train').addEventListener('click', async () => {
    $('train').disabled = true;
    show($('models-message'), '');
    try {
      const { data } = await api('POST', '/api/admin/models/train');
      followJob({ id: data.job_id, state: 'queued', stage: 'venter på at starte', progress: 0,
        started_at: new Date().toISOString(), finished_at: null, error: null, log_tail: '' });
    } catch (error) {
      show($('models-message'), 'Træningen er ikke startet. ' + failure(error), 'bad');
      $('train').disabled = false;
    }
  });

  $('history-plot').addEventListener('error', () => {
    show($('models-message'), 'Historik-grafen kunne ikke hentes.', 'bad');
  });

  /* ---------- catalogue ---------- */
  function loadCatalogueTab() { loadStale(); }

  async function loadStale() {
    const days = $('stale-days').value;
    show($('stale-message'), '');
    try {
      const { data } = await api('GET', '/api/admin/catalogue/stale?days=' + encodeURIComponent(days));
      $('stale-summary').textContent = data.stale.length + ' af ' + data.total + ' tilbud er ikke verificeret inden for ' +
        data.days + ' dage' + (data.stale.length > STALE_ROWS_SHOWN ? ' (de første ' + STALE_ROWS_SHOWN + ' vises)' : '') + '.';
      const body = $('stale').tBodies[0];
      body.textContent = '';
      data.stale.slice(0, STALE_ROWS_SHOWN).forEach((offer) => {
        const row = body.insertRow();
        row.dataset.offer = offer.id;
        row.appendChild(el('td', null, offer.id));
        row.appendChild(el('td', null, offer.organisation));
        row.appendChild(el('td', null, offer.last_verified || 'aldrig'));
        row.appendChild(el('td', null, offer.age_days === null ? '–' : String(offer.age_days)));
        // The folder is the same for every offer; the file name is what tells them apart.
        row.appendChild(el('td', { title: offer.origin }, offer.origin.split('/').pop()));
      });
    } catch (error) {
      const problems = error.data && error.data.problems ? ' ' + error.data.problems.map((p) =>
        p.source + ' ' + p.where + ' ' + p.field + ': ' + p.message).join('; ') : '';
      show($('stale-message'), failure(error) + problems, 'bad');
    }
  }

  $('stale-form').addEventListener('submit', (event) => { event.preventDefault(); loadStale(); });

  $('import-file').addEventListener('change', () => {
    const file = $('import-file').files[0];
    if (file) $('import-format').value = /\.json$/i.test(file.name) ? 'hsds' : 'csv';
    $('import-language').disabled = $('import-format').value !== 'hsds';
  });
  $('import-format').addEventListener('change', () => {
    $('import-language').disabled = $('import-format').value !== 'hsds';
  });
  $('import-language').disabled = true;

  $('import-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const file = $('import-file').files[0];
    const dryRun = !event.submitter || event.submitter.dataset.dryRun !== 'false';
    if (!file) { show($('import-message'), 'Vælg en fil først.', 'bad'); return; }
    const format = $('import-format').value;
    const query = '?format=' + format + '&dry_run=' + dryRun + '&language=' + encodeURIComponent($('import-language').value);
    const buttons = [$('import-check'), $('import-apply')];
    busy(buttons, true);
    show($('import-message'), dryRun ? 'Kontrollerer …' : 'Importerer …');
    try {
      const { data } = await api('POST', '/api/admin/catalogue/import' + query, undefined,
        { raw: file, contentType: format === 'hsds' ? 'application/json' : 'text/csv', accept: [422] });
      showImport(data, dryRun);
      show($('import-message'), '');
    } catch (error) {
      $('import-report').hidden = true;
      show($('import-message'), failure(error), 'bad');
    } finally {
      busy(buttons, false);
    }
  });

  function showImport(report, dryRun) {
    $('import-report').hidden = false;
    const summary = $('import-summary');
    summary.classList.toggle('bad', !report.valid);
    summary.classList.toggle('good', report.valid);
    const counts = report.offers + ' tilbud: ' + report.added + ' nye og ' + report.replaced + ' der erstatter eksisterende';
    if (!report.valid) {
      summary.textContent = report.problems.length + (report.problems.length === 1 ? ' fejl' : ' fejl') +
        ' i filen – intet er skrevet. Ret fejlene og prøv igen.';
    } else if (report.written) {
      summary.textContent = 'Importeret: ' + counts + ', skrevet til ' + report.target +
        '. Genopbyg søgeindekset, så søgningen bruger dem.';
    } else {
      summary.textContent = 'Filen er gyldig: ' + counts + '. ' +
        (dryRun ? 'Intet er skrevet endnu; tryk Importér for at skrive dem.' : 'Intet er ændret.');
    }
    const body = $('problems').tBodies[0];
    body.textContent = '';
    report.problems.forEach((problem) => {
      const row = body.insertRow();
      row.appendChild(el('td', null, problem.source));
      row.appendChild(el('td', null, problem.where));
      row.appendChild(el('td', null, problem.field));
      row.appendChild(el('td', null, problem.message));
    });
    $('problems-box').hidden = !report.problems.length;
  }

  let indexTimer = null;

  function showIndexJob(job) {
    const running = job.state === 'running';
    $('reindex-job').hidden = false;
    $('reindex-job').dataset.state = job.state;
    const progress = $('reindex-progress');
    if (job.total) progress.value = Math.min(1, job.done / job.total);
    else progress.removeAttribute('value');  // not known yet: an indeterminate bar
    const counted = job.total ? ' (' + job.done + ' af ' + job.total + ')' : '';
    $('reindex-stage').textContent = (running ? 'I gang: ' : job.state === 'done' ? 'Færdig: ' : 'Fejlede: ') +
      job.message + counted;
    if (job.state === 'failed') show($('reindex-message'), 'Genopbygningen fejlede: ' + job.message, 'bad');
    $('reindex').disabled = running;
    return running;
  }

  function followIndexJob(id) {
    window.clearTimeout(indexTimer);
    indexTimer = window.setTimeout(async () => {
      try {
        const { data } = await api('GET', '/api/admin/index/jobs/' + encodeURIComponent(id));
        if (showIndexJob(data)) followIndexJob(id);
        else loadStale();  // the report reads the files; refresh it with the catalogue now served
      } catch (error) {
        show($('reindex-message'), failure(error), 'bad');
        $('reindex').disabled = false;
      }
    }, INDEX_POLL_MS);
  }

  $('reindex').addEventListener('click', async () => {
    $('reindex').disabled = true;
    show($('reindex-message'), '');
    try {
      const { data } = await api('POST', '/api/admin/index/rebuild', undefined, { accept: [409] });
      if (data.job_id && data.detail) show($('reindex-message'), data.detail + ' – følger det igangværende job.');
      showIndexJob({ state: 'running', done: 0, total: 0, message: 'starter' });
      followIndexJob(data.job_id);
    } catch (error) {
      show($('reindex-message'), failure(error), 'bad');
      $('reindex').disabled = false;
    }
  });

  /* ---------- start ---------- */
  function tabOfHash() { return tabs.find((tab) => '#' + tab.dataset.hash === window.location.hash); }
  // A link or bookmark to #modeller (or the back button) opens that tab.
  window.addEventListener('hashchange', () => { const tab = tabOfHash(); if (tab) selectTab(tab, false); });
  selectTab(tabOfHash() || tabs[0], false);
})();
