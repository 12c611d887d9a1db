// Tequio's video consult page: the reference client of the signaling protocol documented in
// telehealth/consults/schemas.py. No framework, no build step, nothing loaded from other hosts.
"use strict";

const TEXT = {
  en: {
    pageTitle: "Tequio — video consult",
    heading: "Video consult",
    otherLanguage: "Español",
    signinHeading: "Sign in",
    username: "Email or phone",
    usernameHint:
      "Your phone as you usually write it: 951 123 4567, +52 951 123 4567, " +
      "+52 1 951 123 4567 or, in the US, (213) 555-0100.",
    password: "Password",
    signin: "Sign in",
    signingIn: "Signing in…",
    signedInAs: "Signed in as {name}.",
    signout: "Sign out",
    needSignin: "Your sign-in has expired. Sign in again to keep the consult going.",
    lobbyHeading: "Before the consult",
    lobbyHelp:
      "Check your connection first, then join. The doctor lets you in from the waiting room.",
    lobbyHelpDoctor: "Check your connection first, then join. You let the others in.",
    precheck: "Check my connection",
    precheckHeading: "Connection check",
    precheckRunning: "Checking your connection…",
    precheckDone: "Connection check finished.",
    precheckFailed: "The connection check could not run.",
    precheckEcho: "Your video, sent to the server and back",
    rtt: "Round trip",
    loss: "Packet loss",
    jitter: "Jitter",
    bitrate: "Received",
    relayed: "Through a relay",
    yes: "yes",
    no: "no",
    verdictVideo: "Your connection is good enough for video.",
    verdictAudio: "Use audio only: your connection is too weak for video.",
    details: "Details",
    join: "Join the consult",
    joining: "Joining the consult…",
    remoteConsentHeading: "Before your first consult",
    remoteConsentFor: "You consent for {name}, who is having the consult.",
    remoteConsentAgree: "I agree, join",
    remoteConsentLater: "Not now",
    consentLater: "You can join once you agree to be seen at a distance.",
    roomHeading: "Consult room",
    waiting: "Waiting for {doctor} to let you in…",
    theDoctor: "the doctor",
    consultWith: "Consult with {name}",
    timeIn: "{time} ({zone})",
    timeFor: "{time} ({zone}) for {name}",
    roomOpensIn: "The room opens in {left}, at {time}.",
    roomOpen: "The room is open: you can join.",
    roomClosed: "The room closed at {time}.",
    notAConsult: "This consult is not taking place ({status}).",
    titleWaiting: "Waiting",
    waitsToEnter: "{who} is waiting to come in.",
    stageAlone: "Nobody else is here yet.",
    connectionMenu: "Connection",
    relayAuto:
      "The direct connection did not work: the video now goes through the cooperative's server.",
    admittedYou: "The doctor let you in.",
    modeRelay: "Video goes through the cooperative's server.",
    you: "You",
    peopleHeading: "In the consult",
    role_doctor: "Doctor",
    role_patient: "Patient",
    role_guardian: "Guardian",
    role_clinic: "Clinic staff",
    role_interpreter: "Interpreter",
    role_unknown: "Participant",
    stateHere: "here",
    stateAway: "away",
    stateWaiting: "waiting",
    admit: "Admit",
    admitWho: "Admit {who}",
    joinedRoom: "{who} joined.",
    waitsRoom: "{who} is waiting to be let in.",
    leftRoom: "{who} left.",
    mute: "Mute",
    unmute: "Unmute",
    cameraOff: "Audio only",
    cameraOn: "Turn camera on",
    badgeMuted: "muted",
    badgeAudioOnly: "audio only",
    badgeReconnecting: "reconnecting…",
    useRelay: "Send the video through the server",
    useP2p: "Back to a direct connection",
    leave: "Leave",
    ended: "You left the consult.",
    rejoin: "Join again",
    chatHeading: "Chat",
    chatLabel: "Message",
    send: "Send",
    consentHeading: "Recording",
    consentToggle: "I agree to this consult being recorded",
    consentNobody: "Nobody has agreed to recording yet.",
    consentedBy: "Agreed to recording: {list}.",
    recordingOn: "Recording",
    recordingAsked: "The doctor asked to record. It starts only when everyone here agrees.",
    recordingStarted: "Recording started.",
    recordingStopped: "Recording stopped.",
    recordingStoppedWhy: "Recording stopped ({reason}).",
    recordStart: "Start recording",
    recordStop: "Stop recording",
    connecting: "Connecting…",
    connected: "Connected.",
    reconnecting: "Connection lost. Reconnecting in {seconds} s…",
    videoOf: "Video of {who}",
    mediaAudioOnly: "The camera is not available: you are in with audio only.",
    mediaNone: "No camera or microphone: you can still see, hear and chat.",
    cameraFailed: "The camera could not be turned on.",
    p2pStruggling: "The video link with {who} is struggling; trying again…",
    networkError: "Cannot reach the server. Check your connection.",
    errNotAdmitted: "Wait for the doctor to let you in.",
    errRateLimited: "Too many messages; slow down.",
    errForbidden: "Only the doctor can do that.",
    errUnknownParticipant: "That person is no longer waiting.",
    errInvalidMessage: "The server did not accept a message: {message}",
    errRelay: "The server relay could not connect you.",
  },
  es: {
    pageTitle: "Tequio — consulta por video",
    heading: "Consulta por video",
    otherLanguage: "English",
    signinHeading: "Iniciar sesión",
    username: "Correo o teléfono",
    usernameHint:
      "Su teléfono como lo escribe siempre: 951 123 4567, +52 951 123 4567, " +
      "+52 1 951 123 4567 o, en EE. UU., (213) 555-0100.",
    password: "Contraseña",
    signin: "Iniciar sesión",
    signingIn: "Iniciando sesión…",
    signedInAs: "Sesión iniciada como {name}.",
    signout: "Cerrar sesión",
    needSignin: "Su sesión expiró. Inicie sesión de nuevo para seguir en la consulta.",
    lobbyHeading: "Antes de la consulta",
    lobbyHelp:
      "Primero revise su conexión y luego entre. El médico le deja pasar desde la sala de espera.",
    lobbyHelpDoctor: "Primero revise su conexión y luego entre. Usted deja pasar a los demás.",
    precheck: "Revisar mi conexión",
    precheckHeading: "Revisión de la conexión",
    precheckRunning: "Revisando su conexión…",
    precheckDone: "Terminó la revisión de la conexión.",
    precheckFailed: "No se pudo revisar la conexión.",
    precheckEcho: "Su video, enviado al servidor y de regreso",
    rtt: "Ida y vuelta",
    loss: "Paquetes perdidos",
    jitter: "Variación (jitter)",
    bitrate: "Recibido",
    relayed: "Por un relevo",
    yes: "sí",
    no: "no",
    verdictVideo: "Su conexión alcanza para video.",
    verdictAudio: "Use solo audio: su conexión es muy débil para video.",
    details: "Detalles",
    join: "Entrar a la consulta",
    joining: "Entrando a la consulta…",
    remoteConsentHeading: "Antes de su primera consulta",
    remoteConsentFor: "Usted da el consentimiento por {name}, quien tendrá la consulta.",
    remoteConsentAgree: "Acepto, entrar",
    remoteConsentLater: "Ahora no",
    consentLater: "Podrá entrar cuando acepte la atención a distancia.",
    roomHeading: "Sala de consulta",
    waiting: "Esperando a que {doctor} le deje pasar…",
    theDoctor: "el médico",
    consultWith: "Consulta con {name}",
    timeIn: "{time} ({zone})",
    timeFor: "{time} ({zone}) para {name}",
    roomOpensIn: "La sala abre en {left}, {at} {time}.",
    roomOpen: "La sala está abierta: puede entrar.",
    roomClosed: "La sala cerró {at} {time}.",
    notAConsult: "Esta consulta no se lleva a cabo ({status}).",
    titleWaiting: "En espera",
    waitsToEnter: "{who} espera para entrar.",
    stageAlone: "Todavía no hay nadie más aquí.",
    connectionMenu: "Conexión",
    relayAuto:
      "La conexión directa no funcionó: el video ahora pasa por el servidor de la cooperativa.",
    admittedYou: "El médico le dejó pasar.",
    modeRelay: "El video pasa por el servidor de la cooperativa.",
    you: "Usted",
    peopleHeading: "En la consulta",
    role_doctor: "Médico",
    role_patient: "Paciente",
    role_guardian: "Tutor",
    role_clinic: "Personal de la clínica",
    role_interpreter: "Intérprete",
    role_unknown: "Participante",
    stateHere: "presente",
    stateAway: "ausente",
    stateWaiting: "en espera",
    admit: "Dejar pasar",
    admitWho: "Dejar pasar a {who}",
    joinedRoom: "{who} entró.",
    waitsRoom: "{who} espera para pasar.",
    leftRoom: "{who} salió.",
    mute: "Silenciar",
    unmute: "Activar micrófono",
    cameraOff: "Solo audio",
    cameraOn: "Encender cámara",
    badgeMuted: "silenciado",
    badgeAudioOnly: "solo audio",
    badgeReconnecting: "reconectando…",
    useRelay: "Enviar el video por el servidor",
    useP2p: "Volver a la conexión directa",
    leave: "Salir",
    ended: "Usted salió de la consulta.",
    rejoin: "Volver a entrar",
    chatHeading: "Mensajes",
    chatLabel: "Mensaje",
    send: "Enviar",
    consentHeading: "Grabación",
    consentToggle: "Acepto que esta consulta se grabe",
    consentNobody: "Nadie ha aceptado la grabación todavía.",
    consentedBy: "Aceptaron la grabación: {list}.",
    recordingOn: "Grabando",
    recordingAsked: "El médico pidió grabar. Solo empieza cuando todos los presentes acepten.",
    recordingStarted: "Comenzó la grabación.",
    recordingStopped: "Se detuvo la grabación.",
    recordingStoppedWhy: "Se detuvo la grabación ({reason}).",
    recordStart: "Iniciar grabación",
    recordStop: "Detener grabación",
    connecting: "Conectando…",
    connected: "Conectado.",
    reconnecting: "Se perdió la conexión. Reconectando en {seconds} s…",
    videoOf: "Video de {who}",
    mediaAudioOnly: "La cámara no está disponible: usted entra solo con audio.",
    mediaNone: "Sin cámara ni micrófono: aun así puede ver, oír y escribir.",
    cameraFailed: "No se pudo encender la cámara.",
    p2pStruggling: "La conexión de video con {who} falla; reintentando…",
    networkError: "No se puede contactar al servidor. Revise su conexión.",
    errNotAdmitted: "Espere a que el médico le deje pasar.",
    errRateLimited: "Demasiados mensajes; espere un momento.",
    errForbidden: "Solo el médico puede hacer eso.",
    errUnknownParticipant: "Esa persona ya no está esperando.",
    errInvalidMessage: "El servidor no aceptó un mensaje: {message}",
    errRelay: "El servidor de relevo no pudo conectarle.",
  },
};

