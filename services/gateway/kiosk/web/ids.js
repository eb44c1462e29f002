// Live checks of document numbers as they are typed, by the rules of baylink/ids (the server stays the
// authority: identify checks every number again). Each check answers
// {ok, empty, reason, expected, normalised}: reason is "format", "prefix" or "check".

const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

function clean(value) {
  // As baylink.ids.text.clean: full-width forms folded (ＡＢ１２３（３）), upper case, no spaces or
  // invisible format characters.
  return value
    .normalize("NFKC")
    .toUpperCase()
    .replace(/[\s\p{Cf}]/gu, "");
}

/** HKID: 1-2 letters, 6 digits, check 0-9 or A; weights 9..2, a lone prefix padded with 36. */
export function hkidCheckChar(prefix, digits) {
  const values = prefix.length === 1 ? [36] : [];
  for (const ch of prefix) values.push(LETTERS.indexOf(ch) + 10);
  for (const ch of digits) values.push(Number(ch));
  const total = values.reduce((sum, value, i) => sum + value * (9 - i), 0);
  const check = 11 - (total % 11);
  return check === 11 ? "0" : check === 10 ? "A" : String(check);
}

export function checkHkid(value) {
  const text = clean(value);
  if (!text) return { ok: false, empty: true };
  const match = /^([A-Z]{1,2})([0-9]{6})(?:\(([0-9A])\)|([0-9A]))$/.exec(text);
  if (!match) return { ok: false, reason: "format" };
  const given = match[3] || match[4];
  const expected = hkidCheckChar(match[1], match[2]);
  const normalised = `${match[1]}${match[2]}(${given})`;
  if (given !== expected) return { ok: false, reason: "check", expected, normalised };
  return { ok: true, normalised };
}

/** Macau BIR: first digit 1, 5 or 7, six digits, check digit (its algorithm is unpublished: format only). */
export function checkMacauId(value) {
  const text = clean(value);
  if (!text) return { ok: false, empty: true };
  const match = /^([0-9])([0-9]{6})(?:\(([0-9])\)|([0-9]))$/.exec(text);
  if (!match) return { ok: false, reason: "format" };
  const normalised = `${match[1]}${match[2]}(${match[3] || match[4]})`;
  if (!"157".includes(match[1])) return { ok: false, reason: "prefix", normalised };
  return { ok: true, normalised };
}

/** Mainland travel permit: H/M + 8 digits (+ a 2-digit issue count), or HA/MA + 7 digits. */
export function checkTravelPermit(value) {
  const text = clean(value);
  if (!text) return { ok: false, empty: true };
  const citizen = /^([HM])([0-9]{8})([0-9]{2})?$/.exec(text);
  if (citizen) return { ok: true, normalised: citizen[1] + citizen[2] };
  if (/^[HM]A[0-9]{7}$/.test(text)) return { ok: true, normalised: text };
  if (!/^[HM]/.test(text)) return { ok: false, reason: "prefix" };
  return { ok: false, reason: "format" };
}
