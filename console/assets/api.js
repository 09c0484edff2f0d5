// api.js — the console's only door to the server. Every call is same-origin,
// carries the CSRF header, and turns an error body into an ApiError. A 401 from
// any route tells the app the session is gone (the "unauthenticated" event).

/** ApiError is a failed API call: HTTP status, the API's error code and message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || "";
  }
}

/** events signals "unauthenticated" when any call answers 401. */
export const events = new EventTarget();

/**
 * api calls path (under /console/api/) and returns the decoded JSON body.
 * body, when given, is sent as JSON with method POST.
 */
export async function api(path, body) {
  const init = {
    method: body === undefined ? "GET" : "POST",
    credentials: "same-origin",
    cache: "no-store",
    headers: { "X-Keyless-Console": "1", Accept: "application/json" },
  };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch("/console/api/" + path, init);
  } catch (err) {
    throw new ApiError(0, "NetworkError", "the console server cannot be reached: " + err.message);
  }
  let data = null;
  const text = await res.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const e = (data && data.error) || {};
    const err = new ApiError(res.status, e.code, e.message);
    if (res.status === 401 && path !== "signin") {
      events.dispatchEvent(new CustomEvent("unauthenticated", { detail: err }));
    }
    throw err;
  }
  return data;
}