const VIDEO = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { max: 24 } };
const ROLE_RANK = { doctor: 0 };
const TOKEN_KEY = "tequio.consult.token";
const RESTART_GRACE_MS = 3000;
const P2P_CONNECT_MS = 10000; // a direct path not up by then goes through the relay
const SPEAKER_HOLD_MS = 3000;

const state = {
  lang: "en",
  token: null,
  refreshToken: null, // memory only
  name: null,
  appointmentId: decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || ""),
  joined: null, // the join response
  joinedAt: 0,
  ws: null,
  leaving: false,
  retries: 0,
  retryTimer: null,
  heartbeat: null,
  lastHeard: 0,
  me: null,
  role: null,
  admitted: false,
  mode: "p2p",
  mediaApi: false, // the server knows relay mode and recording consent
  recording: false, // running now
  remoteConsent: null, // the consent to be seen remotely, while the page asks for it
  recordingEvents: 0, // how many `recording` events arrived (newer than a consents list asked before)
  recordingAsked: false, // the doctor asked; it runs while everyone present consents
  people: new Map(), // account_id -> {account_id, role, admitted, present, muted, audio_only}
  consents: new Map(), // account_id -> bool
  consentPending: false, // our own consent change is on its way to the API
  local: null,
  muted: false,
  audioOnly: false,
  peers: new Map(), // account_id -> peer connection record (p2p)
  queues: new Map(), // account_id -> promise chain, so one peer's signaling is handled in order
  staleSessions: new Set(), // SDP session ids of offers replayed to a freshly loaded page
  relay: null,
  precheck: null,
  tiles: new Map(), // account_id -> {figure, video, name, marks, stream}
  card: null, // GET …/consult: with whom and when
  skew: 0, // the server's clock minus this device's, in ms
  names: new Map(), // account_id -> display name, from the card
  cardTimer: null,
  cardLoading: null,
  status: null, // {key, params}: re-rendered in another language
  alert: null, // {key, params} or {text} (an API problem, in the language it came in)
  chat: [], // {from, text, item}
  waitingSeen: new Set(), // who we already beeped for
  beeps: 0,
  audio: null, // AudioContext, made on a click (browsers refuse sound before one)
  main: null, // whose video is large
  speaker: null,
  speakerAt: 0,
  speakerTimer: null,
  autoRelayed: 0, // times the page moved to the relay by itself
  switching: false,
  verdict: null, // the pre-call check's verdict, a text key
  missing: [],
  violations: [],
};

const $ = (id) => document.getElementById(id);

// ---- language -------------------------------------------------------------------------------

function t(key, params = {}) {
  const text = TEXT[state.lang][key] ?? TEXT.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

function checkTranslations() {
  const [en, es] = [Object.keys(TEXT.en), Object.keys(TEXT.es)];
  state.missing = [
    ...en.filter((k) => !(k in TEXT.es)).map((k) => `es:${k}`),
    ...es.filter((k) => !(k in TEXT.en)).map((k) => `en:${k}`),
  ];
  if (state.missing.length) console.error("missing texts", state.missing);
}

function pickLanguage() {
  const chosen = sessionStorage.getItem("tequio.consult.lang");
  if (chosen in TEXT) return chosen;
  return (navigator.language || "en").toLowerCase().startsWith("es") ? "es" : "en";
}

function setLanguage(lang) {
  state.lang = lang;
  document.documentElement.lang = lang;
  document.title = t("pageTitle");
  for (const element of document.querySelectorAll("[data-i18n]")) {
    element.textContent = t(element.dataset.i18n);
  }
  const toggle = $("language");
  toggle.textContent = t("otherLanguage");
  toggle.lang = lang === "es" ? "en" : "es";
  if (state.name) $("whoami").textContent = t("signedInAs", { name: state.name });
  renderVerdict();
  if (state.precheck?.last) showReport(state.precheck.last);
  if (state.status) announce(state.status.key, state.status.params);
  if (state.alert) showAlert(state.alert.key, state.alert.params, state.alert.text);
  renderCard();
  renderChat();
  renderRoom();
  if (!$("remote-consent").hidden) loadConsentText().catch(showProblem); // read in the new one
}

// ---- messages to the person -------------------------------------------------------------------

// Messages are kept by key, so that another language re-renders them.
function said(key, params) {
  return t(key, params.whoId ? { ...params, who: label(params.whoId) } : params);
}

function announce(key, params = {}) {
  state.status = key ? { key, params } : null;
  $("status").textContent = key ? said(key, params) : "";
}

function showAlert(key, params = {}, text = null) {
  state.alert = key || text ? { key, params, text } : null;
  const alert = $("alert");
  alert.textContent = key ? said(key, params) : text || "";
  alert.hidden = !alert.textContent;
}

function showProblem(error) {
  if (error instanceof ApiError && error.problem) showAlert(null, {}, error.message);
  else showAlert("networkError");
}

function show(id, visible) {
  $(id).hidden = !visible;
}

// ---- the API ----------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, problem) {
    const text = problem ? [problem.title, problem.detail].filter(Boolean).join(": ") : "";
    super(text || t("networkError"));
    this.status = status;
    this.problem = problem;
  }
}

async function api(method, path, body, retried = false) {
  const headers = { Accept: "application/json", "Accept-Language": state.lang };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch {
    throw new ApiError(0, null);
  }
  if (response.status === 401 && state.token && !retried && (await refreshSession())) {
    return api(method, path, body, true);
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401 && path !== "/v1/auth/token") signedOut();
    throw new ApiError(response.status, data);
  }
  return data;
}

const consultPath = (rest) => `/v1/appointments/${encodeURIComponent(state.appointmentId)}${rest}`;

// ---- signing in -------------------------------------------------------------------------------

function keepToken(tokens) {
  state.token = tokens.access_token;
  state.refreshToken = tokens.refresh_token || null;
  sessionStorage.setItem(TOKEN_KEY, state.token);
}

function tokenFromFragment() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const token = fragment.get("access_token");
  if (token) history.replaceState(null, "", location.pathname + location.search);
  return token;
}

async function refreshSession() {
  if (!state.refreshToken) return false;
  try {
    const body = JSON.stringify({ refresh_token: state.refreshToken });
    const response = await fetch("/v1/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept-Language": state.lang },
      body,
      cache: "no-store",
      credentials: "omit",
    });
    if (!response.ok) return false;
    keepToken(await response.json());
    return true;
  } catch {
    return false;
  }
}

function signedOut() {
  state.token = null;
  state.refreshToken = null;
  sessionStorage.removeItem(TOKEN_KEY);
  show("signin", true);
  show("lobby", false);
  if (!$("room").hidden) showAlert("needSignin");
}

async function signIn(event) {
  event.preventDefault();
  const button = event.submitter || $("signin-form").querySelector("button");
  button.disabled = true;
  announce("signingIn");
  try {
    const tokens = await api("POST", "/v1/auth/token", {
      username: $("username").value.trim(),
      password: $("password").value,
    });
    keepToken(tokens);
    $("password").value = "";
    showAlert(null);
    await enterLobby();
    if (state.joined && !state.ws && !state.leaving) reconnect(true);
  } catch (error) {
    announce(null);
    showProblem(error);
  } finally {
    button.disabled = false;
  }
}

