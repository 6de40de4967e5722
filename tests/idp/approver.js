// Headless "browser" for the termauth test IdP.
//
// Plays the end-user over plain HTTP against the provider's own HTML pages:
// it follows redirects by hand, keeps a cookie jar, scrapes form actions and
// hidden inputs with regular expressions and submits them, exactly like a
// user clicking through. It never calls oidc-provider internals.

const MAX_STEPS = 25;

export class ApproverError extends Error {
  constructor(message, detail) {
    super(message);
    this.name = 'ApproverError';
    this.detail = detail;
  }
}

// --- tiny cookie jar (name + path scoped, host-only; good enough for one origin)
class CookieJar {
  #cookies = new Map(); // key `${path}\0${name}` -> { name, value, path }

  store(res, requestUrl) {
    const list = typeof res.headers.getSetCookie === 'function' ? res.headers.getSetCookie() : [];
    for (const header of list) {
      const [pair, ...attrs] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = null;
      let expired = false;
      for (const attr of attrs) {
        const [k, ...rest] = attr.split('=');
        const key = k.trim().toLowerCase();
        const v = rest.join('=').trim();
        if (key === 'path' && v.startsWith('/')) path = v;
        if (key === 'max-age' && Number(v) <= 0) expired = true;
        if (key === 'expires' && Date.parse(v) <= Date.now()) expired = true;
      }
      if (path === null) {
        // default-path per RFC 6265 §5.1.4
        const p = new URL(requestUrl).pathname;
        path = p.lastIndexOf('/') > 0 ? p.slice(0, p.lastIndexOf('/')) : '/';
      }
      const key = `${path}\0${name}`;
      if (expired || value === '') this.#cookies.delete(key);
      else this.#cookies.set(key, { name, value, path });
    }
  }

  header(url) {
    const { pathname } = new URL(url);
    const matching = [...this.#cookies.values()]
      .filter(({ path }) => pathname === path || pathname.startsWith(path.endsWith('/') ? path : `${path}/`))
      .sort((a, b) => b.path.length - a.path.length);
    return matching.map(({ name, value }) => `${name}=${value}`).join('; ');
  }
}

class Browser {
  /**
   * `reach` maps an origin to the one to connect to: with `--issuer-host` the issuer names
   * a host only the proxy tests' proxy resolves, while the IdP listens on 127.0.0.1.
   */
  constructor(reach = {}) {
    this.jar = new CookieJar();
    this.reach = reach;
  }

