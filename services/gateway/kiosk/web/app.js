// Over 300 lines: the steps of one page share one in-memory state; helpers are in api, ecert, ids, idle, i18n.
// The Baylink kiosk: choose a service → identify → fill in → review → sign each material → fee → pay →
// receipt; or track a case by its number. One page, one step at a time, all state in memory (cleared
// on "finish" and on inactivity). Query parameters: kiosk (its id; "MO-…" is a Macau kiosk, which also
// speaks Portuguese and takes MOP), lang, idle and warn (seconds; default from the session's timeout).

import { ApiError, KioskApi } from "./api.js";
import { KeyCannotSign, bytesToBase64, base64ToBytes, digest, kindName, loadECert, signChallenge, signWith } from "./ecert.js";
import { LANGUAGES, language, setLanguage, t } from "./i18n.js";
import { checkHkid, checkMacauId, checkTravelPermit } from "./ids.js";
import { IdleTimer } from "./idle.js";

const params = new URLSearchParams(window.location.search);
const KIOSK_ID = /^[A-Za-z0-9._-]{1,64}$/.test(params.get("kiosk") || "") ? params.get("kiosk") : "HK-KIOSK-01";
const MACAU = KIOSK_ID.toUpperCase().startsWith("MO-");
const KIOSK_LANGUAGES = MACAU ? ["zh-Hant", "pt", "zh-Hans", "en"] : ["zh-Hant", "zh-Hans", "en"];
const CURRENCY = MACAU ? "MOP" : "HKD";
const APPLY_STEPS = ["catalogue", "identify", "application", "review", "sign", "fee", "pay", "receipt"];
const STEP_TITLES = {
  welcome: "title", catalogue: "stepCatalogue", identify: "stepIdentify", application: "stepApplication",
  review: "stepReview", sign: "stepSign", fee: "stepFee", pay: "stepPay", receipt: "stepReceipt", track: "stepTrack",
};

let state = fresh();
let idle = null;

function fresh() {
  return {
    step: "welcome", purpose: "apply", api: new KioskApi(language()), session: null, catalogue: [], item: null,
    person: null, eCert: null, form: {}, requestId: "", application: null, materials: [], quote: null,
    payment: null, track: null,
  };
}

// ---- DOM helpers ------------------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) if (child != null) node.append(child);
  return node;
}

const $ = (id) => document.getElementById(id);

function field(name, labelKey, { type = "text", hint, value, required = true, options, autocomplete = "off", attrs = {} } = {}) {
  const described = [hint ? `hint-${name}` : null, `err-${name}`].filter(Boolean).join(" ");
  const common = { id: name, name, "data-field": name, "aria-describedby": described, "aria-required": required ? "true" : null };
  const input = options
    ? el("select", common, options.map(([v, label]) => el("option", { value: v, selected: v === value, text: label })))
    : el("input", { ...common, type, value: value ?? "", autocomplete, spellcheck: "false", ...attrs });
  return el("div", { class: "field" },
    el("label", { for: name, text: t(labelKey) }),
    input,
    hint ? el("p", { class: "hint", id: `hint-${name}`, text: hint }) : null,
    el("p", { class: "field-error", id: `err-${name}`, "aria-live": "polite" }),
  );
}

function button(id, labelKey, onclick, { primary = false, disabled = false } = {}) {
  return el("button", { type: "button", id, class: primary ? "primary" : "secondary", onclick, disabled, text: t(labelKey) });
}