async function enterLobby() {
  const me = await api("GET", "/v1/me");
  state.name = me.display_name || me.email || me.phone;
  $("whoami").textContent = t("signedInAs", { name: state.name });
  show("signin", false);
  show("lobby", !state.joined);
  announce(null);
  await loadCard();
}

// ---- with whom and when -------------------------------------------------------------------------

async function loadCard() {
  if (state.cardLoading) return state.cardLoading;
  state.cardLoading = (async () => {
    try {
      const card = await api("GET", consultPath("/consult"));
      state.card = card;
      state.skew = Date.parse(card.server_now) - Date.now();
      state.names = new Map(card.people.map((person) => [person.account_id, person.display_name]));
    } catch (error) {
      if (error.status === 401) return;
      if (!state.card) showProblem(error); // not this person's consult, or no such consult
    } finally {
      state.cardLoading = null;
    }
    renderCard();
    renderChat();
    renderRoom();
  })();
  return state.cardLoading;
}

function locale() {
  const browser = navigator.language || "";
  if (browser.toLowerCase().startsWith(state.lang)) return browser;
  return state.lang === "es" ? "es-MX" : "en-US";
}

function formatted(iso, zone, options) {
  try {
    return new Intl.DateTimeFormat(locale(), { timeZone: zone, ...options }).format(new Date(iso));
  } catch {
    return new Date(iso).toLocaleString();
  }
}

function timeOf(iso, zone) {
  return formatted(iso, zone, { hour: "numeric", minute: "2-digit" });
}

function dateAndTime(iso, zone) {
  const text = formatted(iso, zone, {
    weekday: "long",
    day: "numeric",
    month: "long",
    year: "numeric",
    hour: "numeric",
    minute: "2-digit",
  });
  return text.charAt(0).toLocaleUpperCase(locale()) + text.slice(1);
}

function zoneName(iso, zone) {
  try {
    const parts = new Intl.DateTimeFormat(locale(), {
      timeZone: zone,
      timeZoneName: "longGeneric",
    }).formatToParts(new Date(iso));
    return parts.find((part) => part.type === "timeZoneName")?.value || zone;
  } catch {
    return zone;
  }
}

// "a la 1:00", "a las 10:00"
function atHour(time) {
  return /^1[:.]/.test(time) ? "a la" : "a las";
}

function countdown(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const days = Math.floor(total / 86400);
  const hours = Math.floor((total % 86400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const two = (n) => String(n).padStart(2, "0");
  const clock = hours || days ? `${hours}:${two(minutes)}:${two(seconds)}` : `${minutes}:${two(seconds)}`;
  return days ? `${days} d ${clock}` : clock;
}

function patientName() {
  const patient = state.card?.people.find((p) => p.role === "patient" || p.role === "guardian");
  return patient?.display_name || t("role_patient");
}

function doctorName() {
  return state.card?.doctor.display_name || t("theDoctor");
}

// The other side of the consult, for this reader, and the zones to show times in.
function perspective() {
  const card = state.card;
  const doctor = card.your_role === "doctor";
  return {
    other: doctor ? patientName() : card.doctor.display_name,
    title: doctor ? "" : card.doctor.specialties.map((s) => s[state.lang] || s.en).join(", "),
    mine: doctor ? card.doctor.timezone : card.patient_timezone,
    theirs: doctor ? card.patient_timezone : card.doctor.timezone,
  };
}

function renderCard() {
  const card = state.card;
  show("appointment", !$("lobby").hidden || Boolean(card));
  $("lobby-help").textContent = t(card?.your_role === "doctor" ? "lobbyHelpDoctor" : "lobbyHelp");
  if (!card) {
    $("appt-with").textContent = t("lobbyHeading");
    for (const id of ["appt-title", "appt-when", "appt-other-when", "appt-room", "room-with"]) {
      $(id).textContent = "";
    }
    return;
  }
  const view = perspective();
  $("appt-with").textContent = t("consultWith", { name: view.other });
  $("appt-title").textContent = view.title;
  const when = dateAndTime(card.start, view.mine);
  $("appt-when").textContent = t("timeIn", { time: when, zone: zoneName(card.start, view.mine) });
  const elsewhere = dateAndTime(card.start, view.theirs);
  $("appt-other-when").textContent =
    elsewhere === when
      ? ""
      : t("timeFor", {
          time: timeOf(card.start, view.theirs),
          zone: zoneName(card.start, view.theirs),
          name: view.other,
        });
  const short = [timeOf(card.start, view.mine), view.other, view.title].filter(Boolean);
  $("room-with").textContent = short.join(" · ");
  renderRoomState();
}

// Whether the room is open, on the server's clock; a countdown until it is.
function renderRoomState() {
  const card = state.card;
  clearTimeout(state.cardTimer);
  if (!card) return;
  const zone = perspective().mine;
  const now = Date.now() + state.skew;
  const opens = Date.parse(card.room_opens_at);
  const closes = Date.parse(card.room_closes_at);
  const live = ["booked", "arrived"].includes(card.status);
  let text;
  if (!live) text = t("notAConsult", { status: card.status });
  else if (now < opens) {
    const time = timeOf(card.room_opens_at, zone);
    text = t("roomOpensIn", { left: countdown(opens - now), time, at: atHour(time) });
    state.cardTimer = setTimeout(renderRoomState, 1000 - (now % 1000) + 5);
  } else if (now > closes) {
    const time = timeOf(card.room_closes_at, zone);
    text = t("roomClosed", { time, at: atHour(time) });
  } else {
    text = t("roomOpen");
    state.cardTimer = setTimeout(renderRoomState, closes - now + 1000);
  }
  $("appt-room").textContent = text;
  $("join").disabled = !live || now < opens || now > closes;
}

// On a clinic's shared computer signing out must end the session on the server too.
async function signOut() {
  const refresh = state.refreshToken ? { refresh_token: state.refreshToken } : undefined;
  leave();
  try {
    await api("POST", "/v1/auth/logout", refresh, true);
  } catch {
    // already expired or offline: the token is forgotten here all the same
  }
  signedOut();
  show("ended", false);
  showAlert(null);
}

// ---- local camera and microphone ---------------------------------------------------------------

async function localMedia() {
  if (state.local) return state.local;
  const media = navigator.mediaDevices;
  try {
    const video = { ...VIDEO, facingMode: "user" };
    state.local = await media.getUserMedia({ audio: true, video });
  } catch {
    try {
      state.local = await media.getUserMedia({ audio: true });
      state.audioOnly = true;
      showAlert("mediaAudioOnly");
    } catch {
      state.local = new MediaStream();
      showAlert("mediaNone");
    }
  }
  // muted while the camera was still being opened: the microphone starts muted
  for (const track of state.local.getAudioTracks()) track.enabled = !state.muted;
  $("local-video").srcObject = state.local;
  return state.local;
}

function localTrack(kind) {
  if (!state.local) return null;
  return state.local.getTracks().find((track) => track.kind === kind) || null;
}

function stopLocalMedia() {
  for (const track of state.local?.getTracks() || []) track.stop();
  state.local = null;
  $("local-video").srcObject = null;
}

async function sendEverywhere(kind, track) {
  const records = [...state.peers.values(), ...(state.relay ? [state.relay] : [])];
  for (const record of records) {
    const transceiver = record.senders[kind];
    if (transceiver && !transceiver.stopped) await transceiver.sender.replaceTrack(track);
  }
}

function toggleMute() {
  state.muted = !state.muted;
  for (const track of state.local?.getAudioTracks() || []) track.enabled = !state.muted;
  sendMediaState();
  renderControls();
}

async function toggleCamera() {
  const button = $("camera");
  button.disabled = true;
  try {
    if (state.audioOnly) await cameraOn();
    else await cameraOff();
  } finally {
    button.disabled = false;
    sendMediaState();
    renderControls();
  }
}

async function cameraOff() {
  state.audioOnly = true;
  for (const track of state.local?.getVideoTracks() || []) {
    track.stop();
    state.local.removeTrack(track);
  }
  await sendEverywhere("video", null);
}

async function cameraOn() {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ video: VIDEO });
    const [track] = stream.getVideoTracks();
    state.local = state.local || new MediaStream();
    state.local.addTrack(track);
    $("local-video").srcObject = state.local;
    state.audioOnly = false;
    await sendEverywhere("video", track);
  } catch {
    showAlert("cameraFailed");
  }
}

function sendMediaState() {
  // the waiting room sends nothing to the room; the state goes out once the doctor lets us in
  if (state.admitted) send({ type: "media", muted: state.muted, audio_only: state.audioOnly });
}

// ---- WebRTC helpers -----------------------------------------------------------------------------

// The API sends `username: null` for STUN; a browser would take that as the name "null".
function iceServers() {
  return (state.joined?.ice_servers || []).map(({ urls, username, credential }) =>
    username ? { urls, username, credential } : { urls },
  );
}

