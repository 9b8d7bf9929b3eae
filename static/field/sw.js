/* Lookback field app service worker: the page and its assets work with no network.
 *
 * Scope /field. Only GET requests are handled; submissions never pass through a cache: the page
 * keeps them in IndexedDB and sends them itself, so the queue works without this worker too.
 */
'use strict';

const VERSION = '__VERSION__';
const SHELL = `lookback-field-shell-${VERSION}`;
const DATA = 'lookback-field-data';
const PAGE = '/field';
const PRECACHE = [
  '/field/manifest.webmanifest',
  `/static/field/app.js?v=${VERSION}`,
  `/static/field/styles.css?v=${VERSION}`,
  '/static/field/icons/icon.svg',
  '/static/field/icons/icon-192.png',
  '/static/field/icons/icon-512.png',
  '/static/vendor/leaflet/dist/leaflet.js',
  '/static/vendor/leaflet/dist/leaflet.css',
];
const DATA_PATHS = new Set(['/api/townships.geojson', '/api/field/pack']);
const PAGE_TIMEOUT_MS = 4000;

async function cachePage(cache) {
  // The page needs a sign-in: cache it only when it really came back (not the login form).
  const response = await fetch(new Request(PAGE, {cache: 'reload', redirect: 'manual'}));
  if (response.ok && response.type === 'basic') await cache.put(PAGE, response);
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(SHELL)
      .then((cache) => Promise.all([
        cache.addAll(PRECACHE.map((url) => new Request(url, {cache: 'reload'}))),
        cachePage(cache).catch(() => {}),
      ]))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys
        .filter((key) => key.startsWith('lookback-field-shell-') && key !== SHELL)
        .map((key) => caches.delete(key))))
      .then(() => self.clients.claim()),
  );
});

function timeout(ms) {
  return new Promise((resolve, reject) => setTimeout(() => reject(new Error('timeout')), ms));
}

async function networkFirst(request, cacheName, key, ms) {
  const cache = await caches.open(cacheName);
  try {
    const response = await (ms ? Promise.race([fetch(request), timeout(ms)]) : fetch(request));
    // A redirect (to the sign-in form) is passed through, never cached in place of the page.
    if (response.ok && !response.redirected && response.type === 'basic') {
      await cache.put(key || request, response.clone());
    }
    return response;
  } catch (error) {
    const cached = await cache.match(key || request, {ignoreSearch: !key});
    if (cached) return cached;
    throw error;
  }
}

async function cacheFirst(request) {
  const cached = await caches.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && new URL(request.url).pathname.startsWith('/static/vendor/')) {
    const cache = await caches.open(SHELL);
    await cache.put(request, response.clone());
  }
  return response;
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate' && (url.pathname === PAGE || url.pathname === `${PAGE}/`)) {
    event.respondWith(networkFirst(request, SHELL, PAGE, PAGE_TIMEOUT_MS));
  } else if (url.pathname.startsWith('/static/') || url.pathname === '/field/manifest.webmanifest') {
    event.respondWith(cacheFirst(request));
  } else if (DATA_PATHS.has(url.pathname)) {
    event.respondWith(networkFirst(request, DATA, null, 0));
  }
});

self.addEventListener('sync', (event) => {
  if (event.tag !== 'lookback-sync') return;
  event.waitUntil(
    self.clients.matchAll({type: 'window'})
      .then((clients) => clients.forEach((client) => client.postMessage({type: 'sync'}))),
  );
});