function setFieldMessage(name, text, { ok = false } = {}) {
  const input = $(name);
  const message = $(`err-${name}`);
  if (!message) return false;
  message.textContent = text || "";
  message.className = ok ? "field-ok" : "field-error";
  if (input) {
    if (text && !ok) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
  return true;
}

function banner(text) {
  const node = $("banner");
  node.textContent = text || "";
  node.hidden = !text;
}

function notice(text) {
  const node = $("notice");
  node.textContent = text || "";
  node.hidden = !text;
}

async function busy(work) {
  $("busy-text").textContent = t("loading");
  $("busy").hidden = false;
  try {
    return await work();
  } finally {
    $("busy").hidden = true;
  }
}

/** Show an API refusal at the field it names (in this step), else in the banner. */
function showError(error, fallbackField = null) {
  if (!(error instanceof ApiError)) {
    banner(String(error.message || error));
    return;
  }
  if (error.code === "SESSION_EXPIRED" || error.code === "SESSION_UNKNOWN") {
    clearAll("expired", error.message);
    return;
  }
  const own = t(`errors.${error.code}`);
  const headline = own !== `errors.${error.code}` ? own : error.message;
  let placed = false;
  for (const { field: path, description } of error.fields) {
    const parts = path.split(".");
    const target = [parts[parts.length - 1], parts[0], path].find((n) => $(`err-${n}`)) || FIELD_ALIASES[path];
    if (target && setFieldMessage(target, description ? `${headline} — ${description}` : headline)) placed = true;
  }
  if (!placed && fallbackField && setFieldMessage(fallbackField, headline)) placed = true;
  banner(placed ? headline : `${headline}${error.correlationId ? ` (${error.correlationId})` : ""}`);
}

const FIELD_ALIASES = {
  certificate_chain_pem: "ecert", "registered_capital.amount": "capital_amount", registered_capital: "capital_amount",
  "documents.hkid": "hkid", "documents.macau_id": "macau_id", "documents.travel_permit": "travel_permit",
  challenge_id: "ecert", signature_base64: "ecert",
};

function saveForm() {
  for (const input of document.querySelectorAll("#main input[name], #main select[name]")) {
    if (input.type !== "file") state.form[input.name] = input.value;
  }
}

// ---- Chrome: header, languages, steps -----------------------------------------------------------------

function renderChrome() {
  document.title = t("title");
  $("app-title").textContent = t("title");
  $("app-subtitle").textContent = t("subtitle");
  $("kiosk-label").textContent = t("kiosk");
  $("kiosk-id").textContent = KIOSK_ID;
  $("skip-link").setAttribute("aria-label", t(STEP_TITLES[state.step]));
  const nav = $("languages");
  nav.replaceChildren(
    ...KIOSK_LANGUAGES.map((code) =>
      el("button", {
        type: "button", id: `lang-${code}`, lang: code, "aria-pressed": String(code === language()),
        onclick: () => switchLanguage(code), text: LANGUAGES[code],
      }),
    ),
  );
  const steps = $("steps");
  const flow = state.purpose === "track" ? ["identify", "track"] : APPLY_STEPS;
  steps.hidden = state.step === "welcome";
  steps.replaceChildren(
    ...flow.map((step, i) =>
      el("li", { class: step === state.step ? "current" : flow.indexOf(state.step) > i ? "done" : "",
                 "aria-current": step === state.step ? "step" : null, text: t(STEP_TITLES[step]) }),
    ),
  );
  $("idle-title").textContent = t("idleTitle");
  $("idle-continue").textContent = t("idleContinue");
}

async function switchLanguage(code) {
  saveForm();
  setLanguage(code);
  state.api.language = code;
  if (state.catalogue.length) {
    try {
      await loadCatalogue();
    } catch (error) {
      showError(error);
    }
  }
  show(state.step, { keepMessages: true });
}

// ---- Steps ------------------------------------------------------------------------------------------

const RENDER = {
  welcome: renderWelcome, catalogue: renderCatalogue, identify: renderIdentify, application: renderApplication,
  review: renderReview, sign: renderSign, fee: renderFee, pay: renderPay, receipt: renderReceipt, track: renderTrack,
};

function show(step, { keepMessages = false } = {}) {
  state.step = step;
  if (!keepMessages) {
    banner("");
    if (step !== "welcome") notice("");
  }
  renderChrome();
  const main = $("main");
  main.replaceChildren(el("h2", { id: "step-title", tabindex: "-1", text: t(STEP_TITLES[step]) }), ...RENDER[step]());
  main.dataset.step = step;
  $("step-title").focus();
}

function renderWelcome() {
  return [
    el("p", { class: "lead", text: t("subtitle") }),
    el("div", { class: "actions big" },
      button("start", "start", () => begin("apply"), { primary: true }),
      button("track-start", "trackStart", () => begin("track")),
    ),
  ];
}

async function begin(purpose) {
  state.purpose = purpose;
  try {
    await busy(async () => {
      state.session = await state.api.open(KIOSK_ID);
      startIdle();
      if (purpose === "apply") await loadCatalogue();
    });
  } catch (error) {
    showError(error);
    return;
  }
  show(purpose === "apply" ? "catalogue" : "identify");
}

async function loadCatalogue() {
  const data = await state.api.call("GET", "/v1/catalogue");
  state.catalogue = data.items;
  if (state.item) state.item = state.catalogue.find((i) => i.item_id === state.item.item_id) || state.item;
}

function money(m) {
  return m ? `${m.currency} ${Number(m.amount).toLocaleString(language(), { minimumFractionDigits: 2 })}` : t("free");
}

function renderCatalogue() {
  return [
    el("ul", { class: "catalogue" },
      state.catalogue.map((item) =>
        el("li", {},
          el("button", {
            type: "button", class: "card", "data-item": item.item_id, onclick: () => chooseItem(item),
            "aria-describedby": `item-${item.item_id}`,
          },
          el("span", { class: "card-title", text: item.title }),
          el("span", { class: "card-meta", id: `item-${item.item_id}`,
                       text: `${item.authority_name} · ${t("timeLimit", { n: item.time_limit_working_days })} · ${t("fee")} ${money(item.fee)}` }),
          ),
        ),
      ),
    ),
    el("div", { class: "actions" }, button("back", "back", () => clearAll("finish"))),
  ];
}

function chooseItem(item) {
  state.item = item;
  show(state.person ? "application" : "identify");
}

// Identify: documents checked live as they are typed, the e-Cert loaded from files into WebCrypto.

const CHECKS = { hkid: checkHkid, macau_id: checkMacauId, travel_permit: checkTravelPermit };

function liveCheck(name) {
  const input = $(name);
  const result = CHECKS[name](input.value);
  if (result.empty) return setFieldMessage(name, "") && result;
  if (result.ok) setFieldMessage(name, `✓ ${t("valid")}`, { ok: true });
  else if (result.reason === "check") setFieldMessage(name, t("checkMismatch", { expected: result.expected }));
  else if (result.reason === "prefix" && name === "macau_id") setFieldMessage(name, t("badPrefix"));
  else setFieldMessage(name, t("badFormat"));
  return result;
}

function renderIdentify() {
  const f = state.form;
  const cards = [
    field("hkid", "hkid", { hint: t("hkidHint"), value: f.hkid, required: false, attrs: { inputmode: "text" } }),
    field("macau_id", "macauId", { hint: t("macauIdHint"), value: f.macau_id, required: false }),
  ];
  if (MACAU) cards.reverse();
  const form = el("form", { id: "identify-form", novalidate: true, onsubmit: (e) => { e.preventDefault(); identify(); } },
    el("div", { class: "grid" },
      ...cards,
      field("travel_permit", "travelPermit", { hint: t("travelPermitHint"), value: f.travel_permit }),
      field("name_zh", "nameZh", { value: f.name_zh, required: false, autocomplete: "off" }),
      field("name_en", "nameEn", { value: f.name_en, required: false }),
      field("date_of_birth", "dateOfBirth", { type: "date", value: f.date_of_birth }),
    ),
    el("div", { class: "field wide" },
      el("label", { for: "ecert", text: t("ecert") }),
      el("input", { type: "file", id: "ecert", name: "ecert", multiple: true, accept: ".pem,.crt,.cer,.key,.p8",
                    "aria-describedby": "hint-ecert err-ecert", onchange: (e) => loadFiles(e.target) }),
      el("p", { class: "hint", id: "hint-ecert", text: t("ecertHint") }),
      el("p", { class: state.eCert ? "field-ok" : "field-error", id: "err-ecert", "aria-live": "polite",
                text: state.eCert ? t("ecertLoaded", { certs: state.eCert.certificates, key: kindName(state.eCert.kind) }) : "" }),
    ),
    el("div", { class: "actions" },
      button("back", "back", () => (state.purpose === "apply" ? show("catalogue") : clearAll("finish"))),
      el("button", { type: "submit", id: "identify-submit", class: "primary", text: t("identify") }),
    ),
  );
  for (const name of Object.keys(CHECKS)) {
    form.querySelector(`#${name}`).addEventListener("input", () => liveCheck(name));
  }
  queueMicrotask(() => Object.keys(CHECKS).forEach((n) => $(n) && $(n).value && liveCheck(n)));
  return [form];
}

async function loadFiles(input) {
  const texts = await Promise.all([...input.files].map((file) => file.text()));
  input.value = ""; // the chosen files are not kept by the page
  state.eCert = null;
  try {
    const eCert = await loadECert(texts);
    if (!eCert.certificates) return setFieldMessage("ecert", t("ecertNoCert"));
    if (!eCert.key) return setFieldMessage("ecert", t("ecertNoKey")); // identify proves holding the key
    state.eCert = eCert;
    setFieldMessage("ecert", t("ecertLoaded", { certs: eCert.certificates, key: eCert.kind ? kindName(eCert.kind) : "—" }), { ok: true });
  } catch (error) {
    setFieldMessage("ecert", error instanceof KeyCannotSign ? t("ecertCannotSign", { key: kindName(error.kind) }) : String(error.message));
  }
}

async function identify() {
  banner("");
  for (const name of ["date_of_birth", "name_zh", "name_en"]) setFieldMessage(name, "");
  const results = Object.fromEntries(Object.keys(CHECKS).map((n) => [n, liveCheck(n)]));
  let ok = true;
  if (results.travel_permit.empty) ok = setFieldMessage("travel_permit", t("required")) && false;
  if (results.hkid.empty && results.macau_id.empty) ok = setFieldMessage(MACAU ? "macau_id" : "hkid", t("oneId")) && false;
  if (Object.values(results).some((r) => !r.empty && !r.ok)) ok = false;
  if (!$("date_of_birth").value) ok = setFieldMessage("date_of_birth", t("required")) && false;
  if (!state.eCert) ok = setFieldMessage("ecert", t("ecertRequired")) && false;
  if (!ok) {
    const first = document.querySelector("#main [aria-invalid=true]") || $("ecert");
    first.focus();
    return;
  }
  saveForm();
  const documents = { travel_permit: results.travel_permit.normalised };
  if (!results.hkid.empty) documents.hkid = results.hkid.normalised;
  if (!results.macau_id.empty) documents.macau_id = results.macau_id.normalised;
  const body = {
    documents, date_of_birth: state.form.date_of_birth, certificate_chain_pem: state.eCert.chainPem,
    name_zh: state.form.name_zh || null, name_en: state.form.name_en || null,
  };
  try {
    // Proof of possession: the e-Cert's key signs a fresh challenge of this session, here in the page.
    const person = await busy(async () => {
      const challenge = await state.api.call("POST", "/v1/sessions/current/identify/challenge");
      const signature = await signChallenge(state.eCert, challenge.data_to_sign_base64);
      return state.api.call("POST", "/v1/sessions/current/identify",
                            { ...body, challenge_id: challenge.challenge_id, signature_base64: signature });
    });
    state.person = person;
  } catch (error) {
    showError(error, "ecert");
    return;
  }
  notice(t("identified"));
  show(state.purpose === "apply" ? "application" : "track", { keepMessages: true });
}

// Fill in, review, draft and attach.

function renderApplication() {
  const f = state.form;
  const forms = (state.item && state.item.organisational_forms.length ? state.item.organisational_forms : ["有限公司"]).map((x) => [x, x]);
  const form = el("form", { id: "application-form", novalidate: true, onsubmit: (e) => { e.preventDefault(); toReview(); } },
    el("p", { class: "lead", text: state.item ? state.item.title : "" }),
    el("div", { class: "grid" },
      field("capital_currency", "currency", { value: f.capital_currency || CURRENCY, options: ["HKD", "MOP", "CNY"].map((c) => [c, c]) }),
      field("capital_amount", "capital", { value: f.capital_amount, attrs: { inputmode: "decimal" } }),
      field("trade_name", "tradeName", { value: f.trade_name }),
      field("industry", "industry", { value: f.industry }),
      field("organisational_form", "organisationalForm", { value: f.organisational_form, options: forms }),
      field("english_name", "englishName", { value: f.english_name, required: false }),
      field("address", "address", { value: f.address }),
      field("business_scope", "businessScope", { value: f.business_scope }),
    ),
    el("div", { class: "actions" },
      button("back", "back", () => { saveForm(); show("catalogue"); }),
      el("button", { type: "submit", id: "application-next", class: "primary", text: t("next") }),
    ),
  );
  return [form];
}

function toReview() {
  saveForm();
  let ok = true;
  for (const name of ["capital_amount", "trade_name", "industry", "address", "business_scope"]) {
    if (!String(state.form[name] || "").trim()) ok = setFieldMessage(name, t("required")) && false;
    else setFieldMessage(name, "");
  }
  if (ok && !/^\d{1,16}(\.\d{1,2})?$/.test(state.form.capital_amount.trim())) ok = setFieldMessage("capital_amount", t("badFormat")) && false;
  if (!ok) return document.querySelector("#main [aria-invalid=true]").focus();
  state.requestId = crypto.randomUUID(); // one draft per confirmed review, however often it is retried
  show("review");
}

function renderReview() {
  const f = state.form;
  const rows = [
    ["service", state.item.title], ["tradeName", `${f.trade_name} (${f.industry}) ${f.organisational_form}`],
    ["englishName", f.english_name || "—"], ["capital", `${f.capital_currency} ${f.capital_amount}`],
    ["address", f.address], ["businessScope", f.business_scope], ["applicant", f.name_zh || f.name_en || ""],
  ];
  return [
    el("p", { class: "lead", text: t("review") }),
    el("dl", { class: "summary" }, rows.flatMap(([key, value]) => [el("dt", { text: t(key) }), el("dd", { text: value })])),
    el("p", { class: "field-error", id: "err-review", "aria-live": "polite" }),
    el("div", { class: "actions" },
      button("back", "back", () => show("application")),
      button("review-confirm", "confirm", confirmReview, { primary: true }),
    ),
  ];
}

function materialDocument(requirement) {
  // The kiosk prints each material from what the person entered (a scanner would supply the rest).
  const f = state.form;
  const lines = [
    requirement.title, `${state.item.title} / ${state.item.item_id}`, `${t("tradeName")}: ${f.trade_name} ${f.industry} ${f.organisational_form}`,
    `${t("capital")}: ${f.capital_currency} ${f.capital_amount}`, `${t("address")}: ${f.address}`,
    `${t("businessScope")}: ${f.business_scope}`, `${t("applicant")}: ${f.name_zh || ""} ${f.name_en || ""}`,
    `${state.application.application_id} ${new Date().toISOString()}`,
  ];
  return new TextEncoder().encode(lines.join("\n") + "\n");
}

async function confirmReview() {
  const f = state.form;
  const capital = { currency: f.capital_currency, amount: Number(f.capital_amount).toFixed(2) };
  const body = {
    request_id: state.requestId, catalogue_item_id: state.item.item_id, applicant: state.person.person,
    registered_capital: capital, address: f.address, business_scope: f.business_scope,
    investors: [{ person: state.person.person, subscribed_capital: capital }],
    name: { trade_name: f.trade_name, industry: f.industry, organisational_form: f.organisational_form, english_name: f.english_name || "" },
  };
  try {
    await busy(async () => {
      const drafted = await state.api.call("POST", "/v1/applications", body);
      state.application = drafted.application;
      if (drafted.name_check && drafted.name_check.outcome === "rejected") {
        throw new ApiError(409, { code: "NAME_REJECTED", message: drafted.name_check.reasons.join(" "), fields: [{ field: "name.trade_name", description: "" }] });
      }
      const have = new Set(state.materials.map((m) => m.requirement.material_type));
      for (const requirement of state.item.materials.filter((r) => r.mandatory && !have.has(r.material_type))) {
        const content = materialDocument(requirement);
        const upload = await state.api.call("POST", `/v1/applications/${state.application.application_id}/materials`, {
          material_type: requirement.material_type, filename: `${requirement.material_type}.txt`,
          media_type: "text/plain; charset=utf-8", content_base64: bytesToBase64(content),
        });
        state.application = upload.application;
        state.materials.push({ requirement, content, upload, material: upload.material, error: "" });
      }
    });
  } catch (error) {
    if (error.code === "NAME_REJECTED") {
      show("application");
      setFieldMessage("trade_name", error.message);
      banner(error.message);
      return;
    }
    showError(error, "review");
    return;
  }
  show("sign");
}

// Sign each material with the e-Cert's key, in this browser.

function renderSign() {
  const rows = state.materials.map((m, i) => {
    const needs = m.requirement.signature_required && m.upload.to_sign;
    const verified = m.material.status === "verified";
    const status = !needs ? t("noSignature") : verified ? t("signed") : m.error ? t("signatureInvalid") : t("attached");
    return el("li", { class: `material ${verified ? "ok" : m.error ? "bad" : ""}`, "data-material": m.requirement.material_type },
      el("div", {},
        el("span", { class: "card-title", text: m.requirement.title }),
        el("span", { class: "card-meta", id: `status-${i}`, text: status }),
        el("p", { class: "field-error", id: `err-material-${i}`, "aria-live": "polite", text: m.error }),
      ),
      needs && !verified
        ? el("button", { type: "button", class: "primary", id: `sign-${m.requirement.material_type}`, "aria-describedby": `status-${i} err-material-${i}`,
                         onclick: () => signMaterial(m), text: t("sign") })
        : null,
    );
  });
  const ready = state.materials.every((m) => !(m.requirement.signature_required && m.upload.to_sign) || m.material.status === "verified");
  return [
    el("ul", { class: "materials" }, rows),
    el("div", { class: "actions" }, button("submit-application", "submit", submitApplication, { primary: true, disabled: !ready })),
  ];
}

async function signMaterial(m) {
  const index = state.materials.indexOf(m);
  m.error = "";
  try {
    await busy(async () => {
      const base = `/v1/applications/${state.application.application_id}/materials/${m.material.material_id}`;
      for (const signer of m.upload.to_sign.signers) {
        if (signer.person !== state.person.person) throw new Error(t("errors.KEY_MISMATCH"));
        const toSign = await state.api.call("POST", `${base}/signing`, {
          person: signer.person, certificate_chain_pem: state.eCert.chainPem,
          message_digest_base64: bytesToBase64(await digest(signer.digest_algorithm, m.content)),
        });
        let signature;
        try {
          signature = await signWith(state.eCert, toSign.webcrypto, base64ToBytes(toSign.signed_attributes_base64));
        } catch {
          throw new Error(t("errors.KEY_MISMATCH"));
        }
        const signed = await state.api.call("POST", `${base}/browser-signatures`, {
          person: signer.person, certificate_chain_pem: state.eCert.chainPem,
          signed_attributes_base64: toSign.signed_attributes_base64, signature_base64: bytesToBase64(signature),
        });
        m.material = signed.material;
        state.application = signed.application;
      }
    });
  } catch (error) {
    const own = error instanceof ApiError ? t(`errors.${error.code}`) : "";
    const detail = error instanceof ApiError ? error.fields.map((f) => f.description).filter(Boolean).join("; ") : "";
    m.error = error instanceof ApiError
      ? [own !== `errors.${error.code}` ? own : error.message, detail].filter(Boolean).join(" — ")
      : String(error.message);
    show("sign");
    banner(m.error);
    $(`err-material-${index}`).focus?.();
    return;
  }
  show("sign");
  const next = document.querySelector("#main .materials button.primary") || $("submit-application");
  next.focus();
}

async function submitApplication() {
  try {
    await busy(async () => {
      state.application = await state.api.call("POST", `/v1/applications/${state.application.application_id}/submit`);
      state.quote = await state.api.call("GET", `/v1/applications/${state.application.application_id}/fee?currency=${CURRENCY}`);
    });
  } catch (error) {
    showError(error);
    return;
  }
  show("fee");
}

// Fee, payment, receipt.

function renderFee() {
  const q = state.quote;
  const rows = [
    ["youPay", money(q.pay)], ["authorityReceives", money(q.receive)], ["rate", `1 ${q.pay.currency} = ${q.customer_rate} ${q.receive.currency}`],
    ["schemeFee", q.scheme_fee ? money(q.scheme_fee) : "—"],
    ["quoteExpires", q.expires_at ? new Date(q.expires_at).toLocaleString(language()) : "—"],
  ];
  return [
    el("p", { class: "amount", id: "fee-amount" }, el("span", { text: money(q.pay) }), el("span", { class: "equivalent", text: `≈ ${money(q.receive)}` })),
    el("dl", { class: "summary" }, rows.flatMap(([key, value]) => [el("dt", { text: t(key) }), el("dd", { text: value })])),
    el("div", { class: "actions" }, button("fee-accept", "accept", () => show("pay"), { primary: true })),
  ];
}

function renderPay() {
  return [
    el("p", { class: "amount", text: money(state.quote.pay) }),
    el("p", { class: "lead", text: t("payHint") }),
    el("p", { class: "field-error", id: "err-quote_id", "aria-live": "polite" }),
    el("div", { class: "actions" },
      button("back", "back", () => show("fee")),
      button("pay-now", "payNow", pay, { primary: true }),
    ),
  ];
}

async function pay() {
  const id = state.application.application_id;
  try {
    state.payment = await busy(() => state.api.call("POST", `/v1/applications/${id}/pay`, { quote_id: state.quote.quote_id }));
  } catch (error) {
    if (error.code === "QUOTE_STALE") state.quote = await state.api.call("GET", `/v1/applications/${id}/fee?currency=${CURRENCY}`).catch(() => state.quote);
    showError(error, "quote_id");
    return;
  }
  show("receipt");
}

function renderReceipt() {
  const p = state.payment;
  const rows = [
    ["caseNumber", state.application.application_id], ["paymentReference", p.reference],
    ["paid", `${money(p.paid)} (≈ ${money(p.received)})`], ["transfer", p.transfer_id],
  ];
  return [
    el("p", { class: "lead", text: t("receiptTitle") }),
    el("p", { class: "case-number", id: "receipt-case", text: state.application.application_id }),
    el("dl", { class: "summary receipt" }, rows.flatMap(([key, value]) => [el("dt", { text: t(key) }), el("dd", { text: value })])),
    el("div", { class: "actions" },
      button("receipt-track", "trackThis", () => { state.form.track_number = state.application.application_id; state.purpose = "track"; show("track"); trackCase(); }),
      button("finish", "finish", () => clearAll("finish"), { primary: true }),
    ),
  ];
}

// Track a case by its number (its applicant must be identified in this session).

function renderTrack() {
  const result = state.track;
  const form = el("form", { id: "track-form", novalidate: true, onsubmit: (e) => { e.preventDefault(); trackCase(); } },
    field("track_number", "trackNumber", { value: state.form.track_number }),
    el("div", { class: "actions" },
      button("back", "back", () => clearAll("finish")),
      el("button", { type: "submit", id: "track-submit", class: "primary", text: t("trackSubmit") }),
    ),
  );
  const out = [form];
  if (result) {
    const rows = [
      ["caseNumber", result.application_id], ["state", t(`states.${result.state}`)], ["feePaid", result.fee_paid ? t("yes") : t("no")],
      ["submittedAt", result.submitted_at ? new Date(result.submitted_at).toLocaleString(language()) : "—"],
      ["deadline", result.deadline ? new Date(result.deadline).toLocaleDateString(language()) : "—"],
    ];
    if (result.uscc) rows.push(["uscc", result.uscc]);
    if (result.decision) rows.push(["decision", `${result.decision.outcome} ${result.decision.reason}`]);
    out.push(el("dl", { class: "summary", id: "track-result", "aria-live": "polite" },
      rows.flatMap(([key, value]) => [el("dt", { text: t(key) }), el("dd", { "data-key": key, text: value })])));
  }
  return out;
}

async function trackCase() {
  saveForm();
  const number = String(state.form.track_number || "").trim();
  if (!number) return setFieldMessage("track_number", t("required"));
  try {
    state.track = await busy(() => state.api.call("GET", `/v1/applications/${encodeURIComponent(number)}`));
  } catch (error) {
    state.track = null;
    showError(error, "track_number");
    return;
  }
  show("track");
}

// ---- Clearing: finish, inactivity, an expired session ------------------------------------------------

function idleSeconds() {
  const given = Number(params.get("idle"));
  if (given > 0) return given;
  const ttl = state.session ? state.session.idle_timeout_seconds : 180;
  return Math.max(10, Math.min(180, ttl - 5)); // clear before the server forgets the session
}

function startIdle() {
  if (idle) idle.stop();
  const seconds = idleSeconds();
  const warn = Number(params.get("warn")) > 0 ? Number(params.get("warn")) : Math.min(30, seconds / 3);
  idle = new IdleTimer({
    idleSeconds: seconds, warnSeconds: warn,
    onWarn: (left) => {
      $("idle-body").textContent = t("idleBody", { n: left });
      $("idle").hidden = false;
      $("idle-continue").focus();
    },
    onTick: (left) => { $("idle-body").textContent = t("idleBody", { n: left }); },
    onTimeout: () => clearAll("idle"),
  });
  idle.start();
}

async function clearAll(reason, message = "") {
  if (idle) idle.stop();
  $("idle").hidden = true;
  const api = state.api;
  state = fresh(); // drops the e-Cert's key, the person's handle and everything typed
  state.api.language = language();
  await api.end();
  show("welcome");
  if (reason === "idle") notice(t("cleared"));
  else if (reason === "expired") notice(message || t("cleared"));
}

function init() {
  const asked = params.get("lang");
  setLanguage(KIOSK_LANGUAGES.includes(asked) ? asked : KIOSK_LANGUAGES[0]);
  state.api.language = language();
  $("idle-continue").addEventListener("click", () => {
    $("idle").hidden = true;
    if (idle) idle.resume();
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !$("idle").hidden) $("idle-continue").click();
  });
  show("welcome");
}

init();