// aiortc does not trickle: offers and answers to the server carry every candidate.
function iceGathered(pc, timeoutMs = 5000) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== "complete") return;
      pc.removeEventListener("icegatheringstatechange", done);
      resolve();
    };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, timeoutMs);
  });
}

// The `o=` line's session id: a new one means a new peer connection on the other side.
function sessionOf(sdp) {
  const match = /^o=\S+ (\d+) /m.exec(sdp || "");
  return match ? match[1] : null;
}

function addSendingTransceivers(pc, senders) {
  for (const kind of ["audio", "video"]) {
    senders[kind] = pc.addTransceiver(localTrack(kind) || kind, {
      direction: "sendrecv",
      streams: state.local ? [state.local] : [],
    });
  }
}

// What a connection carries: video frames decoded from others, bytes in and out.
async function mediaStats(pc) {
  const found = { framesDecoded: 0, bytesReceived: 0, bytesSent: 0 };
  if (!pc || pc.connectionState === "closed") return found;
  for (const report of (await pc.getStats()).values()) {
    if (report.type === "inbound-rtp") {
      found.bytesReceived += report.bytesReceived || 0;
      if (report.kind === "video") found.framesDecoded += report.framesDecoded || 0;
    } else if (report.type === "outbound-rtp") {
      found.bytesSent += report.bytesSent || 0;
    }
  }
  return found;
}

// ---- the pre-call check -------------------------------------------------------------------------

async function runPrecheck() {
  const button = $("precheck-start");
  button.disabled = true;
  show("precheck", true);
  clearReport();
  state.precheck?.pc.close();
  state.precheck = null;
  announce("precheckRunning");
  try {
    const stream = await localMedia();
    const pc = new RTCPeerConnection({ iceServers: iceServers() });
    const check = { pc, reports: 0, last: null, echo: new MediaStream() };
    state.precheck = check;
    for (const track of stream.getTracks()) pc.addTrack(track, stream);
    const channel = pc.createDataChannel("precheck");
    channel.onmessage = (event) => {
      const report = JSON.parse(event.data);
      if (report.type !== "precheck") return;
      check.reports += 1;
      check.last = report;
      showReport(report);
    };
    pc.ontrack = (event) => {
      check.echo.addTrack(event.track);
      $("precheck-video").srcObject = check.echo;
    };
    await pc.setLocalDescription();
    await iceGathered(pc);
    const answer = await api("POST", "/v1/consults/precheck", { sdp: pc.localDescription.sdp });
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    setTimeout(() => finishPrecheck(check, button), (answer.seconds + 2) * 1000);
  } catch (error) {
    announce("precheckFailed");
    state.verdict = "precheckFailed";
    renderVerdict();
    showProblem(error);
    finishPrecheck(state.precheck, button);
  }
}

function finishPrecheck(check, button) {
  button.disabled = false;
  if (!check || state.precheck !== check) return;
  check.pc.close();
  if (check.reports) announce("precheckDone");
  else {
    state.verdict = "precheckFailed";
    renderVerdict();
  }
  if ($("room").hidden) stopLocalMedia(); // no camera left on in the lobby
}

function checking() {
  return Boolean(state.precheck) && state.precheck.pc.connectionState !== "closed";
}

function clearReport() {
  for (const id of ["rtt", "loss", "jitter", "kbps", "relayed"]) {
    $(`report-${id}`).textContent = "—";
  }
  state.verdict = "precheckRunning";
  renderVerdict();
}

// The verdict in plain words leads; the figures are behind "Details".
function renderVerdict() {
  const verdict = $("precheck-verdict");
  verdict.textContent = state.verdict ? t(state.verdict) : "";
  verdict.dataset.verdict = state.verdict || "";
}

function showReport(report) {
  const number = (value, unit, digits = 0) =>
    value === null || value === undefined ? "—" : `${Number(value).toFixed(digits)} ${unit}`;
  $("report-rtt").textContent = number(report.round_trip_ms, "ms");
  $("report-loss").textContent = number(report.packet_loss_pct, "%", 1);
  $("report-jitter").textContent = number(report.jitter_ms, "ms", 1);
  $("report-kbps").textContent = number(report.received_kbps, "kbps");
  const relayed = report.relayed ?? null;
  $("report-relayed").textContent = relayed === null ? "—" : t(relayed ? "yes" : "no");
  state.verdict = report.video_ok ? "verdictVideo" : "verdictAudio";
  renderVerdict();
}

// ---- joining and the signaling socket -----------------------------------------------------------

async function join() {
  const button = $("join");
  button.disabled = true;
  prepareSound();
  announce("joining");
  showAlert(null);
  state.leaving = false;
  try {
    await localMedia();
    await requestToken();
    show("lobby", false);
    show("precheck", false);
    show("ended", false);
    show("room", true);
    renderRoom();
    connect();
  } catch (error) {
    announce(null);
    if (error instanceof Declined) showAlert(error.key);
    else showProblem(error);
    if (!checking()) stopLocalMedia();
  } finally {
    button.disabled = false;
  }
}

async function requestToken() {
  try {
    state.joined = await api("POST", consultPath("/consult/join"));
  } catch (error) {
    if (!(error instanceof ApiError) || !consentNeeded(error)) throw error;
    await askConsent(error);
    state.joined = await api("POST", consultPath("/consult/join"));
  }
  state.joinedAt = Date.now();
}

function consentNeeded(error) {
  const type = (error.problem && error.problem.type) || "";
  return error.status === 409 && type.endsWith("/telehealth-consent-required");
}

// Before the first consult the patient reads the consent to be seen remotely, in the page's
// language, and gives it (once per version of the text); declining leaves them in the lobby.
// A guardian consents for the child the consult is for (the refusal names them).
async function askConsent(refusal) {
  const problem = refusal.problem || {};
  state.remoteConsent = { for: problem.dependent_id || null, name: problem.dependent_name || null };
  await loadConsentText();
  show("remote-consent", true);
  show("lobby-actions", false);
  $("remote-consent-text").scrollTop = 0;
  $("remote-consent").scrollIntoView({ block: "nearest" });
  const agreed = await new Promise((resolve) => {
    state.remoteConsent.answer = resolve;
  });
  show("remote-consent", false);
  show("lobby-actions", true);
  if (!agreed) throw new Declined("consentLater");
  const shown = state.remoteConsent.text;
  const body = { version: shown.version, language: shown.language };
  if (state.remoteConsent.for) body.dependent_id = state.remoteConsent.for;
  await api("POST", "/v1/me/telehealth-consents", body);
}

class Declined extends Error {
  constructor(key) {
    super(key);
    this.key = key; // what the page says, in the person's language
  }
}

async function loadConsentText() {
  const lang = state.lang === "es" ? "es" : "en";
  state.remoteConsent.text = await api("GET", `/v1/records/consent?language=${lang}`);
  renderConsentText();
}

// The text's numbered points, "(1) … (2) …", read as a list.
function renderConsentText() {
  const consent = state.remoteConsent?.text;
  if (!consent) return;
  const [intro, ...rest] = consent.text.split(/\s\(\d+\)\s/);
  const box = $("remote-consent-text");
  const lead = document.createElement("p");
  lead.textContent = intro;
  box.replaceChildren(lead);
  if (rest.length) {
    const list = document.createElement("ol");
    for (const point of rest) {
      const item = document.createElement("li");
      item.textContent = point.replace(/;\s*$/, ".");
      list.append(item);
    }
    box.append(list);
  }
  const name = state.remoteConsent.name;
  $("remote-consent-for").textContent = name ? t("remoteConsentFor", { name }) : "";
  show("remote-consent-for", Boolean(name));
}

function answerConsent(agreed) {
  const answer = state.remoteConsent?.answer;
  if (answer) {
    state.remoteConsent.answer = null;
    answer(agreed);
  }
}

function tokenExpired() {
  if (!state.joined) return true;
  return Date.now() > state.joinedAt + (state.joined.expires_in - 30) * 1000;
}

