/* Lookback field app: capture a GPS point with photos, queue it in IndexedDB, sync it later.
 *
 * Works without a service worker (plain HTTP on an intranet): the queue lives in IndexedDB and
 * syncs from this page whenever the network is back, with exponential backoff. The server is
 * idempotent on the client-generated UUID, so re-sending after a cut-off is always safe.
 */
(() => {
  'use strict';

  const CONFIG = JSON.parse(document.getElementById('field-config').textContent);
  const MAX_EDGE = 1600;
  const JPEG_QUALITY = 0.82;
  const RETRY_BASE_MS = 2000;
  const RETRY_MAX_MS = 5 * 60 * 1000;
  const TICK_MS = 5000;

  // ---------------------------------------------------------------------------------------
  // Text
  // ---------------------------------------------------------------------------------------

  const I18N = {
    zh: {
      title: '巡查',
      inspector: '巡查员',
      signIn: '登录',
      signInAgain: '登录已过期：请重新登录后自动同步',
      otherUser: (name) => `由 ${name} 记录：需 ${name} 登录后同步`,
      position: '位置',
      acceptFix: '接受当前定位',
      pickMap: '地图选点',
      pickingMap: '点击地图选择位置…',
      useGps: '改用 GPS 定位',
      threshold: '精度要求（米）',
      problem: '核查哪个问题',
      finding: '巡查结果',
      category: '问题类别',
      chooseCategory: '— 选择类别 —',
      note: '备注',
      photos: '照片',
      addPhoto: '拍照 / 添加照片',
      submit: '保存并提交',
      queue: '同步队列',
      syncNow: '立即同步',
      clearSynced: '清除已同步',
      online: '在线',
      offline: '离线',
      waitingFix: '正在定位…',
      goodFix: '定位精度达标',
      poorFix: (t) => `精度未达 ${t} 米，请稍候或接受当前定位`,
      acceptedPoor: '已接受较差精度',
      noGeo: '此设备或页面无法使用 GPS（需 HTTPS），请在地图上选点',
      geoDenied: '未获定位权限，请在地图上选点',
      fromGps: 'GPS 定位',
      fromMap: '地图选点（已标记为非 GPS）',
      noProblem: '不针对已有问题（新发现）',
      problemsNone: (r) => `${r} 米内没有未销号问题`,
      problemsOffline: '离线：根据缓存的问题清单估算距离',
      needPosition: '还没有位置：请等待定位或在地图上选点',
      needName: '请先登录',
      needCategory: '新发现问题请选择类别',
      needPhoto: '请至少拍一张照片',
      tooManyPhotos: (n) => `最多 ${n} 张照片`,
      photoTooBig: '照片过大',
      photoUnsupported: '不支持的照片格式（仅 JPEG、PNG、HEIC）',
      queued: '已保存到本机，联网后自动同步',
      stateQueued: '待同步',
      stateSyncing: '同步中…',
      stateSynced: '已同步',
      stateRetry: '等待重试',
      stateRejected: '被拒绝，需处理',
      retry: '重试',
      remove: '删除',
      confirmRemove: '确定删除这条未同步的记录？',
      photosUp: (a, b) => `照片 ${a}/${b}`,
      nextTry: (s) => `${s} 秒后重试`,
      networkError: '网络不可用',
      inZone: (name, lvl) => `位于饮用水水源${lvl}：${name}`,
      zoneLevels: {'1': '一级保护区', '2': '二级保护区', quasi: '准保护区'},
      zoneWarning: '保护区内禁止排污口等，请核实',
      duplicates: (r) => `${r} 米内有同类未销号问题，可能是同一问题：`,
      reports: '附近近期已有同类新发现上报：',
      checkThis: '改为核查此问题',
      outside: '该位置不在本县范围内',
      hintsOffline: '（离线估算）',
      flags: '提示',
      m: '米',
    },
    en: {
      title: 'Field',
      inspector: 'Inspector',
      signIn: 'Sign in',
      signInAgain: 'Signed out: sign in again and the queue syncs',
      otherUser: (name) => `Recorded by ${name}: syncs when ${name} is signed in`,
      position: 'Position',
      acceptFix: 'Accept this fix',
      pickMap: 'Pick on map',
      pickingMap: 'Tap the map to choose the position…',
      useGps: 'Use GPS instead',
      threshold: 'Required accuracy (m)',
      problem: 'Problem being checked',
      finding: 'Finding',
      category: 'Category',
      chooseCategory: '— choose a category —',
      note: 'Note',
      photos: 'Photos',
      addPhoto: 'Take / add photo',
      submit: 'Save and submit',
      queue: 'Sync queue',
      syncNow: 'Sync now',
      clearSynced: 'Clear synced',
      online: 'Online',
      offline: 'Offline',
      waitingFix: 'Waiting for a position…',
      goodFix: 'Accuracy good enough',
      poorFix: (t) => `Worse than ${t} m: wait, or accept this fix`,
      acceptedPoor: 'Poor accuracy accepted',
      noGeo: 'GPS is not available here (it needs HTTPS): pick the position on the map',
      geoDenied: 'Location permission denied: pick the position on the map',
      fromGps: 'From GPS',
      fromMap: 'Picked on the map (marked as not GPS)',
      noProblem: 'No existing problem (new finding)',
      problemsNone: (r) => `No open problem within ${r} m`,
      problemsOffline: 'Offline: distances estimated from the cached problem list',
      needPosition: 'No position yet: wait for a fix or pick on the map',
      needName: 'Sign in first',
      needCategory: 'Choose a category for a new problem',
      needPhoto: 'Take at least one photo',
      tooManyPhotos: (n) => `At most ${n} photos`,
      photoTooBig: 'Photo too large',
      photoUnsupported: 'Unsupported photo format (JPEG, PNG or HEIC only)',
      queued: 'Saved on this device; it syncs when the network is back',
      stateQueued: 'Queued',
      stateSyncing: 'Syncing…',
      stateSynced: 'Synced',
      stateRetry: 'Waiting to retry',
      stateRejected: 'Refused: needs attention',
      retry: 'Retry',
      remove: 'Delete',
      confirmRemove: 'Delete this unsynced record?',
      photosUp: (a, b) => `photos ${a}/${b}`,
      nextTry: (s) => `retry in ${s} s`,
      networkError: 'network unavailable',
      inZone: (name, lvl) => `Inside a drinking-water ${lvl}: ${name}`,
      zoneLevels: {'1': 'level-1 protection zone', '2': 'level-2 protection zone',
        quasi: 'quasi-protection zone'},
      zoneWarning: 'Outfalls and similar are banned in protection zones: check carefully',
      duplicates: (r) => `Open problems of the same category within ${r} m (maybe the same one):`,
      reports: 'Recent new-problem reports of the same category nearby:',
      checkThis: 'Check this problem instead',
      outside: 'This position lies outside the county',
      hintsOffline: '(offline estimate)',
      flags: 'Flags',
      m: 'm',
    },
  };
  const FLAG_LABELS = {
    outside_county: ['县域外', 'outside the county'],
    future_time: ['设备时间超前', 'device time ahead'],
    poor_accuracy: ['定位精度差', 'poor accuracy'],
    off_site: ['距问题点过远', 'off site'],
    map_picked: ['地图选点', 'picked on map'],
    exif_far: ['照片 GPS 与位置不符', 'photo GPS far away'],
    photo_reused: ['照片重复使用', 'photo reused'],
  };

  let lang = localStorage.getItem('lookback.lang') || 'zh';
  const t = (key, ...args) => {
    const value = (I18N[lang] && I18N[lang][key]) ?? I18N.zh[key] ?? key;
    return typeof value === 'function' ? value(...args) : value;
  };
  const label = (item) => (item ? (lang === 'zh' ? item.zh : item.en) : '');
  const byValue = (list, value) => list.find((x) => x.value === value);
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  };

  // ---------------------------------------------------------------------------------------
  // Crypto helpers that also work outside a secure context (plain HTTP on an intranet)
  // ---------------------------------------------------------------------------------------

  const K256 = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ]);

  function sha256Fallback(bytes) {
    const ror = (x, n) => (x >>> n) | (x << (32 - n));
    const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
    const length = bytes.length;
    const padded = ((length + 9 + 63) >> 6) << 6;
    const m = new Uint8Array(padded);
    m.set(bytes);
    m[length] = 0x80;
    const view = new DataView(m.buffer);
    view.setUint32(padded - 4, (length * 8) >>> 0);
    view.setUint32(padded - 8, Math.floor(length / 0x20000000));
    const w = new Uint32Array(64);
    for (let off = 0; off < padded; off += 64) {
      for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
      for (let i = 16; i < 64; i++) {
        const a = w[i - 15];
        const b = w[i - 2];
        const s0 = ror(a, 7) ^ ror(a, 18) ^ (a >>> 3);
        const s1 = ror(b, 17) ^ ror(b, 19) ^ (b >>> 10);
        w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
      }
      let [a, b, c, d, e, f, g, k] = h;
      for (let i = 0; i < 64; i++) {
        const t1 = (k + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g))
          + K256[i] + w[i]) | 0;
        const t2 = ((ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        k = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
    }
    return Array.from(h, (x) => x.toString(16).padStart(8, '0')).join('');
  }

  async function sha256Hex(bytes) {
    if (window.crypto && crypto.subtle && window.isSecureContext) {
      const digest = await crypto.subtle.digest('SHA-256', bytes);
      return Array.from(new Uint8Array(digest), (x) => x.toString(16).padStart(2, '0')).join('');
    }
    return sha256Fallback(bytes);
  }

  function newUuid() {
    if (window.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  // ---------------------------------------------------------------------------------------
  // Coordinates: metres, and GCJ-02 for Amap-style basemaps (display only)
  // ---------------------------------------------------------------------------------------

  function metres(lon1, lat1, lon2, lat2) {
    const r = 6371008.8;
    const p1 = (lat1 * Math.PI) / 180;
    const p2 = (lat2 * Math.PI) / 180;
    const dp = p2 - p1;
    const dl = ((lon2 - lon1) * Math.PI) / 180;
    const a = Math.sin(dp / 2) ** 2 + Math.cos(p1) * Math.cos(p2) * Math.sin(dl / 2) ** 2;
    return 2 * r * Math.asin(Math.min(1, Math.sqrt(a)));
  }

  function gcjOffset(lon, lat) {
    if (lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271) return [0, 0];
    const x = lon - 105;
    const y = lat - 35;
    const s = Math.sin;
    const pi = Math.PI;
    let dlat = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    dlat += ((20 * s(6 * x * pi) + 20 * s(2 * x * pi)) * 2) / 3;
    dlat += ((20 * s(y * pi) + 40 * s((y / 3) * pi)) * 2) / 3;
    dlat += ((160 * s((y / 12) * pi) + 320 * s((y * pi) / 30)) * 2) / 3;
    let dlon = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    dlon += ((20 * s(6 * x * pi) + 20 * s(2 * x * pi)) * 2) / 3;
    dlon += ((20 * s(x * pi) + 40 * s((x / 3) * pi)) * 2) / 3;
    dlon += ((150 * s((x / 12) * pi) + 300 * s((x / 30) * pi)) * 2) / 3;
    const a = 6378245.0;
    const ee = 0.00669342162296594323;
    const rad = (lat / 180) * pi;
    const magic = 1 - ee * s(rad) ** 2;
    const sq = Math.sqrt(magic);
    return [(dlon * 180) / ((a / sq) * Math.cos(rad) * pi), (dlat * 180) / (((a * (1 - ee)) / (magic * sq)) * pi)];
  }

  const GCJ = CONFIG.tile_url && CONFIG.tile_crs === 'gcj02';
  function toDisplay(lon, lat) {
    if (!GCJ) return [lat, lon];
    const [dx, dy] = gcjOffset(lon, lat);
    return [lat + dy, lon + dx];
  }
  function fromDisplay(latlng) {
    // Returns WGS-84 [lon, lat] (iterating the forward offset) and the source pair as picked.
    const src = [latlng.lng, latlng.lat];
    if (!GCJ) return {wgs: src, src, crs: 'wgs84'};
    let [x, y] = src;
    for (let i = 0; i < 10; i++) {
      const [dx, dy] = gcjOffset(x, y);
      x = src[0] - dx;
      y = src[1] - dy;
    }
    return {wgs: [x, y], src, crs: 'gcj02'};
  }

  // ---------------------------------------------------------------------------------------
  // IndexedDB: the queue (one record per submission, photos as bytes) and a small cache
  // ---------------------------------------------------------------------------------------

  const DB_NAME = 'lookback-field';
  let dbPromise = null;
  function db() {
    if (!dbPromise) {
      dbPromise = new Promise((resolve, reject) => {
        const request = indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = () => {
          const d = request.result;
          if (!d.objectStoreNames.contains('queue')) d.createObjectStore('queue', {keyPath: 'uuid'});
          if (!d.objectStoreNames.contains('cache')) d.createObjectStore('cache');
        };
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    }
    return dbPromise;
  }
  async function tx(store, mode, fn) {
    const d = await db();
    return new Promise((resolve, reject) => {
      const transaction = d.transaction(store, mode);
      const result = fn(transaction.objectStore(store));
      transaction.oncomplete = () => resolve(result && 'result' in result ? result.result : result);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  }
  const queuePut = (item) => tx('queue', 'readwrite', (s) => s.put(item));
  const queueDelete = (uuid) => tx('queue', 'readwrite', (s) => s.delete(uuid));
  const queueAll = () => tx('queue', 'readonly', (s) => s.getAll());
  const cachePut = (key, value) => tx('cache', 'readwrite', (s) => s.put(value, key));
  const cacheGet = (key) => tx('cache', 'readonly', (s) => s.get(key));

  // ---------------------------------------------------------------------------------------
  // State
  // ---------------------------------------------------------------------------------------

  const state = {
    user: JSON.parse(localStorage.getItem('lookback.user') || 'null'),
    needSignIn: false,
    fix: null, // latest GPS fix {lon, lat, accuracy}
    chosen: null, // position to submit {lon, lat, srcLon, srcLat, crs, accuracy, source}
    acceptPoor: false,
    picking: false,
    problemCode: null,
    problems: [],
    problemsFor: null,
    finding: 'checked',
    photos: [],
    pack: null,
    hintsTimer: null,
  };
  const threshold = () => Number(localStorage.getItem('lookback.threshold')) || CONFIG.accuracy_threshold_m;

  // ---------------------------------------------------------------------------------------
  // Map
  // ---------------------------------------------------------------------------------------

  let map = null;
  let posLayer = null;
  let problemLayer = null;
  function initMap() {
    if (!window.L) return;
    map = L.map('map', {zoomControl: true, attributionControl: Boolean(CONFIG.tile_url)});
    map.setView([34, 113], 9);
    if (CONFIG.tile_url) {
      L.tileLayer(CONFIG.tile_url, {attribution: CONFIG.tile_attribution || '', maxZoom: 18}).addTo(map);
    }
    posLayer = L.layerGroup().addTo(map);
    problemLayer = L.layerGroup().addTo(map);
    fetchJson('/api/townships.geojson', 15000)
      .then((geo) => {
        const layer = L.geoJSON(geo, {
          style: {color: '#333', weight: 2, fill: true, fillOpacity: 0.04},
          coordsToLatLng: (c) => L.latLng(...toDisplay(c[0], c[1])),
          interactive: false,
        }).addTo(map);
        if (!state.chosen && layer.getBounds().isValid()) map.fitBounds(layer.getBounds());
      })
      .catch(() => {});
    map.on('click', (event) => {
      if (!state.picking) return;
      const picked = fromDisplay(event.latlng);
      setChosen({
        lon: picked.wgs[0], lat: picked.wgs[1], srcLon: picked.src[0], srcLat: picked.src[1],
        crs: picked.crs, accuracy: null, source: 'map',
      });
      state.picking = false;
      renderPosition();
    });
  }

  function drawPosition() {
    if (!map || !posLayer) return;
    posLayer.clearLayers();
    const p = state.chosen || state.fix;
    if (!p) return;
    const ll = toDisplay(p.lon, p.lat);
    if (p.accuracy) L.circle(ll, {radius: p.accuracy, color: '#0b5d1e', weight: 1, fillOpacity: 0.12}).addTo(posLayer);
    L.circleMarker(ll, {radius: 9, color: '#fff', weight: 3, fillColor: p.source === 'map' ? '#123f8c' : '#0b5d1e', fillOpacity: 1}).addTo(posLayer);
  }

  function drawProblems() {
    if (!map || !problemLayer) return;
    problemLayer.clearLayers();
    for (const p of state.problems) {
      const chosen = p.code === state.problemCode;
      L.circleMarker(toDisplay(p.lon, p.lat), {
        radius: chosen ? 10 : 7, color: '#000', weight: 2,
        fillColor: chosen ? '#0b5d1e' : '#d97706', fillOpacity: 0.9,
      }).bindTooltip(p.code).on('click', () => selectProblem(p.code)).addTo(problemLayer);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Position
  // ---------------------------------------------------------------------------------------

  function setChosen(position) {
    const before = state.chosen;
    state.chosen = position;
    drawPosition();
    if (map) map.setView(toDisplay(position.lon, position.lat), Math.max(map.getZoom(), 16));
    const moved = !before || metres(before.lon, before.lat, position.lon, position.lat) > 15;
    if (moved || before.source !== position.source) {
      loadNearby();
    }
    scheduleHints();
  }

  function onFix(pos) {
    const fix = {
      lon: pos.coords.longitude, lat: pos.coords.latitude, srcLon: pos.coords.longitude,
      srcLat: pos.coords.latitude, crs: 'wgs84', accuracy: Math.round(pos.coords.accuracy * 10) / 10,
      source: 'gps',
    };
    state.fix = fix;
    const usingMap = state.chosen && state.chosen.source === 'map';
    if (!usingMap) {
      const good = fix.accuracy <= threshold();
      const better = !state.chosen || fix.accuracy <= state.chosen.accuracy || good;
      if ((good || state.acceptPoor) && better) setChosen(fix);
    }
    renderPosition();
  }

  function onFixError(error) {
    state.geoError = error && error.code === 1 ? 'geoDenied' : state.geoError;
    renderPosition();
  }

  function startGeolocation() {
    if (!('geolocation' in navigator) || !window.isSecureContext) {
      state.geoError = 'noGeo';
      renderPosition();
      return;
    }
    navigator.geolocation.watchPosition(onFix, onFixError, {
      enableHighAccuracy: true, maximumAge: 0, timeout: 60000,
    });
  }

  function renderPosition() {
    const box = $('fix');
    const shown = state.chosen || state.fix;
    const acc = $('fix-accuracy');
    const text = $('fix-text');
    if (state.chosen && state.chosen.source === 'map') {
      box.dataset.quality = 'map';
      acc.textContent = '⌖';
      text.textContent = `${t('fromMap')} · ${state.chosen.lat.toFixed(6)}, ${state.chosen.lon.toFixed(6)}`;
    } else if (shown) {
      const good = shown.accuracy <= threshold();
      box.dataset.quality = good ? 'good' : 'poor';
      acc.textContent = `±${Math.round(shown.accuracy)} ${t('m')}`;
      let note = good ? t('goodFix') : t('poorFix', threshold());
      if (!good && state.acceptPoor && state.chosen) note = t('acceptedPoor');
      text.textContent = `${note} · ${shown.lat.toFixed(6)}, ${shown.lon.toFixed(6)}`;
    } else {
      box.dataset.quality = 'none';
      acc.textContent = '—';
      text.textContent = state.geoError ? t(state.geoError) : t('waitingFix');
    }
    $('accept-fix').disabled = !state.fix;
    $('accept-fix').textContent = state.chosen && state.chosen.source === 'map' ? t('useGps') : t('acceptFix');
    $('pick-map').textContent = state.picking ? t('pickingMap') : t('pickMap');
    $('map').classList.toggle('picking', state.picking);
    $('pos-source').textContent = state.chosen ? (state.chosen.source === 'map' ? t('fromMap') : t('fromGps')) : '';
  }

  // ---------------------------------------------------------------------------------------
  // Network helpers
  // ---------------------------------------------------------------------------------------

  async function fetchT(url, options = {}, timeoutMs = 20000) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      return await fetch(url, {...options, signal: controller.signal, cache: 'no-store'});
    } finally {
      clearTimeout(timer);
    }
  }
  async function fetchJson(url, timeoutMs = 10000) {
    const response = await fetchT(url, {headers: {Accept: 'application/json'}}, timeoutMs);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return response.json();
  }
  async function errorText(response) {
    try {
      const body = await response.json();
      const detail = typeof body.detail === 'string' ? body.detail : JSON.stringify(body.detail);
      return `${response.status}: ${detail}${body.field ? ` [${body.field}]` : ''}`;
    } catch (e) {
      return `HTTP ${response.status}`;
    }
  }

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)lookback_csrf=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : '';
  }

  async function loadMe() {
    try {
      const response = await fetchT('/auth/me', {headers: {Accept: 'application/json'}}, 8000);
      if (response.status === 401) {
        state.needSignIn = true;
      } else if (response.ok) {
        const me = await response.json();
        state.user = {name: me.name, role: me.role};
        state.needSignIn = false;
        localStorage.setItem('lookback.user', JSON.stringify(state.user));
      }
    } catch (e) { /* offline: keep the user remembered from the last sign-in */ }
    renderWho();
  }

  function renderWho() {
    $('whoami').textContent = state.user ? state.user.name : '—';
    $('signin').hidden = !state.needSignIn && Boolean(state.user);
  }

  // ---------------------------------------------------------------------------------------
  // Nearby problems and hints (server when online, cached pack when not)
  // ---------------------------------------------------------------------------------------

  async function loadPack() {
    try {
      const pack = await fetchJson('/api/field/pack', 20000);
      state.pack = pack;
      await cachePut('pack', {at: Date.now(), pack});
    } catch (e) {
      const cached = await cacheGet('pack').catch(() => null);
      if (cached) state.pack = cached.pack;
    }
  }

  function packNearby(lon, lat, radius, limit, category) {
    if (!state.pack) return [];
    return state.pack.problems
      .filter((p) => !category || p.category === category)
      .map((p) => ({...p, distance_m: Math.round(metres(lon, lat, p.lon, p.lat) * 10) / 10, approx: true}))
      .filter((p) => p.distance_m <= radius)
      .sort((a, b) => a.distance_m - b.distance_m || a.code.localeCompare(b.code))
      .slice(0, limit);
  }

  function inRing(lon, lat, ring) {
    let inside = false;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i];
      const [xj, yj] = ring[j];
      if ((yi > lat) !== (yj > lat) && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  }
  function inGeometry(lon, lat, geometry) {
    if (!geometry) return false;
    const polygons = geometry.type === 'Polygon' ? [geometry.coordinates]
      : geometry.type === 'MultiPolygon' ? geometry.coordinates : [];
    return polygons.some((rings) => rings.reduce((acc, ring) => acc !== inRing(lon, lat, ring), false));
  }

  function packHints(lon, lat, category, problemCode) {
    const zones = state.pack ? state.pack.zones.features
      .filter((f) => inGeometry(lon, lat, f.geometry))
      .map((f) => ({name: f.properties.name, zone_level: f.properties.zone_level})) : [];
    const duplicates = category
      ? packNearby(lon, lat, CONFIG.duplicate_radius_m, 10, category).filter((p) => p.code !== problemCode)
      : [];
    return {zones, duplicates, recent_reports: [], outside_county: false, offline: true,
      duplicate_radius_m: CONFIG.duplicate_radius_m};
  }

  async function loadNearby() {
    const p = state.chosen;
    if (!p) return;
    const radius = CONFIG.nearby_radius_m;
    let problems;
    let offline = false;
    try {
      const q = new URLSearchParams({lon: p.srcLon, lat: p.srcLat, crs: p.crs});
      problems = (await fetchJson(`/api/field/nearby?${q}`, 8000)).problems;
    } catch (e) {
      problems = packNearby(p.lon, p.lat, radius, CONFIG.nearby_limit);
      offline = true;
    }
    state.problems = problems;
    state.problemsOffline = offline;
    if (state.problemCode && !problems.some((x) => x.code === state.problemCode)) {
      state.problemCode = null;
    }
    renderProblems();
    drawProblems();
    scheduleHints();
  }

  function renderProblems() {
    const box = $('problems');
    box.replaceChildren();
    const option = (code, ...lines) => el('button', {
      type: 'button', class: 'problem', role: 'radio',
      'aria-checked': String(state.problemCode === code), 'data-code': code || '',
      onclick: () => selectProblem(code),
    }, ...lines);
    box.append(option(null, el('strong', {text: t('noProblem')})));
    for (const p of state.problems) {
      const cat = label(byValue(CONFIG.categories, p.category));
      const dist = `${p.approx ? '≈' : ''}${Math.round(p.distance_m)} ${t('m')}`;
      box.append(option(
        p.code,
        el('strong', {text: `${p.code} · ${dist}`}),
        el('br'),
        el('span', {text: `${cat}${p.description ? ' · ' + p.description : ''}`}),
      ));
    }
    const note = $('problems-note');
    note.textContent = state.problemsOffline ? t('problemsOffline')
      : state.problems.length ? '' : t('problemsNone', CONFIG.nearby_radius_m);
  }

  function selectProblem(code) {
    state.problemCode = code;
    const problem = state.problems.find((p) => p.code === code);
    if (problem && problem.category) $('category').value = problem.category;
    if (problem && state.finding === 'new_problem') setFinding('checked');
    renderProblems();
    drawProblems();
    scheduleHints();
  }

  function scheduleHints() {
    clearTimeout(state.hintsTimer);
    state.hintsTimer = setTimeout(loadHints, 300);
  }

  async function loadHints() {
    const p = state.chosen;
    if (!p) return;
    const category = $('category').value || '';
    let hints;
    try {
      const q = new URLSearchParams({lon: p.srcLon, lat: p.srcLat, crs: p.crs});
      if (category) q.set('category', category);
      if (state.problemCode) q.set('problem_code', state.problemCode);
      hints = await fetchJson(`/api/field/hints?${q}`, 8000);
    } catch (e) {
      hints = packHints(p.lon, p.lat, category, state.problemCode);
    }
    renderHints(hints);
  }

  function renderHints(hints) {
    const box = $('hints');
    box.replaceChildren();
    const parts = [];
    if (hints.outside_county) parts.push(el('p', {class: 'danger', text: t('outside')}));
    for (const zone of hints.zones || []) {
      const level = (I18N[lang].zoneLevels || {})[zone.zone_level] || zone.zone_level;
      parts.push(el('p', {class: zone.zone_level === '1' ? 'danger' : '', 'data-hint': 'zone',
        text: t('inZone', zone.name, level)}));
    }
    if ((hints.zones || []).length) parts.push(el('p', {text: t('zoneWarning')}));
    if ((hints.duplicates || []).length) {
      const list = el('ul');
      for (const d of hints.duplicates) {
        list.append(el('li', {'data-hint': 'duplicate'},
          el('span', {text: `${d.code} · ${d.approx ? '≈' : ''}${Math.round(d.distance_m)} ${t('m')} · ${d.description || ''} `}),
          el('button', {type: 'button', class: 'secondary', text: t('checkThis'),
            onclick: () => { ensureProblem(d); selectProblem(d.code); }})));
      }
      parts.push(el('p', {text: t('duplicates', hints.duplicate_radius_m)}), list);
    }
    if ((hints.recent_reports || []).length) {
      const list = el('ul');
      for (const r of hints.recent_reports) {
        list.append(el('li', {text: `${Math.round(r.distance_m)} ${t('m')} · ${r.observed_at.slice(0, 16).replace('T', ' ')} · ${r.note}`}));
      }
      parts.push(el('p', {text: t('reports')}), list);
    }
    if (parts.length && hints.offline) parts.push(el('p', {class: 'muted', text: t('hintsOffline')}));
    box.append(...parts);
    box.hidden = parts.length === 0;
  }

  function ensureProblem(problem) {
    if (!state.problems.some((p) => p.code === problem.code)) {
      state.problems = [...state.problems, problem].sort((a, b) => a.distance_m - b.distance_m);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Form: findings, categories, photos
  // ---------------------------------------------------------------------------------------

  function setFinding(value) {
    state.finding = value;
    for (const button of $('findings').children) {
      button.setAttribute('aria-checked', String(button.dataset.value === value));
    }
  }

  function renderChoices() {
    const findings = $('findings');
    findings.replaceChildren(...CONFIG.findings.map((f) => el('button', {
      type: 'button', class: 'choice', role: 'radio', 'data-value': f.value,
      'aria-checked': String(state.finding === f.value), text: label(f),
      onclick: () => { setFinding(f.value); scheduleHints(); },
    })));
    const select = $('category');
    const current = select.value;
    select.replaceChildren(
      el('option', {value: '', text: t('chooseCategory')}),
      ...CONFIG.categories.map((c) => el('option', {value: c.value, text: label(c)})),
    );
    select.value = current;
  }

  function jpegExifSegment(bytes) {
    if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
    let i = 2;
    while (i + 4 < bytes.length && bytes[i] === 0xff) {
      const marker = bytes[i + 1];
      const size = (bytes[i + 2] << 8) | bytes[i + 3];
      if (marker === 0xda || marker === 0xd9) break;
      if (marker === 0xe1 && bytes[i + 4] === 0x45 && bytes[i + 5] === 0x78 && bytes[i + 6] === 0x69
          && bytes[i + 7] === 0x66) {
        return bytes.slice(i, i + 2 + size);
      }
      i += 2 + size;
    }
    return null;
  }

  function uprightExif(segment) {
    // The canvas already applied the EXIF orientation: reset the tag to 1 (upright) in IFD0.
    const tiff = 10;
    const view = new DataView(segment.buffer, segment.byteOffset, segment.byteLength);
    if (segment.length < tiff + 8) return segment;
    const little = view.getUint16(tiff) === 0x4949;
    const ifd = tiff + view.getUint32(tiff + 4, little);
    if (ifd + 2 > segment.length) return segment;
    const count = view.getUint16(ifd, little);
    for (let n = 0; n < count; n++) {
      const entry = ifd + 2 + n * 12;
      if (entry + 12 > segment.length) break;
      if (view.getUint16(entry, little) === 0x0112) view.setUint16(entry + 8, 1, little);
    }
    return segment;
  }

  function sniff(bytes) {
    if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
    if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'image/png';
    const ftyp = String.fromCharCode(...bytes.slice(4, 12));
    if (ftyp.startsWith('ftyp') && /^(hei|hev|mif|msf)/.test(ftyp.slice(4))) return 'image/heic';
    return null;
  }

  async function decode(file) {
    if (window.createImageBitmap) {
      try {
        return await createImageBitmap(file, {imageOrientation: 'from-image'});
      } catch (e) { /* fall through to <img> */ }
    }
    const url = URL.createObjectURL(file);
    try {
      const img = new Image();
      img.src = url;
      await img.decode();
      return img;
    } finally {
      URL.revokeObjectURL(url);
    }
  }

  async function compress(file) {
    const original = new Uint8Array(await file.arrayBuffer());
    const type = sniff(original);
    let out = null;
    try {
      const image = await decode(file);
      const width = image.width;
      const height = image.height;
      const scale = Math.min(1, MAX_EDGE / Math.max(width, height));
      const canvas = document.createElement('canvas');
      canvas.width = Math.max(1, Math.round(width * scale));
      canvas.height = Math.max(1, Math.round(height * scale));
      canvas.getContext('2d').drawImage(image, 0, 0, canvas.width, canvas.height);
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', JPEG_QUALITY));
      if (blob) {
        let bytes = new Uint8Array(await blob.arrayBuffer());
        const exif = type === 'image/jpeg' ? jpegExifSegment(original) : null;
        if (exif) {
          const merged = new Uint8Array(bytes.length + exif.length);
          merged.set(bytes.subarray(0, 2));
          merged.set(uprightExif(exif), 2);
          merged.set(bytes.subarray(2), 2 + exif.length);
          bytes = merged;
        }
        out = {bytes, type: 'image/jpeg'};
        if (type === 'image/jpeg' && original.length <= bytes.length) out = {bytes: original, type};
      }
    } catch (e) {
      out = null;
    }
    if (!out) {
      if (!type) throw new Error(t('photoUnsupported'));
      out = {bytes: original, type};
    }
    if (out.bytes.length > CONFIG.photo_max_bytes) throw new Error(t('photoTooBig'));
    const sha256 = await sha256Hex(out.bytes);
    const name = (file.name || 'photo').replace(/\.[^.]*$/, '') + (out.type === 'image/jpeg' ? '.jpg' : '');
    return {bytes: out.bytes.buffer.slice(out.bytes.byteOffset, out.bytes.byteOffset + out.bytes.byteLength),
      type: out.type, sha256, name, size: out.bytes.length};
  }

  async function addPhotos(files) {
    const msg = $('form-msg');
    for (const file of files) {
      if (state.photos.length >= CONFIG.max_photos) {
        showMessage(t('tooManyPhotos', CONFIG.max_photos), true);
        break;
      }
      try {
        const photo = await compress(file);
        if (!state.photos.some((p) => p.sha256 === photo.sha256)) state.photos.push(photo);
      } catch (e) {
        showMessage(String(e.message || e), true);
      }
    }
    msg.dataset.photos = String(state.photos.length);
    renderThumbs();
  }

  function renderThumbs() {
    const box = $('thumbs');
    box.replaceChildren(...state.photos.map((p, index) => {
      const url = URL.createObjectURL(new Blob([p.bytes], {type: p.type}));
      return el('div', {class: 'thumb', 'data-sha256': p.sha256},
        el('img', {src: url, alt: p.name, onload: () => URL.revokeObjectURL(url)}),
        el('button', {type: 'button', 'aria-label': t('remove'), text: '✕',
          onclick: () => { state.photos.splice(index, 1); renderThumbs(); }}));
    }));
  }

  function showMessage(text, error = false) {
    const msg = $('form-msg');
    msg.textContent = text;
    msg.classList.toggle('error', error);
  }

  // ---------------------------------------------------------------------------------------
  // Submit: into the queue first, always
  // ---------------------------------------------------------------------------------------

  async function submit() {
    const inspector = state.user ? state.user.name : '';
    const category = $('category').value || null;
    if (!inspector) return showMessage(t('needName'), true);
    if (!state.chosen) return showMessage(t('needPosition'), true);
    if (state.finding === 'new_problem' && !category) return showMessage(t('needCategory'), true);
    if (!state.photos.length) return showMessage(t('needPhoto'), true);
    const p = state.chosen;
    const payload = {
      uuid: newUuid(),
      lon: p.srcLon,
      lat: p.srcLat,
      crs: p.crs,
      accuracy_m: p.source === 'map' ? null : p.accuracy,
      observed_at: new Date().toISOString(),
      finding: state.finding,
      category,
      note: $('note').value.trim(),
      problem_code: state.problemCode,
      position_source: p.source,
    };
    const item = {
      uuid: payload.uuid, actor: inspector, payload, createdAt: Date.now(),
      photos: state.photos.map((x) => ({sha256: x.sha256, type: x.type, name: x.name, size: x.size,
        bytes: x.bytes, uploaded: false})),
      posted: false, state: 'queued', attempts: 0, nextAt: 0, error: null, result: null,
    };
    $('submit').disabled = true;
    try {
      await queuePut(item);
    } catch (e) {
      $('submit').disabled = false;
      return showMessage(String(e.message || e), true);
    }
    $('submit').disabled = false;
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
    state.photos = [];
    state.problemCode = null;
    $('note').value = '';
    renderThumbs();
    renderProblems();
    drawProblems();
    showMessage(t('queued'));
    await renderQueue();
    requestBackgroundSync();
    syncAll();
  }

  // ---------------------------------------------------------------------------------------
  // Sync: POST the inspection (several in one batch), then PUT each photo by its hash; retry
  // with backoff
  // ---------------------------------------------------------------------------------------

  let syncing = false;
  let syncAgain = false;

  function backoff(item, message) {
    item.attempts += 1;
    const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (item.attempts - 1));
    item.nextAt = Date.now() + delay * (0.75 + Math.random() * 0.5);
    item.state = 'retry';
    item.error = message;
  }

  async function failed(item, response) {
    const message = await errorText(response);
    const csrf = response.status === 403 && /CSRF/i.test(message);
    if (response.status === 401 || csrf) {
      // Signed out (or a stale CSRF cookie): keep the item, ask for a sign-in, retry after it.
      state.needSignIn = true;
      renderWho();
      item.state = 'retry';
      item.nextAt = Date.now() + RETRY_MAX_MS;
      item.error = `${t('signInAgain')} (${message})`;
      throw new Error('sign-in needed');
    }
    if (response.status >= 500 || response.status === 408 || response.status === 429) {
      backoff(item, message);
    } else {
      item.state = 'rejected';
      item.error = message;
    }
  }

  // Several queued submissions go in one POST /api/inspections/batch (at most BATCH_MAX each),
  // with one answer per item; the photos follow by PUT as for a single submission.
  const BATCH_MAX = 500;

  async function failedAll(items, response) {
    const message = await errorText(response);
    for (const item of items) {
      await failed(item, {status: response.status, json: async () => ({detail: message})});
    }
  }

  async function postBatch(items) {
    const headers = {'X-CSRF-Token': csrfToken(), 'Content-Type': 'application/json'};
    for (const item of items) {
      item.state = 'syncing';
      await queuePut(item);
    }
    await renderQueue();
    let response;
    try {
      response = await fetchT('/api/inspections/batch', {
        method: 'POST', headers, body: JSON.stringify({items: items.map((i) => i.payload)}),
      }, 60000);
    } catch (e) {
      for (const item of items) {
        backoff(item, t('networkError'));
        await queuePut(item);
      }
      throw e;
    }
    if (response.status !== 200) {
      try {
        await failedAll(items, response);
      } finally {
        for (const item of items) await queuePut(item);
      }
      return;
    }
    const answer = await response.json();
    for (const result of answer.results) {
      const item = items[result.index];
      if (result.status === 'rejected') {
        item.state = 'rejected';
        item.error = `${result.status_code}: ${result.reason}${result.field ? ` [${result.field}]` : ''}`;
      } else {
        item.result = result;
        item.posted = true;
      }
      await queuePut(item);
    }
  }

  async function syncOne(item) {
    const headers = {'X-CSRF-Token': csrfToken()};
    item.state = 'syncing';
    await queuePut(item);
    await renderQueue();
    try {
      if (!item.posted) {
        const response = await fetchT('/api/inspections', {
          method: 'POST', headers: {...headers, 'Content-Type': 'application/json'},
          body: JSON.stringify(item.payload),
        }, 30000);
        if (response.status !== 200 && response.status !== 201) {
          await failed(item, response);
          return;
        }
        item.result = await response.json();
        item.posted = true;
        await queuePut(item);
      }
      for (const photo of item.photos) {
        if (photo.uploaded) continue;
        const response = await fetchT(`/api/inspections/${item.uuid}/photos/${photo.sha256}`, {
          method: 'PUT',
          headers: {...headers, 'Content-Type': photo.type, 'X-Filename': encodeURIComponent(photo.name)},
          body: photo.bytes,
        }, 120000);
        if (response.status === 404) {
          item.posted = false;
          backoff(item, await errorText(response));
          return;
        }
        if (response.status !== 200 && response.status !== 201) {
          await failed(item, response);
          return;
        }
        const body = await response.json();
        photo.uploaded = true;
        photo.bytes = null; // the server holds it now (fsync'd); free the device's storage
        if (item.result) item.result.flags = body.flags;
        await queuePut(item);
      }
      item.state = 'synced';
      item.syncedAt = Date.now();
      item.error = null;
    } catch (e) {
      if (!state.needSignIn) backoff(item, t('networkError'));
      throw e;
    } finally {
      await queuePut(item);
    }
  }

  async function syncAll(force = false) {
    if (!navigator.onLine && !force) {
      renderNet();
      return; // known to be offline: leave the queue as it is, the 'online' event restarts it
    }
    if (syncing) {
      syncAgain = true;
      return;
    }
    syncing = true;
    try {
      const now = Date.now();
      const me = state.user && state.user.name;
      const due = (await queueAll())
        .filter((i) => i.state !== 'synced' && i.state !== 'rejected')
        .filter((i) => !me || i.actor === me)
        .filter((i) => force || i.state !== 'retry' || i.nextAt <= now)
        .sort((a, b) => a.createdAt - b.createdAt);
      const unposted = due.filter((i) => !i.posted);
      const batched = new Set();
      if (unposted.length > 1) {
        for (let start = 0; start < unposted.length; start += BATCH_MAX) {
          try {
            const chunk = unposted.slice(start, start + BATCH_MAX);
            chunk.forEach((i) => batched.add(i.uuid));
            await postBatch(chunk);
          } catch (e) {
            return; // the network is down (or a sign-in is needed): keep the rest for later
          }
        }
      }
      for (const item of due) {
        if (batched.has(item.uuid) && !item.posted) continue; // rejected, or to retry later
        try {
          await syncOne(item);
        } catch (e) {
          break; // the network is down: keep the rest for later
        }
      }
    } finally {
      syncing = false;
      await renderQueue();
      renderNet();
      if (syncAgain) {
        syncAgain = false;
        setTimeout(syncAll, 0);
      }
    }
  }

  async function tick() {
    if (!navigator.onLine) return;
    const now = Date.now();
    const items = await queueAll();
    if (items.some((i) => (i.state === 'queued' || (i.state === 'retry' && i.nextAt <= now)
        || i.state === 'syncing'))) {
      syncAll();
    } else if (items.some((i) => i.state === 'retry')) {
      renderQueue();
    }
  }

  function requestBackgroundSync() {
    if (!('serviceWorker' in navigator) || !window.isSecureContext) return;
    navigator.serviceWorker.ready
      .then((registration) => registration.sync && registration.sync.register('lookback-sync'))
      .catch(() => {});
  }

  // ---------------------------------------------------------------------------------------
  // Queue display
  // ---------------------------------------------------------------------------------------

  const STATE_KEYS = {queued: 'stateQueued', syncing: 'stateSyncing', synced: 'stateSynced',
    retry: 'stateRetry', rejected: 'stateRejected'};

  async function renderQueue() {
    const items = (await queueAll()).sort((a, b) => b.createdAt - a.createdAt);
    const list = $('queue');
    list.replaceChildren(...items.map((item) => {
      const finding = label(byValue(CONFIG.findings, item.payload.finding));
      const up = item.photos.filter((p) => p.uploaded).length;
      const when = new Date(item.createdAt).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB');
      const flags = (item.result && item.result.flags) || [];
      const line = [when, finding, item.payload.problem_code, t('photosUp', up, item.photos.length)]
        .filter(Boolean).join(' · ');
      const extra = [];
      if (item.state === 'retry' && item.nextAt) {
        extra.push(el('div', {class: 'muted', text: t('nextTry', Math.max(0, Math.round((item.nextAt - Date.now()) / 1000)))}));
      }
      if (item.error && item.state !== 'synced') extra.push(el('div', {class: 'muted q-error', text: item.error}));
      if (state.user && item.actor !== state.user.name && item.state !== 'synced') {
        extra.push(el('div', {class: 'muted', text: t('otherUser', item.actor)}));
      }
      if (flags.length) {
        extra.push(el('div', {class: 'q-flags', text: `${t('flags')}: ${flags.map((f) => (FLAG_LABELS[f] || [f, f])[lang === 'zh' ? 0 : 1]).join('、')}`}));
      }
      const actions = el('div', {class: 'row'});
      if (item.state === 'retry' || item.state === 'rejected') {
        actions.append(el('button', {type: 'button', class: 'secondary', text: t('retry'),
          onclick: async () => { item.state = 'queued'; item.nextAt = 0; await queuePut(item); syncAll(true); }}));
      }
      if (item.state === 'rejected') {
        actions.append(el('button', {type: 'button', class: 'secondary', text: t('remove'),
          onclick: async () => { if (confirm(t('confirmRemove'))) { await queueDelete(item.uuid); renderQueue(); } }}));
      }
      return el('li', {class: 'q-item', 'data-uuid': item.uuid, 'data-state': item.state},
        el('div', {}, el('span', {class: 'q-state', text: t(STATE_KEYS[item.state] || item.state)}),
          el('span', {text: ` · ${line}`})),
        ...extra, actions.children.length ? actions : null);
    }));
    const pending = items.filter((i) => i.state !== 'synced').length;
    $('queue-count').textContent = String(pending);
    $('queue-count').dataset.pending = String(pending);
  }

  function renderNet() {
    const net = $('net');
    net.dataset.state = navigator.onLine ? 'online' : 'offline';
    net.textContent = navigator.onLine ? t('online') : t('offline');
  }

  function applyLanguage() {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
    $('lang').textContent = lang === 'zh' ? 'EN' : '中文';
    renderChoices();
    renderPosition();
    renderProblems();
    renderNet();
    renderQueue();
    scheduleHints();
  }

  // ---------------------------------------------------------------------------------------
  // Start
  // ---------------------------------------------------------------------------------------

  function start() {
    $('threshold').value = threshold();
    $('threshold').addEventListener('change', () => {
      const value = Number($('threshold').value);
      if (value > 0) localStorage.setItem('lookback.threshold', String(value));
      renderPosition();
    });
    $('lang').addEventListener('click', () => {
      lang = lang === 'zh' ? 'en' : 'zh';
      localStorage.setItem('lookback.lang', lang);
      applyLanguage();
    });
    $('accept-fix').addEventListener('click', () => {
      if (!state.fix) return;
      state.acceptPoor = true;
      state.picking = false;
      setChosen(state.fix);
      renderPosition();
    });
    $('pick-map').addEventListener('click', () => {
      state.picking = !state.picking;
      renderPosition();
    });
    $('category').addEventListener('change', scheduleHints);
    $('photo-input').addEventListener('change', async (event) => {
      await addPhotos(Array.from(event.target.files || []));
      event.target.value = '';
    });
    $('submit').addEventListener('click', submit);
    $('sync-now').addEventListener('click', () => syncAll(true));
    $('clear-synced').addEventListener('click', async () => {
      for (const item of await queueAll()) if (item.state === 'synced') await queueDelete(item.uuid);
      renderQueue();
    });
    window.addEventListener('online', async () => {
      renderNet();
      for (const item of await queueAll()) {
        if (item.state === 'retry') {
          item.nextAt = 0;
          await queuePut(item);
        }
      }
      await loadMe();
      syncAll();
      loadPack();
      if (state.chosen) loadNearby();
    });
    window.addEventListener('offline', renderNet);
    document.addEventListener('visibilitychange', () => { if (!document.hidden) tick(); });
    setInterval(tick, TICK_MS);

    initMap();
    applyLanguage();
    renderWho();
    loadMe().then(() => syncAll());
    startGeolocation();
    loadPack();
    // A fresh page (after a sign-in, say) retries at once; items left "syncing" are re-queued.
    queueAll().then(async (items) => {
      for (const item of items) {
        if (item.state === 'syncing' || item.state === 'retry') {
          item.state = item.state === 'syncing' ? 'queued' : item.state;
          item.nextAt = 0;
          await queuePut(item);
        }
      }
      renderQueue();
    });

    if ('serviceWorker' in navigator && window.isSecureContext) {
      navigator.serviceWorker.register('/field/sw.js', {scope: '/field'}).catch(() => {});
      navigator.serviceWorker.addEventListener('message', (event) => {
        if (event.data && event.data.type === 'sync') syncAll();
      });
    }
  }

  window.LookbackField = {sha256Fallback, sha256Hex, queueAll, syncAll, state, metres, gcjOffset};
  start();
})();
