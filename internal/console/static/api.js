// The admin API client: every call of the console goes through here, with
// the admin token the operator signed in with (kept in sessionStorage,
// cleared on sign-out) and the operator name for the operation log.

const TOKEN = 'opsync.adminToken';
const OPERATOR = 'opsync.operator';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
  toString() { return `${this.code} (HTTP ${this.status}): ${this.message}`; }
}

export const session = {
  get token() { return sessionStorage.getItem(TOKEN) || ''; },
  get operator() { return sessionStorage.getItem(OPERATOR) || 'console'; },
  signIn(token, operator) {
    sessionStorage.setItem(TOKEN, token);
    sessionStorage.setItem(OPERATOR, operator || 'console');
  },
  signOut() { sessionStorage.clear(); },
};

// api calls the admin API and answers its JSON; an error answer (or a
// push answer with success false) throws ApiError with the API's code and
// message, so that pages show exactly what the API said.
export async function api(method, path, body, token = session.token) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET') headers['X-Opsync-Operator'] = session.operator;
  let resp;
  try {
    resp = await fetch(`/api/v1/${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'NETWORK', `the node did not answer: ${e.message}`);
  }
  let data = null;
  const text = await resp.text();
  try { data = text ? JSON.parse(text) : null; } catch { /* not JSON: reported below */ }
  if (!resp.ok) {
    const err = data && data.error;
    if (err) throw new ApiError(resp.status, err.code, err.message);
    if (data && data.msg) throw new ApiError(resp.status, data.msg, data.detail || data.msg);
    throw new ApiError(resp.status, 'HTTP_' + resp.status, text.slice(0, 200) || resp.statusText);
  }
  if (data === null) throw new ApiError(resp.status, 'BAD_ANSWER', 'the answer is not JSON');
  return data;
}

// enc escapes one path segment.
export const enc = encodeURIComponent;
