// The explorer's own OpenID Connect sign-in: the authorization code flow with PKCE
// (RFC 7636, S256) as a public client, in this tab. The service tells the page the
// issuer's endpoints and the client id (/ui/config.json); the token is kept in session
// storage (this tab only, gone when it closes) and sent as `Authorization: Bearer`.
//
// The steps: beginSignIn() saves a random state, nonce and code verifier, then sends the
// browser to the issuer; the issuer sends it back to /ui/?code=...&state=...;
// finishSignIn() checks the state, exchanges the code and the verifier for tokens at the
// token endpoint, and puts the URL back as it was before leaving.

const FLOW_STORAGE = "slo-engine.sign-in-flow";
const TOKEN_STORAGE = "slo-engine.sign-in-token";
// A token this close to its expiry is refreshed (or given up) before it is sent.
const EXPIRY_MARGIN_MS = 30_000;

export class SignInError extends Error {
  /** `refused`: the issuer answered no (a bad or spent grant), not a network failure. */
  constructor(message, refused = false) {
    super(message);
    this.refused = refused;
  }
}

function base64url(bytes) {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomText(size = 32) {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

/** The claims of a JWT (not verified here: the service verifies every request). */
export function claimsOf(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const text = atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "="));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(text, (c) => c.charCodeAt(0))));
  } catch {
    return null;
  }
}

function redirectUri() {
  return new URL("./", window.location.href.split(/[?#]/)[0]).href;
}

/** Sends the browser to the issuer; `returnHash` is put back when it comes back. */
export async function beginSignIn(oidc, returnHash = window.location.hash) {
  const verifier = randomText(48);
  const challenge = base64url(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)),
  );
  const flow = { state: randomText(), nonce: randomText(), verifier, hash: returnHash };
  sessionStorage.setItem(FLOW_STORAGE, JSON.stringify(flow));
  const url = new URL(oidc.authorization_endpoint);
  const params = {
    response_type: "code",
    client_id: oidc.client_id,
    redirect_uri: redirectUri(),
    scope: oidc.scope,
    state: flow.state,
    nonce: flow.nonce,
    code_challenge: challenge,
    code_challenge_method: "S256",
  };
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  window.location.assign(url.href);
}

async function tokenRequest(oidc, fields) {
  let response;
  try {
    response = await fetch(oidc.token_endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: new URLSearchParams({ client_id: oidc.client_id, ...fields }),
      credentials: "omit",
      cache: "no-store",
    });
  } catch (error) {
    throw new SignInError(`the issuer could not be reached (${error.message ?? error})`);
  }
  let body = {};
  try {
    body = await response.json();
  } catch {
    // not JSON: the status says enough
  }
  if (!response.ok) {
    const reason = body.error_description || body.error || `${response.status} ${response.statusText}`;
    throw new SignInError(`the issuer refused the sign-in: ${reason}`, response.status < 500);
  }
  return body;
}

/**
 * Keeps the token of an issuer's answer. `nonce`: the sign-in's, which an ID token in
 * the answer must carry; `previous`: the kept token a refresh replaces, whose refresh
 * token stays when the issuer sends no new one.
 */
function keep(oidc, body, nonce = null, previous = null) {
  const token = body[oidc.token];
  const claims = typeof token === "string" ? claimsOf(token) : null;
  if (!claims) throw new SignInError(`the issuer's answer has no ${oidc.token}`);
  if (nonce !== null && typeof body.id_token === "string") {
    const idClaims = claimsOf(body.id_token);
    if (!idClaims || idClaims.nonce !== nonce) {
      throw new SignInError("the ID token does not carry the nonce this sign-in sent");
    }
  }
  const expiresAt =
    typeof claims.exp === "number"
      ? claims.exp * 1000
      : Date.now() + 1000 * (Number(body.expires_in) || 300);
  const who = claims.preferred_username || claims.email || claims.name || claims.sub || "you";
  const refreshToken = body.refresh_token ?? previous?.refreshToken ?? null;
  const stored = { token, expiresAt, refreshToken, who };
  sessionStorage.setItem(TOKEN_STORAGE, JSON.stringify(stored));
  return stored;
}

/**
 * Completes a sign-in when the issuer has just sent the browser back here: true when a
 * token was kept, false when the URL holds no answer of the issuer. A refusal, a state
 * that is not this tab's, or a failed exchange raises SignInError; the URL is put back
 * either way, so a reload does not replay the code.
 */
export async function finishSignIn(oidc) {
  const params = new URLSearchParams(window.location.search);
  if (!params.has("code") && !params.has("error")) return false;
  const flow = JSON.parse(sessionStorage.getItem(FLOW_STORAGE) ?? "null");
  // The state first: an answer that is not this tab's sign-in (a link someone sent) is
  // neither exchanged nor shown as the issuer's word, and leaves a pending sign-in be.
  const ours = flow !== null && params.get("state") === flow.state;
  if (ours) sessionStorage.removeItem(FLOW_STORAGE);
  history.replaceState(null, "", window.location.pathname + (ours ? flow.hash : window.location.hash));
  if (!ours) {
    throw new SignInError("the answer does not belong to a sign-in started in this tab");
  }
  if (params.has("error")) {
    throw new SignInError(
      `the issuer refused the sign-in: ${params.get("error_description") || params.get("error")}`,
    );
  }
  const body = await tokenRequest(oidc, {
    grant_type: "authorization_code",
    code: params.get("code"),
    redirect_uri: redirectUri(),
    code_verifier: flow.verifier,
  });
  keep(oidc, body, flow.nonce);
  return true;
}

function stored() {
  return JSON.parse(sessionStorage.getItem(TOKEN_STORAGE) ?? "null");
}

/** Who is signed in (a name for the page), or null. */
export function signedInAs() {
  return stored()?.who ?? null;
}

// The refresh under way, shared: the page sends several requests at once, and an
// issuer that rotates refresh tokens would refuse all but the first of several uses.
let refreshing = null;

/**
 * The token to send: the kept one while it is fresh, else a refreshed one when the
 * issuer gave a refresh token, else null (the person signs in again). A refresh the
 * issuer refuses forgets the token; one that fails on the way (the network, an answer
 * without the token) keeps it while it has not expired.
 */
export async function currentToken(oidc) {
  const kept = stored();
  if (!kept) return null;
  if (kept.expiresAt - EXPIRY_MARGIN_MS > Date.now()) return kept.token;
  if (!kept.refreshToken) {
    if (kept.expiresAt > Date.now()) return kept.token;
    forgetToken();
    return null;
  }
  refreshing ??= refresh(oidc, kept).finally(() => {
    refreshing = null;
  });
  return refreshing;
}

async function refresh(oidc, kept) {
  try {
    const body = await tokenRequest(oidc, {
      grant_type: "refresh_token",
      refresh_token: kept.refreshToken,
    });
    return keep(oidc, body, null, kept).token;
  } catch (error) {
    if (error instanceof SignInError && error.refused) {
      forgetToken();
      return null;
    }
    return kept.expiresAt > Date.now() ? kept.token : null;
  }
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_STORAGE);
}
