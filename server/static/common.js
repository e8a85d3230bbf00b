// briefing-rag web page, shared by every part (loaded first): the page's state, DOM and HTML
// helpers, and requests to this server (with the API key when the service asks for one).
// The page is plain JavaScript in classic scripts sharing one scope: no build step, and no
// network access beyond this server. common.js, answers.js, sources.js, drafts.js,
// documents.js, eval.js, then app.js, whose init runs once the page has loaded.
"use strict";

const STORE_KEY = "briefing-rag.conversations.v1";
const HISTORY_TURNS = 3; // question/answer pairs sent with a follow-up
const $ = (selector) => document.querySelector(selector);

const views = new WeakMap(); // .turn element → its view (passages and citations of that answer)

const state = {
  conversations: [], // [{id, title, created, turns: [{question, record, error}]}]
  currentId: null,
  busy: false,
  documents: [],
};

// ---------- helpers ----------

function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function newId() {
  return Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
}

// ---------- API key (only when the service is exposed beyond this machine) ----------

const KEY_STORAGE = "briefing-rag-api-key";

function withKey(headers = {}) {
  const key = localStorage.getItem(KEY_STORAGE);
  return key ? { ...headers, authorization: `Bearer ${key}` } : headers;
}

function askForKey() {
  const key = window.prompt("此服务需要 API 密钥，请输入：");
  if (!key || !key.trim()) return false;
  localStorage.setItem(KEY_STORAGE, key.trim());
  return true;
}

let keyPrompt = null; // one prompt for all the requests refused at the same time

async function fetchWithKey(path, options = {}) {
  const sent = localStorage.getItem(KEY_STORAGE);
  const response = await fetch(path, { ...options, headers: withKey(options.headers) });
  if (response.status !== 401) return response;
  if (localStorage.getItem(KEY_STORAGE) === sent) {
    // No newer key than the one refused: ask (once, however many requests were refused).
    keyPrompt = keyPrompt || Promise.resolve().then(askForKey).finally(() => (keyPrompt = null));
    if (!(await keyPrompt)) return response;
  }
  return fetch(path, { ...options, headers: withKey(options.headers) });
}

async function apiJson(path, options = {}) {
  const response = await fetchWithKey(path, options);
  let data = null;
  try {
    data = await response.json();
  } catch (e) {
    data = null;
  }
  if (!response.ok) {
    const message = data && data.error ? data.error.message : `请求失败（HTTP ${response.status}）`;
    throw new Error(message);
  }
  return data;
}

// The passage text with the span the server found for the cited sentence marked
// (offsets count code points, as Python does, not UTF-16 units).
function highlighted(text, span) {
  if (!span) return escapeHtml(text);
  const chars = Array.from(text);
  const part = (from, to) => escapeHtml(chars.slice(from, to).join(""));
  return part(0, span.start) + "<mark>" + part(span.start, span.end) + "</mark>" + part(span.end);
}

function placeLabel(item) {
  return [item.section, item.page].filter(Boolean).join(" · ");
}

// Save a download (a response from this server) under the name its Content-Disposition gives.
async function saveResponse(response, fallbackName) {
  if (!response.ok) {
    const data = await response.json().catch(() => ({}));
    throw new Error((data.error && data.error.message) || `HTTP ${response.status}`);
  }
  const blob = await response.blob();
  const named = /filename\*=UTF-8''([^;]+)/.exec(response.headers.get("Content-Disposition") || "");
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = named ? decodeURIComponent(named[1]) : fallbackName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}