function connect() {
  const url = new URL(state.joined.signal_url, location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("token", state.joined.consult_token);
  const ws = new WebSocket(url);
  let opened = false;
  state.ws = ws;
  announce("connecting");
  ws.onopen = () => {
    opened = true;
    state.retries = 0;
    startHeartbeat(ws);
  };
  ws.onmessage = (event) => {
    state.lastHeard = Date.now();
    onSignal(JSON.parse(event.data));
  };
  ws.onclose = (event) => {
    if (state.ws !== ws) return;
    // refused before the handshake (bad or expired token, room closed) or with our close codes
    dropped(!opened || event.code === 4401 || event.code === 4403);
  };
}

function dropped(refused) {
  stopHeartbeat();
  state.ws = null;
  if (state.leaving) return;
  const seconds = Math.min(15, 2 ** state.retries) * (0.75 + Math.random() / 2);
  state.retries += 1;
  announce("reconnecting", { seconds: Math.ceil(seconds) });
  clearTimeout(state.retryTimer);
  state.retryTimer = setTimeout(() => reconnect(refused), seconds * 1000);
}

async function reconnect(refused) {
  clearTimeout(state.retryTimer);
  if (state.leaving || state.ws || !state.token) return;
  try {
    if (refused || tokenExpired()) await requestToken();
  } catch (error) {
    if (error.status === 0) return dropped(true); // offline: try again later
    if (error.status === 401) return; // signing in again reconnects
    showProblem(error); // the room closed, or we are no longer part of it
    endCall();
    return;
  }
  connect();
}

function send(message) {
  if (state.ws?.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(message));
}

// A silent network (a phone in a tunnel) never closes the socket: ping, and give up on silence.
function startHeartbeat(ws) {
  stopHeartbeat();
  state.lastHeard = Date.now();
  state.heartbeat = setInterval(() => {
    if (Date.now() - state.lastHeard > 35000) {
      ws.onclose = null;
      ws.close();
      if (state.ws === ws) dropped(false);
      return;
    }
    send({ type: "ping" });
  }, 15000);
}

function stopHeartbeat() {
  clearInterval(state.heartbeat);
  state.heartbeat = null;
}

const HANDLERS = {
  welcome: onWelcome,
  presence: onPresence,
  offer: onOffer,
  answer: onAnswer,
  candidate: onCandidate,
  "ice-restart": onIceRestart,
  media: onMedia,
  chat: onChat,
  mode: (message) => applyMode(message.mode),
  consent: onConsent,
  "recording-request": (message) => {
    state.recordingAsked = Boolean(message.active);
    renderRoom();
  },
  recording: onRecording,
  tracks: (message) => message.from === "relay" && relayTask(() => relayTracks(message)),
  renegotiate: (message) => message.from === "relay" && relayTask(() => relayMore(message)),
  error: onError,
};

function onSignal(message) {
  const handler = HANDLERS[message.type];
  if (handler) handler(message);
}

// A welcome comes when the socket opens (the room, or only that we wait) and again when the
// doctor lets us in from the waiting room (then with the room).
function onWelcome(message) {
  const fresh = state.me === null;
  const letIn = !fresh && !state.admitted && message.admitted;
  state.me = message.you;
  state.role = message.role;
  state.admitted = message.admitted;
  state.mediaApi = "mode" in message;
  state.recordingAsked = Boolean(message.recording);
  const previous = state.people;
  state.people = new Map();
  for (const person of message.participants) {
    const known = previous.get(person.account_id) || { muted: false, audio_only: false };
    state.people.set(person.account_id, { ...known, ...person });
  }
  announce(letIn ? "admittedYou" : "connected");
  sendMediaState();
  if (state.mediaApi) loadConsents();
  const mode = message.mode || "p2p";
  if (mode !== state.mode) applyMode(mode);
  else if (letIn) startMedia();
  else if (state.admitted && mode === "relay" && !healthy(state.relay?.pc)) startRelay();
  if (state.admitted && state.mode === "p2p") {
    replay(message.replay || [], fresh);
    if (!letIn) for (const id of state.people.keys()) resumePeer(id);
  }
  namesWanted(letIn);
  renderRoom();
}

// Someone we have no name for (a nurse or an interpreter who joined): read the card again.
function namesWanted(always = false) {
  const unnamed = [...state.people.keys()].some((id) => id !== state.me && !state.names.has(id));
  if (always || unnamed) loadCard();
}

function onPresence(message) {
  const who = message.event === "admitted" ? message.account_id : message.from;
  const person = state.people.get(who) || {
    account_id: who,
    role: message.role,
    admitted: false,
    present: false,
    muted: false,
    audio_only: false,
  };
  person.role = message.role || person.role;
  if (message.event === "join") Object.assign(person, { present: true, admitted: true });
  if (message.event === "waiting") Object.assign(person, { present: true, admitted: false });
  if (message.event === "leave") person.present = false;
  if (message.event === "admitted") person.admitted = true;
  state.people.set(who, person);
  if (who === state.me) {
    if (message.event === "admitted" && !state.admitted) {
      state.admitted = true;
      announce("admittedYou");
      startMedia();
    }
  } else {
    const texts = { join: "joinedRoom", waiting: "waitsRoom", leave: "leftRoom" };
    if (texts[message.event]) announce(texts[message.event], { whoId: who });
    if (message.event !== "leave") sendMediaState();
    if (message.event === "admitted") ensurePeer(who);
  }
  namesWanted(who === state.me && message.event === "admitted");
  renderRoom();
}

function admit(accountId) {
  send({ type: "admit", account_id: accountId });
  const person = state.people.get(accountId);
  if (person) person.admitted = true; // the server does not echo our own messages back
  announce("joinedRoom", { whoId: accountId });
  ensurePeer(accountId);
  renderRoom();
}

function startMedia() {
  if (state.mode === "relay") startRelay();
  else for (const id of state.people.keys()) ensurePeer(id);
}

function onError(message) {
  if (message.from === "relay") return showAlert("errRelay");
  const texts = {
    "not-admitted": "errNotAdmitted",
    "rate-limited": "errRateLimited",
    forbidden: "errForbidden",
    "unknown-participant": "errUnknownParticipant",
    "invalid-message": "errInvalidMessage",
    "not-relay-mode": "errRelay",
  };
  const key = texts[message.code];
  if (key) showAlert(key, { message: message.message });
  else showAlert(null, {}, message.message);
  if (message.code === "unknown-participant") refreshParticipants();
}

async function refreshParticipants() {
  try {
    const { items } = await api("GET", consultPath("/consult/participants?limit=200"));
    for (const person of items) {
      const known = state.people.get(person.account_id) || { muted: false, audio_only: false };
      state.people.set(person.account_id, { ...known, ...person });
    }
    renderRoom();
  } catch (error) {
    showProblem(error);
  }
}

function leave() {
  state.leaving = true;
  clearTimeout(state.retryTimer);
  stopHeartbeat();
  const ws = state.ws;
  state.ws = null;
  if (ws) ws.close(1000);
  for (const id of [...state.peers.keys()]) closePeer(id);
  closeRelay();
  if (state.precheck) state.precheck.pc.close();
  stopLocalMedia();
  for (const id of [...state.tiles.keys()]) removeTile(id);
  Object.assign(state, { me: null, admitted: false, joined: null, mode: "p2p" });
  Object.assign(state, { recording: false, recordingAsked: false, muted: false, audioOnly: false });
  state.people = new Map();
  state.queues = new Map();
  state.consents = new Map();
  state.staleSessions = new Set();
}

function endCall() {
  leave();
  show("room", false);
  show("ended", true);
  announce(null);
  renderTitle();
}

// ---- peer-to-peer media -------------------------------------------------------------------------

// Between two people one always offers: the doctor, otherwise the smaller account id. No glare.
function iOffer(other) {
  const rank = (id) => ROLE_RANK[state.people.get(id)?.role] ?? 1;
  if (rank(state.me) !== rank(other)) return rank(state.me) < rank(other);
  return state.me < other;
}

function canConnect(id) {
  const person = state.people.get(id);
  return id !== state.me && state.admitted && person?.admitted && person.present;
}

function healthy(pc) {
  return Boolean(pc) && ["connected", "completed"].includes(pc.iceConnectionState);
}

function peerTask(id, task) {
  const next = (state.queues.get(id) || Promise.resolve()).then(task).catch((error) => {
    console.warn("signaling with", id, error);
  });
  state.queues.set(id, next);
  return next;
}

function createPeer(id) {
  const pc = new RTCPeerConnection({ iceServers: iceServers() });
  const peer = { id, pc, senders: {}, pending: [], restartTimer: null, restarts: 0 };
  peer.everConnected = false;
  peer.connectTimer = setTimeout(() => directFailed(peer), P2P_CONNECT_MS);
  pc.ontrack = (event) => showTrack(id, event.track);
  pc.onicecandidate = (event) => {
    if (event.candidate?.candidate) {
      send({ type: "candidate", to: id, candidate: event.candidate.toJSON() });
    }
  };
  pc.oniceconnectionstatechange = () => onIceState(peer);
  state.peers.set(id, peer);
  return peer;
}

function closePeer(id) {
  const peer = state.peers.get(id);
  if (!peer) return;
  clearTimeout(peer.restartTimer);
  clearTimeout(peer.connectTimer);
  peer.pc.close();
  state.peers.delete(id);
  const tile = state.tiles.get(id);
  if (tile) tile.stream = new MediaStream();
}

// Offerer: a connection to everyone admitted and present who has none yet.
function ensurePeer(id) {
  if (state.mode !== "p2p" || !canConnect(id) || !iOffer(id) || state.peers.has(id)) return;
  peerTask(id, () => freshOffer(id, false));
}

// After our socket (re)connected: keep what works. An offerer starts over what does not; an
// answerer asks its offerer to (a reloaded page has nothing left of the old connection).
function resumePeer(id) {
  if (!canConnect(id)) return;
  const peer = state.peers.get(id);
  if (peer && healthy(peer.pc) && peer.pc.signalingState === "stable") return;
  if (!iOffer(id)) send({ type: "ice-restart", to: id });
  else if (!peer) ensurePeer(id);
  else peerTask(id, () => freshOffer(id, true));
}

async function freshOffer(id, announceRestart) {
  if (!canConnect(id)) return;
  closePeer(id);
  const peer = createPeer(id);
  addSendingTransceivers(peer.pc, peer.senders);
  await peer.pc.setLocalDescription();
  if (announceRestart) send({ type: "ice-restart", to: id });
  send({ type: "offer", to: id, sdp: peer.pc.localDescription.sdp });
}

async function restartIce(peer) {
  if (state.peers.get(peer.id) !== peer || !canConnect(peer.id)) return;
  peer.restarts += 1;
  if (peer.restarts > 2) announce("p2pStruggling", { whoId: peer.id });
  await peer.pc.setLocalDescription(await peer.pc.createOffer({ iceRestart: true }));
  send({ type: "ice-restart", to: peer.id });
  send({ type: "offer", to: peer.id, sdp: peer.pc.localDescription.sdp });
}

// A direct path that never came up (ICE failed, or not connected in time) moves the consult to
// the server relay; one that broke later is restarted first, and moved if that keeps failing.
function onIceState(peer) {
  const ice = peer.pc.iceConnectionState;
  renderRoom();
  clearTimeout(peer.restartTimer);
  if (healthy(peer.pc)) {
    peer.restarts = 0;
    peer.everConnected = true;
    clearTimeout(peer.connectTimer);
  }
  if (ice === "failed" && !peer.everConnected) return directFailed(peer);
  if (peer.restarts > 2 && ice === "failed") return directFailed(peer);
  if (!iOffer(peer.id) || !["disconnected", "failed"].includes(ice)) return;
  const wait = ice === "failed" ? 0 : RESTART_GRACE_MS;
  peer.restartTimer = setTimeout(() => {
    if (!healthy(peer.pc)) peerTask(peer.id, () => restartIce(peer));
  }, wait);
}

function onOffer(message) {
  if (message.from === "relay") return; // the relay never offers: we do
  if (state.mode !== "p2p") return;
  peerTask(message.from, () => acceptOffer(message.from, message.sdp));
}

async function acceptOffer(from, sdp) {
  if (state.staleSessions.has(sessionOf(sdp))) {
    send({ type: "ice-restart", to: from }); // that connection was our page before a reload
    return;
  }
  let peer = state.peers.get(from);
  if (peer && iOffer(from) && peer.pc.signalingState === "have-local-offer") return;
  if (peer && sessionOf(peer.pc.remoteDescription?.sdp) !== sessionOf(sdp)) {
    closePeer(from);
    peer = null;
  }
  peer = peer || createPeer(from);
  await peer.pc.setRemoteDescription({ type: "offer", sdp });
  await attachLocalTracks(peer);
  await peer.pc.setLocalDescription();
  send({ type: "answer", to: from, sdp: peer.pc.localDescription.sdp });
  await flushCandidates(peer);
}

async function attachLocalTracks(peer) {
  for (const transceiver of peer.pc.getTransceivers()) {
    const kind = transceiver.receiver.track.kind;
    if (!peer.senders[kind]) peer.senders[kind] = transceiver;
  }
  for (const [kind, transceiver] of Object.entries(peer.senders)) {
    transceiver.direction = "sendrecv";
    await transceiver.sender.replaceTrack(localTrack(kind));
    if (state.local) transceiver.sender.setStreams?.(state.local);
  }
}

function onAnswer(message) {
  if (message.from === "relay") return relayTask(() => relayAnswer(message));
  peerTask(message.from, async () => {
    const peer = state.peers.get(message.from);
    if (!peer || peer.pc.signalingState !== "have-local-offer") return;
    try {
      await peer.pc.setRemoteDescription({ type: "answer", sdp: message.sdp });
    } catch {
      return freshOffer(message.from, true); // they answered from a connection we do not have
    }
    await flushCandidates(peer);
  });
}

function onCandidate(message) {
  if (message.from === "relay") return;
  peerTask(message.from, async () => {
    const peer = state.peers.get(message.from);
    if (!peer) return;
    if (!peer.pc.remoteDescription) peer.pending.push(message.candidate);
    else await addCandidate(peer, message.candidate);
  });
}

async function addCandidate(peer, init) {
  try {
    if (!init || !init.candidate) await peer.pc.addIceCandidate();
    else await peer.pc.addIceCandidate(init);
  } catch {
    // a candidate of an earlier session: nothing to do
  }
}

async function flushCandidates(peer) {
  for (const init of peer.pending.splice(0)) await addCandidate(peer, init);
}

function onIceRestart(message) {
  if (iOffer(message.from)) {
    // the other side lost its connection to us (a reloaded page): start over
    peerTask(message.from, () => freshOffer(message.from, true));
  } else {
    renderTile(message.from, true); // a new offer follows
  }
}

// The offers replayed on (re)connect. A freshly loaded page has no connection they belong to: it
// ignores them (resumePeer asks for a fresh offer); a page whose socket merely dropped applies
// the renegotiations it missed. Replayed answers are not used: an answer does not say which
// offer it answers, and after a reconnect the offerer starts over anything that is not stable.
function replay(messages, fresh) {
  for (const message of messages) {
    if (message.type !== "offer" || !message.from || message.from === "relay") continue;
    if (fresh) state.staleSessions.add(sessionOf(message.sdp));
    else peerTask(message.from, () => replayOffer(message));
  }
}

async function replayOffer(message) {
  const peer = state.peers.get(message.from);
  if (!peer || peer.pc.remoteDescription?.sdp === message.sdp) return;
  await acceptOffer(message.from, message.sdp);
}

// ---- server relay -------------------------------------------------------------------------------

// The relay (aiortc on the server) never makes an offer: we offer, sending our camera and
// microphone and receiving on `recvonly` transceivers, its "slots". It says whose media is on
// which slot with a `tracks` map (by mid), and asks for more slots with `renegotiate`.
let relayQueue = Promise.resolve();

function relayTask(task) {
  relayQueue = relayQueue.then(task).catch((error) => console.warn("relay", error));
  return relayQueue;
}

async function directFailed(peer) {
  if (state.peers.get(peer.id) !== peer || healthy(peer.pc) || state.mode !== "p2p") return;
  if (!state.mediaApi || !canConnect(peer.id) || state.switching) return;
  state.switching = true;
  try {
    await api("PUT", consultPath("/consult/mode"), { mode: "relay" });
    state.autoRelayed += 1;
    applyMode("relay");
    announce("relayAuto");
  } catch (error) {
    console.warn("could not move to the relay", error);
  } finally {
    state.switching = false;
  }
}

async function switchMode() {
  const button = $("mode");
  const wanted = state.mode === "relay" ? "p2p" : "relay";
  button.disabled = true;
  try {
    await api("PUT", consultPath("/consult/mode"), { mode: wanted });
    showAlert(null);
    $("more").open = false;
    applyMode(wanted);
  } catch (error) {
    showProblem(error);
  } finally {
    button.disabled = false;
  }
}

function applyMode(mode) {
  if (mode !== "relay" && mode !== "p2p") return;
  if (mode === state.mode) return;
  state.mode = mode;
  if (mode === "relay") {
    for (const id of [...state.peers.keys()]) closePeer(id);
    state.staleSessions = new Set();
    if (state.admitted) startRelay();
  } else {
    closeRelay();
    if (state.admitted) for (const id of state.people.keys()) ensurePeer(id);
  }
  renderRoom();
}

function startRelay() {
  relayTask(async () => {
    closeRelay();
    const pc = new RTCPeerConnection({ iceServers: iceServers() });
    const relay = { pc, senders: {}, tracks: {}, asked: null };
    state.relay = relay;
    addSendingTransceivers(pc, relay.senders);
    pc.ontrack = () => placeRelayTracks(relay);
    pc.oniceconnectionstatechange = () => {
      if (pc.iceConnectionState === "failed" && state.relay === relay) startRelay();
    };
    await relayOffer(relay);
  });
}

// Offer to the relay (aiortc does not trickle: the candidates go in the offer).
async function relayOffer(relay) {
  relay.asked = null;
  await relay.pc.setLocalDescription(await relay.pc.createOffer());
  await iceGathered(relay.pc);
  if (state.relay === relay) send({ type: "offer", to: "relay", sdp: relay.pc.localDescription.sdp });
}

function closeRelay() {
  if (!state.relay) return;
  state.relay.pc.close();
  state.relay = null;
  for (const tile of state.tiles.values()) tile.stream = new MediaStream();
  renderRoom();
}

async function relayAnswer(message) {
  const relay = state.relay;
  if (!relay || relay.pc.signalingState !== "have-local-offer") return;
  relay.tracks = message.tracks || {};
  await relay.pc.setRemoteDescription({ type: "answer", sdp: message.sdp });
  placeRelayTracks(relay);
  if (relay.asked) await relayMore({ ...relay.asked });
}

async function relayTracks(message) {
  if (!state.relay) return;
  state.relay.tracks = message.tracks || {};
  placeRelayTracks(state.relay);
}

// The relay needs more slots: offer again with a receiving transceiver per person and kind.
async function relayMore(message) {
  const relay = state.relay;
  if (!relay) return;
  relay.asked = { audio: message.audio || 0, video: message.video || 0 };
  if (relay.pc.signalingState !== "stable") return; // after the answer we are waiting for
  for (const kind of ["audio", "video"]) {
    const slots = relay.pc
      .getTransceivers()
      .filter((t) => !t.stopped && t.receiver.track.kind === kind && t.direction === "recvonly");
    for (let n = slots.length; n < relay.asked[kind]; n += 1) {
      relay.pc.addTransceiver(kind, { direction: "recvonly" });
    }
  }
  await relayOffer(relay);
}

// Whose media arrives on which transceiver: the server's `tracks` map, by mid.
function placeRelayTracks(relay) {
  const wanted = new Map(); // account_id -> tracks
  for (const transceiver of relay.pc.getTransceivers()) {
    const source = relay.tracks[transceiver.mid];
    if (!source || transceiver.stopped) continue;
    if (!wanted.has(source.account_id)) wanted.set(source.account_id, []);
    wanted.get(source.account_id).push(transceiver.receiver.track);
  }
  for (const [id, tile] of state.tiles) {
    if (id === state.me) continue;
    const tracks = wanted.get(id) || [];
    const current = tile.stream.getTracks();
    if (tracks.length === current.length && tracks.every((track) => current.includes(track))) {
      continue;
    }
    tile.stream = new MediaStream(tracks);
    tile.video.srcObject = tile.stream;
  }
  for (const id of wanted.keys()) {
    if (!state.tiles.has(id)) {
      const tile = ensureTile(id);
      tile.stream = new MediaStream(wanted.get(id));
      tile.video.srcObject = tile.stream;
    }
  }
  renderRoom();
}

// ---- the room's people, media state, chat, consent ---------------------------------------------

function label(id) {
  if (id === state.me) return t("you");
  const named = state.names.get(id);
  if (named) return named;
  const person = state.people.get(id);
  const role = person?.role || "unknown";
  const name = TEXT.en[`role_${role}`] ? t(`role_${role}`) : t("role_unknown");
  const same = [...state.people.values()].filter((p) => p.role === role);
  return same.length > 1 ? `${name} ${same.findIndex((p) => p.account_id === id) + 1}` : name;
}

function onMedia(message) {
  const person = state.people.get(message.from);
  if (!person) return;
  person.muted = Boolean(message.muted);
  person.audio_only = Boolean(message.audio_only);
  renderRoom();
}

function onChat(message) {
  addChat(message.from, message.text);
}

// Each line keeps who wrote it, so that its label follows names and the language.
function addChat(from, text) {
  const item = document.createElement("li");
  const name = document.createElement("strong");
  item.append(name, document.createTextNode(text));
  state.chat.push({ from, name });
  name.textContent = `${from === null ? t("you") : label(from)}: `;
  $("chat-log").append(item);
  item.scrollIntoView({ block: "nearest" });
}

function renderChat() {
  for (const line of state.chat) {
    line.name.textContent = `${line.from === null ? t("you") : label(line.from)}: `;
  }
}

function sendChat(event) {
  event.preventDefault();
  const input = $("chat-text");
  const text = input.value.trim();
  if (!text || !state.admitted || state.ws?.readyState !== WebSocket.OPEN) return;
  send({ type: "chat", text });
  addChat(null, text); // our own
  input.value = "";
}

async function loadConsents() {
  const heard = state.recordingEvents; // a `recording` event while we ask is newer than the answer
  try {
    const rows = (await api("GET", consultPath("/consult/consents?limit=200"))).items;
    state.consents = new Map();
    const latest = [...rows].sort((a, b) => String(a.given_at).localeCompare(String(b.given_at)));
    for (const row of latest) state.consents.set(row.account_id, !row.withdrawn_at);
    // after a (re)connect we missed the `recording` event: warn rather than stay silent
    const present = [...state.people.values()].filter((p) => p.present && p.admitted);
    const everyone = present.every((p) => state.consents.get(p.account_id));
    if (heard === state.recordingEvents && state.recordingAsked && everyone) {
      state.recording = true;
    }
    renderRoom();
  } catch (error) {
    if (error.status === 404 || error.status === 405) state.mediaApi = false;
    renderRoom();
  }
}

async function setConsent() {
  const box = $("consent");
  const wanted = box.checked;
  box.disabled = true;
  state.consentPending = true; // until the API answers, the box shows what the person chose
  try {
    await api("PUT", consultPath("/consult/consent"), { recording: wanted });
    state.consents.set(state.me, wanted);
    showAlert(null);
  } catch (error) {
    box.checked = !wanted;
    showProblem(error);
  } finally {
    state.consentPending = false;
    box.disabled = false;
    renderConsents();
  }
}

function onConsent(message) {
  state.consents.set(message.account_id, Boolean(message.recording));
  renderConsents();
}

function onRecording(message) {
  state.recordingEvents += 1;
  state.recording = message.state === "started";
  if (state.recording) announce("recordingStarted");
  else if (message.reason) announce("recordingStoppedWhy", { reason: message.reason });
  else announce("recordingStopped");
  renderRoom();
}

async function record(action) {
  try {
    const room = await api("POST", consultPath("/consult/recording"), { action });
    showAlert(null);
    state.recordingAsked = room.recording_requested;
    applyMode(room.mode);
  } catch (error) {
    showProblem(error);
  }
  renderRoom();
}

// ---- rendering ----------------------------------------------------------------------------------

function renderRoom() {
  renderTitle();
  if ($("room").hidden) return;
  show("waiting", Boolean(state.me) && !state.admitted);
  $("waiting").textContent = t("waiting", { doctor: doctorName() });
  show("recording", state.recording);
  show("recording-asked", state.recordingAsked && !state.recording);
  show("mode-note", state.mode === "relay");
  // The page moves to the relay by itself when the direct path fails; the doctor may also
  // choose it, or go back, from the connection menu, away from the leave button.
  show("more", state.mediaApi && state.admitted && state.role === "doctor");
  $("mode").textContent = t(state.mode === "relay" ? "useP2p" : "useRelay");
  show("consent-panel", state.mediaApi);
  show("recording-controls", state.role === "doctor");
  renderControls();
  renderAdmitBar();
  renderPeople();
  renderTiles();
  renderConsents();
}

function waitingPeople() {
  if (state.role !== "doctor" || $("room").hidden) return [];
  return [...state.people.values()].filter(
    (p) => p.account_id !== state.me && p.present && !p.admitted,
  );
}

// Someone waiting is obvious: a bar at the top of the room, the tab's title and a short sound.
function renderAdmitBar() {
  const waiting = waitingPeople();
  const bar = $("admit-bar");
  bar.replaceChildren();
  for (const person of waiting) {
    const row = document.createElement("p");
    const text = document.createElement("span");
    text.textContent = t("waitsToEnter", { who: label(person.account_id) });
    const button = document.createElement("button");
    button.type = "button";
    button.className = "primary";
    button.textContent = t("admit");
    button.setAttribute("aria-label", t("admitWho", { who: label(person.account_id) }));
    button.addEventListener("click", () => admit(person.account_id));
    row.append(text, button);
    bar.append(row);
  }
  bar.hidden = waiting.length === 0;
  const ids = new Set(waiting.map((p) => p.account_id));
  for (const id of ids) if (!state.waitingSeen.has(id)) beep();
  state.waitingSeen = ids;
}

function renderTitle() {
  const waiting = waitingPeople().length;
  document.title = waiting ? `(${waiting}) ${t("titleWaiting")} — Tequio` : t("pageTitle");
}

// Browsers allow sound only after a click: the context is made when the person joins.
function prepareSound() {
  try {
    state.audio = state.audio || new AudioContext();
    if (state.audio.state === "suspended") state.audio.resume().catch(() => {});
  } catch {
    state.audio = null;
  }
}

function beep() {
  const audio = state.audio;
  if (!audio || audio.state !== "running") return;
  const start = audio.currentTime;
  const tone = audio.createOscillator();
  const gain = audio.createGain();
  tone.frequency.value = 880;
  gain.gain.setValueAtTime(0.0001, start);
  gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
  gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.3);
  tone.connect(gain).connect(audio.destination);
  tone.start(start);
  tone.stop(start + 0.32);
  state.beeps += 1;
}

