// Passkeys in the browser: the server's options (base64url in JSON) to
// navigator.credentials, and the credential back as JSON. Buttons:
// #passkey-sign-in (login page), #passkey-second-factor (second step),
// #passkey-add (security page).
(function () {
  "use strict";
  const b64 = {
    decode(text) {
      const s = text.replace(/-/g, "+").replace(/_/g, "/");
      const raw = atob(s + "===".slice((s.length + 3) % 4));
      return Uint8Array.from(raw, (c) => c.charCodeAt(0)).buffer;
    },
    encode(buffer) {
      const bytes = new Uint8Array(buffer);
      let raw = "";
      for (const b of bytes) raw += String.fromCharCode(b);
      return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    },
  };
  async function post(url, body) {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body || {}),
      credentials: "same-origin",
    });
    const json = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(json.message || "The passkey was not accepted.");
    return json;
  }
  function problem(message) {
    const p = document.getElementById("passkey-problem");
    if (p) { p.textContent = message; p.hidden = false; p.focus && p.focus(); }
  }
  async function assertWith(optionsUrl, finishUrl, trust) {
    const options = await post(optionsUrl);
    const pk = options.publicKey;
    pk.challenge = b64.decode(pk.challenge);
    pk.allowCredentials = (pk.allowCredentials || []).map((c) => ({ ...c, id: b64.decode(c.id) }));
    const cred = await navigator.credentials.get({ publicKey: pk });
    const r = cred.response;
    const done = await post(finishUrl, {
      ceremony: options.ceremony,
      trust: !!trust,
      credential: {
        id: cred.id, rawId: b64.encode(cred.rawId), type: cred.type, extensions: {},
        response: {
          authenticatorData: b64.encode(r.authenticatorData),
          clientDataJSON: b64.encode(r.clientDataJSON),
          signature: b64.encode(r.signature),
          userHandle: r.userHandle ? b64.encode(r.userHandle) : null,
        },
      },
    });
    window.location.assign(done.location || "/");
  }
  async function register(name) {
    const options = await post("/mfa/passkeys/options", { name });
    const pk = options.publicKey;
    pk.challenge = b64.decode(pk.challenge);
    pk.user.id = b64.decode(pk.user.id);
    pk.excludeCredentials = (pk.excludeCredentials || []).map((c) => ({ ...c, id: b64.decode(c.id) }));
    const cred = await navigator.credentials.create({ publicKey: pk });
    const r = cred.response;
    const done = await post("/mfa/passkeys", {
      ceremony: options.ceremony,
      credential: {
        id: cred.id, rawId: b64.encode(cred.rawId), type: cred.type, extensions: {},
        response: {
          attestationObject: b64.encode(r.attestationObject),
          clientDataJSON: b64.encode(r.clientDataJSON),
          transports: r.getTransports ? r.getTransports() : [],
        },
      },
    });
    window.location.assign(done.location || "/mfa/security");
  }
  function on(id, event, handler) {
    const el = document.getElementById(id);
    if (el) el.addEventListener(event, (e) => { e.preventDefault(); handler(el).catch((err) => problem(err.message)); });
  }
  on("passkey-sign-in", "click", () => assertWith("/mfa/passkey/options", "/mfa/passkey", false));
  on("passkey-second-factor", "click", () => assertWith("/mfa/verify/passkey/options", "/mfa/verify/passkey", false));
  on("passkey-add", "submit", (form) => register(form.querySelector("[name=name]").value));
})();
