// The example app's device manager page. It signs in with the module's cookie transport: the
// permanent token lives in an httpOnly cookie that no script can read, and the short JWT lives only
// in the `jwt` variable below: nothing goes to localStorage or sessionStorage. Device names come from
// request headers, so they are written with textContent, never parsed as HTML.

/** Asks the module for the cookie transport (and is the custom header that cross-site forms cannot send). */
const TRANSPORT = { 'Permanent-Token-Transport': 'cookie' };
/** Renew this long before the JWT expires, or at 80% of its lifetime when that is shorter. */
const RENEW_AHEAD_MS = 30_000;

let jwt = null;
let deviceId = null;
let renewal;
/** The renewal in flight, shared by every caller (see `renew`). */
let renewing = null;

const byId = (id) => document.getElementById(id);
const signInForm = byId('sign-in');
const session = byId('session');
const list = byId('devices');
const message = byId('message');

/** A request to the app, with the transport marker; `auth` adds the JWT. Returns the response, whatever its status. */
function send(method, path, { body, auth = true, headers: extra = {} } = {}) {
  const headers = { ...TRANSPORT, ...extra };
  if (auth) headers.Authorization = `Bearer ${jwt}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
}

/** An authenticated request; a 401 (expired JWT, e.g. after the computer slept) renews once and retries. */
async function call(method, path, options = {}) {
  let response = await send(method, path, options);
  if (response.status === 401 && (await renew())) response = await send(method, path, options);
  if (response.status === 401) return signedOut('Your session on this device has ended. Please sign in again.');
  if (!response.ok) throw new Error(await errorText(response));
  if (options.raw) return response;
  return response.status === 204 ? null : response.json();
}

/** A refusal as the alert region shows it: status and the server's message. */
async function errorText(response) {
  const body = await response.json().catch(() => ({}));
  return `${response.status}: ${[body.message].flat().join(' ') || response.statusText}`;
}

/**
 * Trades the cookie for a fresh JWT. False when this browser is signed out: no cookie, or one the server
 * refused (revoked, expired), which it then clears. The server says so with 200 `{token: null}`, not an
 * error status, so a signed-out page logs nothing to the console. Another failure (503) throws.
 */
function renew() {
  // One renewal at a time: with rotation each one replaces the cookie, and two in flight would race.
  renewing ??= renewOnce().finally(() => (renewing = null));
  return renewing;
}
async function renewOnce() {
  let response = await send('POST', '/device-refresh-token/', { auth: false });
  // 409: another tab's renewal replaced the cookie while this one was on its way; the browser now holds the newer one.
  if (response.status === 409) response = await send('POST', '/device-refresh-token/', { auth: false });
  if (!response.ok) throw new Error(await errorText(response));
  const { token } = await response.json();
  if (token === null) return false;
  accept(token);
  return true;
}

/** The JWT's payload: base64url-encoded UTF-8 JSON. */
function claimsOf(token) {
  const bytes = Uint8Array.from(atob(token.split('.')[1].replaceAll('-', '+').replaceAll('_', '/')), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

/** Keeps a new JWT in memory and schedules its renewal from its own lifetime (`exp - iat`), not the local clock. */
function accept(token) {
  const claims = claimsOf(token);
  jwt = token;
  deviceId = claims.device_id;
  byId('who').textContent = `Signed in as ${claims.username}.`;
  const lifetime = (claims.exp - claims.iat) * 1000;
  clearTimeout(renewal);
  renewal = setTimeout(renewOrSignOut, lifetime - Math.min(RENEW_AHEAD_MS, lifetime * 0.2));
}

async function renewOrSignOut() {
  try {
    if (!(await renew())) signedOut('Your session on this device has ended. Please sign in again.');
  } catch {
    message.textContent = 'Could not reach the server; trying again in 10 seconds.';
    renewal = setTimeout(renewOrSignOut, 10_000);
  }
}

function signedOut(text = '') {
  jwt = null;
  deviceId = null;
  clearTimeout(renewal);
  list.replaceChildren();
  session.hidden = true;
  signInForm.hidden = false;
  message.textContent = text;
  return null;
}

/** Every device of the user: the server answers a page at a time and links the next one (`Link: <…>; rel="next"`). */
async function allDevices() {
  const devices = [];
  for (let path = '/devices/'; path; ) {
    const response = await call('GET', path, { raw: true });
    if (!response) return null;
    devices.push(...(await response.json()));
    path = /<(\/[^>]*)>;\s*rel="next"/.exec(response.headers.get('Link') ?? '')?.[1];
  }
  return devices;
}

async function showDevices() {
  const devices = await allDevices();
  if (!devices) return;
  list.replaceChildren(...devices.map(deviceItem));
  signInForm.hidden = true;
  session.hidden = false;
}

function deviceItem(device) {
  const item = byId('device').content.firstElementChild.cloneNode(true);
  const rename = item.querySelector('.rename');
  item.querySelector('.name').textContent = device.name || 'Unnamed device';
  item.querySelector('.seen').textContent = `Last seen ${new Date(device.last_request_datetime).toLocaleString()}`;
  if (device.current) item.querySelector('.sign-out').remove();
  else item.querySelector('.current').remove();
  item.querySelector('.sign-out')?.addEventListener('click', () => act(() => call('DELETE', `/devices/${device.id}/`)));
  item.querySelector('.start-rename').addEventListener('click', () => {
    rename.hidden = false;
    rename.elements.name.value = device.name;
    rename.elements.name.focus();
  });
  item.querySelector('.cancel').addEventListener('click', () => { rename.hidden = true; });
  rename.addEventListener('submit', (event) => {
    event.preventDefault();
    act(() => call('PATCH', `/devices/${device.id}/`, { body: { name: rename.elements.name.value } }));
  });
  return item;
}

/** Runs a device action, then shows the list again; a failure is shown in the alert region. */
async function act(action) {
  message.textContent = '';
  try {
    await action();
    if (jwt) await showDevices();
  } catch (error) {
    message.textContent = error.message;
  }
}

signInForm.addEventListener('submit', (event) => {
  event.preventDefault();
  act(async () => {
    const { username, password } = signInForm.elements;
    const response = await send('POST', '/auth-token/', { auth: false, body: { username: username.value, password: password.value } });
    if (!response.ok) throw new Error(response.status === 400 ? 'Wrong username or password.' : await errorText(response));
    accept((await response.json()).token);
    signInForm.reset();
  });
});

byId('sign-out-others').addEventListener('click', () => act(() => call('DELETE', '/devices/others/')));

// Logging out deletes this device on the server, which also clears its cookie, and forgets the JWT here.
byId('log-out').addEventListener('click', () =>
  act(async () => {
    await call('DELETE', '/device-logout/', { headers: { 'Device-Id': deviceId } });
    signedOut();
  }),
);

// Back to this window, unless a rename is open: renew first, which tells a device signed out elsewhere
// (or a JWT that expired while the computer slept) without a refused request, then show the list as it is now.
window.addEventListener('focus', () => {
  if (jwt && !list.querySelector('.rename:not([hidden])')) act(async () => {
    if (!(await renew())) signedOut('Your session on this device has ended. Please sign in again.');
  });
});

// On load (and so on reload) the cookie, if this browser has one, signs the page in again; without one
// the server answers `{token: null}` and the page shows the sign-in form.
act(async () => {
  if (!(await renew())) signedOut();
});