  async request(url, { method = 'GET', form } = {}) {
    const headers = { 'user-agent': 'termauth-idp-approver/1.0', accept: 'text/html,*/*' };
    const cookie = this.jar.header(url);
    if (cookie) headers.cookie = cookie;
    let body;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const { origin } = new URL(url);
    const target = this.reach[origin] ? this.reach[origin] + url.slice(origin.length) : url;
    const res = await fetch(target, { method, headers, body, redirect: 'manual' });
    this.jar.store(res, url);
    const text = await res.text();
    const location = res.headers.get('location');
    return {
      url,
      status: res.status,
      location: location ? new URL(location, url).href : null,
      text,
    };
  }
}

// --- HTML scraping helpers
const decodeEntities = (s) => s
  .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
  .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
  .replace(/&quot;/g, '"')
  .replace(/&#39;|&apos;/g, "'")
  .replace(/&lt;/g, '<')
  .replace(/&gt;/g, '>')
  .replace(/&amp;/g, '&');

function attr(tag, name) {
  const m = tag.match(new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i'));
  if (!m) return undefined;
  return decodeEntities(m[1] ?? m[2] ?? m[3]);
}

function parseForms(html, baseUrl) {
  const forms = [];
  const re = /<form\b([^>]*)>([\s\S]*?)<\/form>/gi;
  let m;
  while ((m = re.exec(html))) {
    const open = `<form${m[1]}>`;
    const inputs = {};
    const inputRe = /<input\b[^>]*>/gi;
    let im;
    while ((im = inputRe.exec(m[2]))) {
      const name = attr(im[0], 'name');
      if (name) inputs[name] = attr(im[0], 'value') ?? '';
    }
    forms.push({
      id: attr(open, 'id'),
      method: (attr(open, 'method') || 'GET').toUpperCase(),
      action: new URL(attr(open, 'action') || baseUrl, baseUrl).href,
      inputs,
    });
  }
  return forms;
}

const title = (html) => decodeEntities(html.match(/<title>([\s\S]*?)<\/title>/i)?.[1]?.trim() ?? '');
const h1 = (html) => decodeEntities(html.match(/<h1>([\s\S]*?)<\/h1>/i)?.[1]?.trim() ?? '');
const errorText = (html) => {
  const red = html.match(/<p class="red">([\s\S]*?)<\/p>/i)?.[1];
  if (red) return decodeEntities(red.trim());
  const pre = html.match(/<pre>([\s\S]*?)<\/pre>/i)?.[1];
  return pre ? decodeEntities(pre.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim()) : undefined;
};

function interactionKind(html) {
  if (/name="prompt"\s+value="login"/.test(html)) return 'login';
  if (/name="prompt"\s+value="consent"/.test(html)) return 'consent';
  return undefined;
}

function abortHref(html, baseUrl) {
  const m = html.match(/<a href="([^"]*\/abort)"/);
  return m ? new URL(decodeEntities(m[1]), baseUrl).href : undefined;
}

// Handles one interaction page (login or consent). Returns the response of
// the submission (normally a 303 back to the provider's resume endpoint).
async function handleInteraction(browser, page, { action, login, state }) {
  const kind = interactionKind(page.text);
  const form = parseForms(page.text, page.url).find((f) => f.inputs.prompt === kind);
  if (kind === 'login') {
    state.loggedIn = true;
    return browser.request(form.action, {
      method: 'POST',
      form: { ...form.inputs, login, password: 'any-password' },
    });
  }
  if (kind === 'consent') {
    state.consentSeen = true;
    if (action === 'deny') {
      state.denied = true;
      const href = abortHref(page.text, page.url);
      if (!href) throw new ApproverError('consent page has no abort link');
      return browser.request(href);
    }
    return browser.request(form.action, { method: 'POST', form: form.inputs });
  }
  throw new ApproverError('unexpected interaction page', { status: page.status, title: title(page.text), error: errorText(page.text) });
}

function checkAction(action) {
  if (action !== 'approve' && action !== 'deny') {
    throw new ApproverError('"action" must be "approve" or "deny"');
  }
}

/**
 * Authorization-code flow as a browser: GET the authorization URL, log in via
 * the devInteractions form, approve or deny consent, and stop at the redirect
 * that leaves the provider (towards the client's redirect_uri).
 *
 * @returns {Promise<{redirect: string, query: object, callback_status?: number, callback_body?: string}>}
 */
export async function authorize({
  url, action = 'approve', login = 'alice', followRedirect = false, reach = {},
}) {
  checkAction(action);
  if (typeof url !== 'string' || !url) throw new ApproverError('"url" (full authorization URL) is required');
  let target;
  try {
    target = new URL(url);
  } catch {
    throw new ApproverError('"url" is not an absolute URL');
  }
  const providerOrigin = target.origin;
  const browser = new Browser(reach);
  const state = {};
  let page = await browser.request(target.href);

  for (let step = 0; step < MAX_STEPS; step += 1) {
    if (page.status >= 300 && page.status < 400 && page.location) {
      const next = new URL(page.location);
      if (next.origin !== providerOrigin || !isProviderPath(next.pathname)) {
        // Leaving the provider: this is the redirect to the client.
        if (action === 'deny' && !state.denied) {
          throw new ApproverError('flow completed without a consent prompt, could not deny', { redirect: next.href });
        }
        const result = { redirect: next.href, query: Object.fromEntries(next.searchParams) };
        if (next.hash) result.fragment = Object.fromEntries(new URLSearchParams(next.hash.slice(1)));
        if (followRedirect) {
          try {
            const cb = await fetch(next.href, { redirect: 'manual' });
            result.callback_status = cb.status;
            result.callback_body = (await cb.text()).slice(0, 4096);
          } catch (err) {
            throw new ApproverError(`GET of redirect_uri failed: ${err.cause?.message || err.message}`, { redirect: next.href });
          }
        }
        return result;
      }
      page = await browser.request(next.href);
      continue;
    }
    if (page.status === 200 && interactionKind(page.text)) {
      page = await handleInteraction(browser, page, { action, login, state });
      continue;
    }
    if (page.status === 200 && /<form method="post"/.test(page.text) && /Submitting Callback/.test(page.text)) {
      throw new ApproverError('response_mode=form_post is not supported by the approver');
    }
    throw new ApproverError('authorization request failed at the provider (no redirect to the client)', {
      status: page.status, url: page.url, title: title(page.text), error: errorText(page.text),
    });
  }
  throw new ApproverError('too many steps');
}

// paths served by the provider itself (anything else on the same origin, e.g.
// a client that happens to share host:port, counts as "the client")
function isProviderPath(pathname) {
  return /^\/(auth|interaction|device|session)(\/|$)/.test(pathname);
}

/**
 * Device flow as a browser: open the verification page, type the user code,
 * confirm the device, log in, approve or deny consent.
 */
export async function device({
  issuer, userCode, action = 'approve', login = 'alice', reach = {},
}) {
  checkAction(action);
  if (typeof userCode !== 'string' || !userCode) throw new ApproverError('"user_code" is required');
  const browser = new Browser(reach);
  const state = {};
  const verificationUri = `${issuer}/device`;

  let page = await browser.request(verificationUri);
  const inputForm = parseForms(page.text, page.url).find((f) => 'user_code' in f.inputs && 'xsrf' in f.inputs);
  if (page.status !== 200 || !inputForm) {
    throw new ApproverError('device verification page has no user code form', { status: page.status });
  }
  page = await browser.request(inputForm.action, {
    method: 'POST', form: { ...inputForm.inputs, user_code: userCode },
  });
  const confirmForm = parseForms(page.text, page.url).find((f) => f.inputs.confirm === 'yes');
  if (!confirmForm) {
    throw new ApproverError(`user code rejected by the verification page: ${errorText(page.text) || title(page.text)}`, {
      status: page.status, user_code: userCode,
    });
  }
  page = await browser.request(confirmForm.action, { method: 'POST', form: confirmForm.inputs });

  for (let step = 0; step < MAX_STEPS; step += 1) {
    if (page.status >= 300 && page.status < 400 && page.location) {
      page = await browser.request(page.location);
      continue;
    }
    if (page.status === 200 && interactionKind(page.text)) {
      page = await handleInteraction(browser, page, { action, login, state });
      continue;
    }
    const heading = h1(page.text);
    if (action === 'approve' && page.status === 200 && /success/i.test(heading)) {
      return { ok: true, page: heading };
    }
    if (action === 'deny' && state.denied) {
      // provider renders the input page with "The Sign-in request was interrupted"
      return { ok: true, page: errorText(page.text) || heading };
    }
    throw new ApproverError('device flow did not finish as expected', {
      status: page.status, url: page.url, title: title(page.text), heading, error: errorText(page.text),
    });
  }
  throw new ApproverError('too many steps');
}
