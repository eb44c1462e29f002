// The person's e-Cert, standing for the card in the reader: certificates (PEM) and a PKCS#8 private key.
// The key is imported into WebCrypto as non-extractable and signs here; neither it nor its PEM text is
// kept anywhere else or sent anywhere. WebCrypto signs RSA, ECDSA P-256/P-384 and Ed25519; SM2 has no
// WebCrypto algorithm, so an SM2 key is recognised and reported as unable to sign.

const OIDS = {
  "1.2.840.113549.1.1.1": "rsa",
  "1.2.840.10045.2.1": "ec",
  "1.3.101.112": "ed25519",
  "1.2.156.10197.1.301": "sm2",
};
const CURVES = { "1.2.840.10045.3.1.7": "ec-p256", "1.3.132.0.34": "ec-p384", "1.2.156.10197.1.301": "sm2" };
const IMPORT = {
  rsa: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
  "ec-p256": { name: "ECDSA", namedCurve: "P-256" },
  "ec-p384": { name: "ECDSA", namedCurve: "P-384" },
  ed25519: { name: "Ed25519" },
};

export class KeyCannotSign extends Error {
  constructor(kind) {
    super(`${kind} keys cannot sign in WebCrypto`);
    this.kind = kind;
  }
}

export function base64ToBytes(text) {
  const binary = atob(text.replace(/\s+/g, ""));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function bytesToBase64(bytes) {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let binary = "";
  for (let i = 0; i < view.length; i += 0x8000) binary += String.fromCharCode(...view.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** PEM blocks of a text: [{label, text, der}]. */
export function pemBlocks(text) {
  const blocks = [];
  const pattern = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (const match of text.matchAll(pattern)) {
    blocks.push({ label: match[1], text: match[0], der: base64ToBytes(match[2]) });
  }
  return blocks;
}

// A minimal DER reader: enough to find a PKCS#8 key's algorithm and curve.
function readTlv(bytes, offset) {
  const tag = bytes[offset];
  let length = bytes[offset + 1];
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[offset + 2 + i];
    header += count;
  }
  if (offset + header + length > bytes.length) throw new Error("truncated DER");
  return { tag, start: offset + header, end: offset + header + length };
}

function oidText(bytes, tlv) {
  const parts = [];
  let value = 0;
  for (let i = tlv.start; i < tlv.end; i++) {
    value = value * 128 + (bytes[i] & 0x7f);
    if (!(bytes[i] & 0x80)) {
      if (parts.length === 0) parts.push(Math.min(2, Math.floor(value / 40)), value - Math.min(2, Math.floor(value / 40)) * 40);
      else parts.push(value);
      value = 0;
    }
  }
  return parts.join(".");
}

/** The key kind of a PKCS#8 PrivateKeyInfo: rsa, ec-p256, ec-p384, ed25519, sm2 or unknown. */
export function pkcs8Kind(der) {
  const info = readTlv(der, 0); // SEQUENCE
  const version = readTlv(der, info.start); // INTEGER
  const algorithm = readTlv(der, version.end); // SEQUENCE
  const oid = readTlv(der, algorithm.start);
  if (oid.tag !== 0x06) throw new Error("not a PKCS#8 private key");
  const kind = OIDS[oidText(der, oid)] || "unknown";
  if (kind !== "ec") return kind;
  if (oid.end >= algorithm.end) return "unknown";
  const curve = readTlv(der, oid.end);
  return curve.tag === 0x06 ? CURVES[oidText(der, curve)] || "unknown" : "unknown";
}

const KIND_NAMES = { rsa: "RSA", "ec-p256": "ECDSA P-256", "ec-p384": "ECDSA P-384", ed25519: "Ed25519", sm2: "SM2" };
export function kindName(kind) {
  return KIND_NAMES[kind] || kind;
}

/**
 * Load an e-Cert from the texts of the chosen files: the certificate chain (PEM, e-Cert first) and a
 * non-extractable WebCrypto signing key. Throws KeyCannotSign for SM2 and other keys WebCrypto lacks.
 */
export async function loadECert(texts) {
  const blocks = texts.flatMap(pemBlocks);
  const certificates = blocks.filter((b) => b.label === "CERTIFICATE");
  const keyBlock = blocks.find((b) => b.label === "PRIVATE KEY");
  const result = { chainPem: certificates.map((b) => b.text).join("\n") + "\n", certificates: certificates.length };
  if (!keyBlock) return { ...result, key: null, kind: null };
  const kind = pkcs8Kind(keyBlock.der);
  if (!IMPORT[kind]) throw new KeyCannotSign(kind);
  const key = await crypto.subtle.importKey("pkcs8", keyBlock.der, IMPORT[kind], false, ["sign"]);
  keyBlock.der.fill(0); // the only copy of the key's bytes this page made
  return { ...result, key, kind };
}

/** Sign bytes as the gateway asked (its WebCrypto algorithm), with the loaded key. */
export async function signWith(eCert, webcrypto, data) {
  const wanted = webcrypto.name;
  if (eCert.key.algorithm.name !== wanted) throw new Error("KEY_MISMATCH");
  const params = wanted === "ECDSA" ? { name: "ECDSA", hash: webcrypto.hash } : { name: wanted };
  return new Uint8Array(await crypto.subtle.sign(params, eCert.key, data));
}

export async function digest(name, bytes) {
  const algorithms = { sha256: "SHA-256", sha384: "SHA-384", sha512: "SHA-512" };
  if (!algorithms[name]) throw new Error(`no ${name} digest in WebCrypto`);
  return new Uint8Array(await crypto.subtle.digest(algorithms[name], bytes));
}

// Proof of possession at identify: the key signs the gateway's challenge bytes (32 of them, bound to
// this session), as identity's raw signature check expects for each key kind.
const POSSESSION = {
  rsa: { name: "RSASSA-PKCS1-v1_5" },
  "ec-p256": { name: "ECDSA", hash: "SHA-256" },
  "ec-p384": { name: "ECDSA", hash: "SHA-384" },
  ed25519: { name: "Ed25519" },
};

/** Sign the identify challenge (base64 from the gateway) with the loaded key → the signature, base64. */
export async function signChallenge(eCert, dataBase64) {
  const params = POSSESSION[eCert.kind];
  if (!params || !eCert.key) throw new KeyCannotSign(eCert.kind || "unknown");
  return bytesToBase64(await crypto.subtle.sign(params, eCert.key, base64ToBytes(dataBase64)));
}