function renderControls() {
  const mute = $("mute");
  mute.textContent = t(state.muted ? "unmute" : "mute");
  mute.setAttribute("aria-pressed", String(state.muted));
  mute.disabled = !localTrack("audio");
  const camera = $("camera");
  camera.textContent = t(state.audioOnly ? "cameraOn" : "cameraOff");
  camera.setAttribute("aria-pressed", String(state.audioOnly));
  $("local-badges").textContent = badges({ muted: state.muted, audio_only: state.audioOnly });
  for (const control of $("chat-form").elements) control.disabled = !state.admitted;
}

function badges(person, reconnecting = false) {
  const parts = [];
  if (person.muted) parts.push(t("badgeMuted"));
  if (person.audio_only) parts.push(t("badgeAudioOnly"));
  if (reconnecting) parts.push(t("badgeReconnecting"));
  return parts.length ? `(${parts.join(", ")})` : "";
}

function renderPeople() {
  const list = $("participants");
  list.replaceChildren();
  for (const person of state.people.values()) {
    const item = document.createElement("li");
    const name = document.createElement("span");
    name.textContent = label(person.account_id);
    const status = document.createElement("span");
    status.className = "state";
    const where = !person.present ? "stateAway" : person.admitted ? "stateHere" : "stateWaiting";
    status.textContent = [t(where), badges(person)].filter(Boolean).join(" ");
    item.append(name, " ", status);
    list.append(item);
  }
}

