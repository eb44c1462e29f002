// The console's shell: sign in, show the views by URL hash (#tail, #flow/<id>, #groups, #dlq,
// #throughput, #alerts), keep the stream and the periodic refreshes running while signed in.

import { api, rememberToken } from "./api.js";
import { Alerts } from "./alerts.js";
import { DeadLetters } from "./dlq.js";
import { $, every } from "./dom.js";
import { Flow } from "./flow.js";
import { Groups } from "./groups.js";
import { Tail } from "./tail.js";
import { Throughput } from "./throughput.js";

const VIEWS = ["tail", "flow", "groups", "dlq", "throughput", "alerts"];
const session = { username: "", role: "" };
const alerts = new Alerts();
const tail = new Tail({
  onOpenFlow: (cid) => { location.hash = `#flow/${encodeURIComponent(cid)}`; },
  onAlert: (alert) => alerts.push(alert),
});
const flow = new Flow();
const groups = new Groups();
const deadLetters = new DeadLetters(session);
const throughput = new Throughput();
let current = "";
let timers = [];

function route() {
  if (!session.role) return;
  const [name, ...rest] = location.hash.replace(/^#/, "").split("/");
  const view = VIEWS.includes(name) ? name : "tail";
  for (const other of VIEWS) {
    $(`view-${other}`).hidden = other !== view;
    $(`tab-${other}`).setAttribute("aria-selected", String(other === view));
  }
  const changed = view !== current;
  current = view;
  alerts.setVisible(view === "alerts");
  if (view === "flow") flow.show(decodeURIComponent(rest.join("/")));
  else if (changed) refresh(view);
}

function refresh(view) {
  if (view === "groups") groups.load();
  else if (view === "dlq") deadLetters.load();
  else if (view === "throughput") throughput.load();
  else if (view === "alerts") alerts.load();
}

function signedIn(me) {
  session.username = me.username;
  session.role = me.role;
  if (me.csrf_token) rememberToken(me.csrf_token);
  $("who-name").textContent = me.username;
  $("who-role").textContent = me.role;
  $("who").hidden = false;
  $("login-view").hidden = true;
  $("app-view").hidden = false;
  document.body.dataset.role = me.role;
  tail.connect();
  alerts.load();
  timers = [
    every(5, () => groups.load(), () => current === "groups"),
    every(10, () => throughput.load(), () => current === "throughput"),
    every(15, () => alerts.load(), () => true),
  ];
  current = "";
  route();
  $("main").focus();
}

function signedOut(message = "") {
  session.username = "";
  session.role = "";
  rememberToken("");
  tail.disconnect();
  for (const stop of timers) stop();
  timers = [];
  delete document.body.dataset.role;
  $("who").hidden = true;
  $("app-view").hidden = true;
  $("login-view").hidden = false;
  $("login-error").textContent = message;
  $("login-password").value = "";
  $("login-user").focus();
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const username = $("login-user").value.trim();
  const password = $("login-password").value;
  if (!username || !password) {
    $("login-error").textContent = "Enter your user name and password.";
    return;
  }
  const button = event.submitter;
  if (button) button.disabled = true;
  try {
    signedIn(await api.login(username, password));
  } catch (err) {
    $("login-error").textContent = err.status === 401 ? "Wrong user name or password." : err.message;
  } finally {
    if (button) button.disabled = false;
  }
});

$("logout").addEventListener("click", async () => {
  try { await api.logout(); } catch { /* signed out either way */ }
  signedOut();
});

window.addEventListener("console:unauthorized", () => {
  if (session.role) signedOut("Your session has ended; please sign in again.");
});
window.addEventListener("hashchange", route);

// A page reload keeps the session cookie: ask who we are before showing the sign-in form.
api.me().then(signedIn, () => signedOut());