function ensureTile(id) {
  let tile = state.tiles.get(id);
  if (tile) return tile;
  const figure = document.createElement("figure");
  figure.className = "tile";
  figure.dataset.account = id;
  const video = document.createElement("video");
  video.autoplay = true;
  video.playsInline = true;
  const caption = document.createElement("figcaption");
  const name = document.createElement("span");
  const marks = document.createElement("span");
  marks.className = "badges";
  caption.append(name, " ", marks);
  figure.append(video, caption);
  $("tiles").append(figure);
  tile = { figure, video, name, marks, stream: new MediaStream() };
  state.tiles.set(id, tile);
  renderStage(); // a new tile takes its place (large or thumbnail) at once, not at the next roll call
  return tile;
}

function removeTile(id) {
  const tile = state.tiles.get(id);
  if (!tile) return;
  tile.video.srcObject = null;
  tile.figure.remove();
  state.tiles.delete(id);
}

function showTrack(id, track) {
  const tile = ensureTile(id);
  for (const old of tile.stream.getTracks()) {
    if (old.kind === track.kind) tile.stream.removeTrack(old);
  }
  tile.stream.addTrack(track);
  tile.video.srcObject = tile.stream;
  renderTile(id);
}

function renderTiles() {
  for (const id of [...state.tiles.keys()]) {
    const person = state.people.get(id);
    const connected = healthy(state.peers.get(id)?.pc) || (state.relay && person?.present);
    if (!person || !person.admitted || (!person.present && !connected)) removeTile(id);
    else renderTile(id);
  }
  renderStage();
}

// The other person fills the stage; our own preview is small in a corner. With more people,
// the one speaking is large, else the doctor; the others are thumbnails.
function renderStage() {
  const remote = [...state.tiles.keys()];
  state.main = chooseMain(remote);
  for (const [id, tile] of state.tiles) {
    tile.figure.classList.toggle("main", id === state.main);
    tile.figure.classList.toggle("thumb", id !== state.main);
  }
  $("stage").classList.toggle("alone", remote.length === 0);
  $("stage-empty").textContent = remote.length ? "" : t("stageAlone");
  if (remote.length > 1 && !state.speakerTimer) {
    state.speakerTimer = setInterval(listenForSpeaker, 500);
  } else if (remote.length <= 1 && state.speakerTimer) {
    clearInterval(state.speakerTimer);
    state.speakerTimer = null;
  }
}

function chooseMain(remote) {
  if (!remote.length) return null;
  const speaking = Date.now() - state.speakerAt < SPEAKER_HOLD_MS;
  if (remote.length > 1 && speaking && remote.includes(state.speaker)) return state.speaker;
  const doctor = remote.find((id) => state.people.get(id)?.role === "doctor");
  if (doctor) return doctor;
  if (remote.includes(state.main)) return state.main;
  const patient = remote.find((id) => ["patient", "guardian"].includes(state.people.get(id)?.role));
  return patient || remote[0];
}

// Who speaks: the loudest audio arriving, as the browser measures it for each source.
function listenForSpeaker() {
  const levels = new Map();
  const take = (id, receiver) => {
    for (const source of receiver.getSynchronizationSources?.() || []) {
      levels.set(id, Math.max(levels.get(id) || 0, source.audioLevel || 0));
    }
  };
  for (const [id, peer] of state.peers) {
    for (const receiver of peer.pc.getReceivers()) {
      if (receiver.track?.kind === "audio") take(id, receiver);
    }
  }
  if (state.relay) {
    for (const transceiver of state.relay.pc.getTransceivers()) {
      const source = state.relay.tracks[transceiver.mid];
      if (source?.kind === "audio") take(source.account_id, transceiver.receiver);
    }
  }
  const [loudest, level] = [...levels].sort((a, b) => b[1] - a[1])[0] || [null, 0];
  // the browser's noise suppression softens a steady voice over time: a low bar, the loudest wins
  if (loudest && level > 0.02) {
    state.speaker = loudest;
    state.speakerAt = Date.now();
  }
  if (chooseMain([...state.tiles.keys()]) !== state.main) renderStage();
}

function renderTile(id, reconnecting = false) {
  const tile = state.tiles.get(id);
  const person = state.people.get(id);
  if (!tile || !person) return;
  const ice = state.peers.get(id)?.pc.iceConnectionState;
  const trouble = reconnecting || ice === "disconnected" || ice === "failed";
  tile.name.textContent = label(id);
  tile.marks.textContent = badges(person, trouble);
  tile.video.setAttribute("aria-label", t("videoOf", { who: label(id) }));
  tile.figure.classList.toggle("no-video", person.audio_only);
  if (tile.video.srcObject !== tile.stream) tile.video.srcObject = tile.stream;
}

function renderConsents() {
  if (!state.mediaApi) return;
  if (!state.consentPending) $("consent").checked = Boolean(state.consents.get(state.me));
  const agreed = [...state.consents].filter(([, yes]) => yes).map(([id]) => label(id));
  $("consents").textContent = agreed.length
    ? t("consentedBy", { list: agreed.join(", ") })
    : t("consentNobody");
  $("record-start").disabled = state.recordingAsked;
  $("record-stop").disabled = !state.recordingAsked;
}

// ---- a read-only hook for tests and for support staff reading the console ----------------------

async function stats() {
  const peers = {};
  for (const [id, peer] of state.peers) peers[id] = await mediaStats(peer.pc);
  const relay = state.relay ? await mediaStats(state.relay.pc) : null;
  const precheck = state.precheck
    ? { ...(await mediaStats(state.precheck.pc)), reports: state.precheck.reports }
    : null;
  return { peers, relay, precheck };
}

window.tequio = Object.freeze({
  stats,
  state: () => ({
    me: state.me,
    role: state.role,
    admitted: state.admitted,
    mode: state.mode,
    autoRelayed: state.autoRelayed,
    beeps: state.beeps,
    main: state.main,
    recording: state.recording,
    connected: state.ws?.readyState === WebSocket.OPEN,
    peers: [...state.peers].map(([id, peer]) => ({ id, ice: peer.pc.iceConnectionState })),
    relay: state.relay && {
      ice: state.relay.pc.iceConnectionState,
      signaling: state.relay.pc.signalingState,
      tracks: state.relay.tracks,
      mids: state.relay.pc.getTransceivers().map((t) => [t.mid, t.currentDirection]),
    },
  }),
  missingTexts: () => [...state.missing],
  texts: (lang) => Object.values(TEXT[lang] || {}),
  cspViolations: () => [...state.violations],
});

// ---- start --------------------------------------------------------------------------------------

function wire() {
  document.addEventListener("securitypolicyviolation", (event) => {
    state.violations.push(`${event.violatedDirective} ${event.blockedURI}`);
  });
  $("language").addEventListener("click", () => {
    const next = state.lang === "es" ? "en" : "es";
    sessionStorage.setItem("tequio.consult.lang", next);
    setLanguage(next);
  });
  $("signin-form").addEventListener("submit", signIn);
  $("signout").addEventListener("click", signOut);
  $("precheck-start").addEventListener("click", runPrecheck);
  $("join").addEventListener("click", join);
  $("rejoin").addEventListener("click", join);
  $("mute").addEventListener("click", toggleMute);
  $("camera").addEventListener("click", toggleCamera);
  $("mode").addEventListener("click", switchMode);
  $("leave").addEventListener("click", endCall);
  $("chat-form").addEventListener("submit", sendChat);
  $("consent").addEventListener("change", setConsent);
  $("record-start").addEventListener("click", () => record("start"));
  $("record-stop").addEventListener("click", () => record("stop"));
  $("remote-consent-agree").addEventListener("click", () => answerConsent(true));
  $("remote-consent-later").addEventListener("click", () => answerConsent(false));
  window.addEventListener("online", () => {
    if (state.joined && !state.ws && !state.leaving) reconnect(false);
  });
}

async function boot() {
  checkTranslations();
  wire();
  setLanguage(pickLanguage());
  const token = tokenFromFragment() || sessionStorage.getItem(TOKEN_KEY);
  if (!token) return show("signin", true);
  state.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
  try {
    await enterLobby();
  } catch (error) {
    if (error.status !== 401) showProblem(error);
    show("signin", true);
  }
}

boot();
