// briefing-rag web page: ask with streamed, cited answers; check sources; copy into a draft;
// manage briefings. Plain JavaScript, no build step, no network access beyond this server.
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

// ---------- storage ----------

function loadConversations() {
  try {
    const saved = JSON.parse(localStorage.getItem(STORE_KEY) || "{}");
    state.conversations = Array.isArray(saved.conversations) ? saved.conversations : [];
    state.currentId = saved.currentId || null;
  } catch (e) {
    state.conversations = [];
  }
  if (!currentConversation()) startConversation();
}

function saveConversations() {
  const data = JSON.stringify({ conversations: state.conversations, currentId: state.currentId });
  try {
    localStorage.setItem(STORE_KEY, data);
  } catch (e) {
    // Storage full: drop the oldest other conversations until it fits (never the open one).
    for (;;) {
      const oldest = state.conversations.findIndex((c) => c.id !== state.currentId);
      if (oldest < 0) return;
      state.conversations.splice(oldest, 1);
      try {
        localStorage.setItem(STORE_KEY, JSON.stringify({ conversations: state.conversations, currentId: state.currentId }));
        return;
      } catch (again) {
        continue;
      }
    }
  }
}

function currentConversation() {
  return state.conversations.find((c) => c.id === state.currentId) || null;
}

function startConversation() {
  const conversation = { id: newId(), title: "新对话", created: Date.now(), turns: [] };
  state.conversations.push(conversation);
  state.currentId = conversation.id;
  saveConversations();
  return conversation;
}

// ---------- conversation list ----------

function renderConversationList() {
  const list = $("#conversations");
  list.innerHTML = "";
  for (const conversation of [...state.conversations].reverse()) {
    const item = document.createElement("li");
    item.className = conversation.id === state.currentId ? "current" : "";
    const open = document.createElement("button");
    open.className = "open";
    open.textContent = conversation.title;
    open.title = conversation.title;
    open.addEventListener("click", () => {
      state.currentId = conversation.id;
      saveConversations();
      renderAll();
      document.body.classList.remove("sidebar-open");
    });
    const remove = document.createElement("button");
    remove.className = "icon-button remove";
    remove.textContent = "✕";
    remove.setAttribute("aria-label", `删除对话：${conversation.title}`);
    remove.addEventListener("click", () => {
      state.conversations = state.conversations.filter((c) => c.id !== conversation.id);
      if (state.currentId === conversation.id) {
        state.currentId = state.conversations.length ? state.conversations[state.conversations.length - 1].id : null;
      }
      if (!currentConversation()) startConversation();
      saveConversations();
      renderAll();
    });
    item.append(open, remove);
    list.append(item);
  }
}

function renderAll() {
  renderConversationList();
  const conversation = currentConversation();
  $("#chat-title").textContent = conversation.title;
  const messages = $("#messages");
  messages.querySelectorAll(".turn").forEach((node) => node.remove());
  $("#welcome").hidden = conversation.turns.length > 0;
  for (const turn of conversation.turns) {
    const view = turnView(turn.question);
    if (turn.record) showAnswer(view, turn.record);
    else if (turn.error) showError(view, turn.error);
    messages.append(view.root);
  }
  for (const id of ["#download-md", "#download-docx"]) $(id).disabled = !conversation.turns.some((t) => t.record);
  closeSource();
  messages.scrollTop = messages.scrollHeight;
}

// ---------- one question and its answer ----------

function turnView(question) {
  const root = document.createElement("div");
  root.className = "turn";
  const q = document.createElement("div");
  q.className = "question";
  q.textContent = question;
  const answer = document.createElement("div");
  answer.className = "answer";
  const body = document.createElement("div");
  body.className = "answer-body";
  const extra = document.createElement("div");
  const actions = document.createElement("div");
  actions.className = "answer-actions";
  answer.append(body, extra, actions);
  root.append(q, answer);
  const view = { root, answer, body, extra, actions, passages: [], citations: {}, numbers: {} };
  views.set(root, view); // citation events find the passages behind a marker through this
  return view;
}

// The number a citation shows: the server's (1, 2, … in order of first appearance, as in every
// copy and export); while the answer streams, the same rule applied to what has arrived.
function displayNumber(view, n) {
  const cited = view.citations[n];
  if (cited && cited.number) return cited.number;
  if (!(n in view.numbers)) view.numbers[n] = Object.keys(view.numbers).length + 1;
  return view.numbers[n];
}

// Render one answer sentence: [n] markers (n: the passage) become superscript links.
function sentenceHtml(view, text, sentenceIndex, unsupported) {
  let html = "";
  let last = 0;
  for (const match of text.matchAll(/\[(\d+)\]/g)) {
    html += escapeHtml(text.slice(last, match.index));
    const n = match[1];
    const shown = displayNumber(view, n);
    const cls = unsupported ? "cite unverified" : "cite";
    html += `<sup class="${cls}"><a href="#" role="button" tabindex="0" data-n="${n}" data-sentence="${sentenceIndex}" aria-label="出处 ${shown}">[${shown}]</a></sup>`;
    last = match.index + match[0].length;
  }
  html += escapeHtml(text.slice(last));
  const cls = unsupported ? "sentence unsupported" : "sentence";
  const badge = unsupported ? '<span class="unsupported-badge" title="在检索到的段落中找不到依据">未核实</span>' : "";
  return `<span class="${cls}" data-index="${sentenceIndex}">${html}${badge}</span>`;
}

function appendToken(view, text) {
  const index = view.body.querySelectorAll(".sentence").length;
  view.body.insertAdjacentHTML("beforeend", sentenceHtml(view, text, index, false));
}

function showAnswer(view, record) {
  view.record = record;
  view.passages = record.passages || [];
  view.citations = Object.fromEntries((record.citations || []).map((c) => [String(c.n), c]));
  view.answer.classList.remove("streaming");
  view.answer.classList.toggle("refusal", Boolean(record.refused));
  view.extra.innerHTML = "";
  view.actions.innerHTML = "";
  if (record.sentences && record.sentences.length) {
    view.body.innerHTML = record.sentences.map((s, i) => sentenceHtml(view, s.text, i, !s.supported)).join("");
  } else {
    view.body.innerHTML = sentenceHtml(view, record.answer, 0, false);
  }
  if (record.refused) {
    view.extra.innerHTML = `<div class="refusal-reason">拒答：${escapeHtml(record.refusal_reason || "资料不足")}</div>`;
    if (view.passages.length) view.extra.append(closestPassages(view));
  } else if (record.citations && record.citations.length) {
    if ((record.sentences || []).some((s) => s.status === "quoted")) {
      // The extractive answerer quotes the briefing word for word: say so, rather than "verified".
      view.extra.insertAdjacentHTML("beforeend", '<div class="quoted-label" title="回答中的句子逐字摘自所引段落">原文摘录</div>');
    }
    const refs = document.createElement("ol");
    refs.className = "references";
    const ordered = [...record.citations].sort((a, b) => displayNumber(view, String(a.n)) - displayNumber(view, String(b.n)));
    for (const c of ordered) {
      const li = document.createElement("li");
      li.value = displayNumber(view, String(c.n));
      const text = c.reference || `《${c.title}》${c.section ? "，" + c.section : ""}，${c.page}`;
      li.innerHTML = `${escapeHtml(text)}${c.supported ? "" : '<span class="unsupported-badge">未核实</span>'}`;
      refs.append(li);
    }
    view.extra.append(refs);
  }
  if (record.notices && record.notices.length) {
    const notes = document.createElement("ul");
    notes.className = "notices";
    for (const notice of record.notices) {
      const li = document.createElement("li");
      li.textContent = notice;
      notes.append(li);
    }
    view.extra.append(notes);
  }
  if (!record.refused) {
    // A refusal has nothing to put into a draft.
    view.actions.append(
      copyButton("复制（Word 格式）", { html: record.html, plain: record.plain }, view),
      copyButton("复制 Markdown（脚注）", { plain: record.markdown }, view),
      exportButton("下载 Word", () => exportTurns("docx", [turnExport(record.question, record)])),
    );
  }
}

function closestPassages(view) {
  const details = document.createElement("details");
  details.className = "closest";
  details.innerHTML = `<summary>查看最接近的 ${view.passages.length} 个段落</summary>`;
  const list = document.createElement("ol");
  for (const passage of view.passages) {
    const li = document.createElement("li");
    const open = document.createElement("button");
    open.className = "open-source";
    open.textContent = `《${passage.title}》 ${placeLabel(passage)}`;
    open.addEventListener("click", () => openSource(passage));
    const snippet = document.createElement("div");
    snippet.className = "hint";
    snippet.textContent = passage.text.length > 120 ? passage.text.slice(0, 120) + "……" : passage.text;
    li.append(open, snippet);
    list.append(li);
  }
  details.append(list);
  return details;
}

function showError(view, message) {
  view.answer.classList.remove("streaming");
  view.extra.innerHTML = `<div class="error" role="alert">${escapeHtml(message)}</div>`;
}

function copyButton(label, content, view) {
  const button = document.createElement("button");
  button.className = "secondary copy";
  button.textContent = label;
  button.addEventListener("click", async () => {
    await copyContent(content);
    let note = view.actions.querySelector(".copied");
    if (!note) {
      note = document.createElement("span");
      note.className = "copied";
      view.actions.append(note);
    }
    note.textContent = "已复制";
    setTimeout(() => (note.textContent = ""), 2000);
  });
  return button;
}

// Rich text (text/html, which Word, WPS and LibreOffice paste with its superscripts) beside plain text.
async function copyContent({ html, plain }) {
  try {
    if (html && window.ClipboardItem) {
      await navigator.clipboard.write([
        new ClipboardItem({
          "text/html": new Blob([html], { type: "text/html" }),
          "text/plain": new Blob([plain || ""], { type: "text/plain" }),
        }),
      ]);
    } else {
      await navigator.clipboard.writeText(plain || "");
    }
  } catch (e) {
    console.warn("clipboard API refused, copying plain text instead:", e);
    const area = document.createElement("textarea");
    area.value = plain || "";
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
}

// ---------- asking ----------

function historyFor(conversation) {
  const turns = conversation.turns.filter((t) => t.record && !t.record.refused).slice(-HISTORY_TURNS);
  return turns.flatMap((t) => [
    { role: "user", content: t.question },
    { role: "assistant", content: t.record.answer },
  ]);
}

function requestBody(question, conversation) {
  const body = { question, history: historyFor(conversation), stream: true };
  const k = parseInt($("#k").value, 10);
  if (k >= 1 && k <= Number($("#k").max || k)) body.k = k;
  const answerer = $("#answerer").value;
  if (answerer) body.answerer = answerer;
  const docs = [...document.querySelectorAll("#doc-filter input:checked")].map((input) => input.value);
  if (docs.length) body.docs = docs;
  return body;
}

// Server-Sent Events from a POST response: yields {event, data}.
async function* sseEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
      let event = "message";
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
    }
  }
}

async function ask(question) {
  question = question.trim();
  if (!question || state.busy) return;
  const conversation = currentConversation();
  const turn = { question, record: null, error: null };
  const body = requestBody(question, conversation);
  conversation.turns.push(turn);
  if (conversation.turns.length === 1) conversation.title = question.length > 24 ? question.slice(0, 24) + "…" : question;
  renderConversationList();
  $("#chat-title").textContent = conversation.title;
  $("#welcome").hidden = true;

  const view = turnView(question);
  view.answer.classList.add("streaming");
  $("#messages").append(view.root);
  view.root.scrollIntoView({ block: "end" });
  setBusy(true);
  try {
    const response = await fetchWithKey("/api/ask", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      let message = `请求失败（HTTP ${response.status}）`;
      try {
        message = (await response.json()).error.message;
      } catch (e) {
        /* keep the generic message */
      }
      throw new Error(message);
    }
    for await (const { event, data } of sseEvents(response)) {
      if (event === "passages") view.passages = data.passages;
      else if (event === "token") appendToken(view, data.text);
      else if (event === "done") {
        turn.record = data;
        showAnswer(view, data);
        followNewestAnswer(view);
      } else if (event === "error") throw new Error(data.error.message);
    }
    if (!turn.record) throw new Error("回答意外中断，请重试");
  } catch (e) {
    turn.error = e.message || String(e);
    showError(view, turn.error);
  } finally {
    setBusy(false);
    saveConversations();
    for (const id of ["#download-md", "#download-docx"]) $(id).disabled = !conversation.turns.some((t) => t.record);
  }
}

function setBusy(busy) {
  state.busy = busy;
  $("#send").disabled = busy;
  $("#send").textContent = busy ? "回答中…" : "发送";
}

// ---------- citations: hover card and source panel ----------

function citationTarget(anchor) {
  const view = viewFor(anchor);
  if (!view) return null;
  const n = anchor.dataset.n;
  const passage = view.citations[n] || view.passages[Number(n) - 1];
  if (!passage) return null;
  // Where the passage says what the sentence says, as the server located it.
  const sentenceNode = anchor.closest(".sentence");
  const sentence = sentenceNode && view.record ? (view.record.sentences || [])[Number(sentenceNode.dataset.index)] : null;
  const span = sentence ? (sentence.evidence || []).find((e) => String(e.n) === n) : null;
  return { passage, span: span || null };
}

function viewFor(node) {
  const root = node.closest(".turn");
  return root ? views.get(root) : null;
}

function showHovercard(anchor) {
  const target = citationTarget(anchor);
  if (!target) return;
  const { passage, span } = target;
  const card = $("#hovercard");
  card.innerHTML =
    `<div class="hc-title">[${escapeHtml(anchor.dataset.n)}] 《${escapeHtml(passage.title)}》</div>` +
    `<div class="hc-meta">${escapeHtml(placeLabel(passage))}</div>` +
    `<div class="hc-text">${highlighted(passage.text, span)}</div>` +
    `<div class="hc-hint">点击查看简报原文</div>`;
  card.hidden = false;
  const box = anchor.getBoundingClientRect();
  const width = card.offsetWidth;
  const left = Math.max(8, Math.min(box.left, window.innerWidth - width - 8));
  const below = box.bottom + 6;
  const top = below + card.offsetHeight > window.innerHeight ? Math.max(8, box.top - card.offsetHeight - 6) : below;
  card.style.left = `${left}px`;
  card.style.top = `${top}px`;
}

function hideHovercard() {
  $("#hovercard").hidden = true;
}

async function openSource(passage, span) {
  const panel = $("#source-panel");
  panel.hidden = false;
  $("#source-title").textContent = `《${passage.title}》`;
  $("#source-meta").textContent = placeLabel(passage);
  const note = $("#source-note");
  note.hidden = true;
  const text = $("#source-text");
  text.textContent = "正在载入原文……";
  try {
    const source = await apiJson(`/api/source?chunk_id=${encodeURIComponent(passage.chunk_id)}`);
    // Offsets count code points (Python), not UTF-16 units.
    const chars = Array.from(source.context);
    const start = source.highlight_start;
    const end = source.highlight_end;
    if (chars.slice(start, end).join("") !== passage.text) throw new Error("changed");
    // The passage is shaded; within it, the sentence the answer cites is marked.
    const [from, to] = span ? [start + span.start, start + span.end] : [start, end];
    text.innerHTML =
      (source.starts_at_beginning ? "" : "……") +
      sourceHtml(chars, 0, start) +
      `<span id="source-mark" class="passage">${sourceHtml(chars, start, from)}<mark>${sourceHtml(chars, from, to)}</mark>${sourceHtml(chars, to, end)}</span>` +
      sourceHtml(chars, end, chars.length) +
      (source.ends_at_end ? "" : "……");
    $("#source-meta").textContent = `${placeLabel(source)}${source.kind === "pdf" ? "（PDF 该页全文）" : ""}`;
  } catch (e) {
    note.hidden = false;
    note.textContent = "这篇简报已不在当前索引中（可能已删除或重建），下面是回答时保存的段落原文。";
    text.innerHTML = `<span id="source-mark" class="passage">${highlighted(passage.text, span || { start: 0, end: Array.from(passage.text).length })}</span>`;
  }
  const mark = $("#source-mark mark") || $("#source-mark");
  if (mark) mark.scrollIntoView({ block: "center" });
}

// Source text as HTML: a line that opens with Markdown #'s is shown as a heading, without them.
function sourceHtml(chars, from, to) {
  let html = "";
  let at = from;
  while (at < to) {
    let end = at;
    while (end < to && chars[end] !== "\n") end++;
    const line = chars.slice(at, end).join("");
    const heading = at === 0 || chars[at - 1] === "\n" ? /^#{1,6}\s+/.exec(line) : null;
    html += heading ? `<span class="source-heading">${escapeHtml(line.slice(heading[0].length))}</span>` : escapeHtml(line);
    if (end < to) html += "\n";
    at = end + 1;
  }
  return html;
}

// A new answer while the source panel is open: show the source of its first citation.
function followNewestAnswer(view) {
  if ($("#source-panel").hidden || !view.record || view.record.refused) return;
  const first = (view.record.citations || []).find((c) => c.number === 1);
  if (!first) return;
  const sentence = (view.record.sentences || []).find((s) => s.cited.includes(first.n));
  const span = sentence ? (sentence.evidence || []).find((e) => e.n === first.n) : null;
  openSource(view.passages[first.n - 1] || first, span || null);
}

function closeSource() {
  $("#source-panel").hidden = true;
}

function onCitationEvent(event) {
  const anchor = event.target.closest("sup.cite a");
  if (!anchor) return;
  if (event.type === "mouseover" || event.type === "focusin") showHovercard(anchor);
  else if (event.type === "mouseout" || event.type === "focusout") hideHovercard();
  else if (event.type === "click" || (event.type === "keydown" && (event.key === "Enter" || event.key === " "))) {
    event.preventDefault();
    const target = citationTarget(anchor);
    if (target) openSource(target.passage, target.span);
  }
}

// ---------- download ----------

function exportButton(label, action) {
  const button = document.createElement("button");
  button.className = "secondary export";
  button.textContent = label;
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await action();
    } catch (e) {
      alert(`导出失败：${e.message}`);
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

function turnExport(question, record) {
  const citations = (record.citations || []).map((c) => ({ n: c.n, reference: c.reference || null, title: c.title, section: c.section }));
  return { question, answer: record.answer, refused: Boolean(record.refused), refusal_reason: record.refusal_reason || null, citations };
}

// The server writes every export (Word footnotes, Markdown with ids unique across the file).
async function exportTurns(format, turns, title = null) {
  const response = await fetchWithKey(`/api/export/${format}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ title, turns }),
  });
  await saveResponse(response, `问答.${format === "docx" ? "docx" : "md"}`);
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

function downloadConversation(format) {
  const conversation = currentConversation();
  const turns = conversation.turns.filter((turn) => turn.record).map((turn) => turnExport(turn.question, turn.record));
  return exportTurns(format, turns, conversation.title);
}

// ---------- settings, status and documents ----------

/** The file picker and its hint list the formats the server reads (from /api/health). */
function showFormats(formats) {
  const labels = Object.entries(formats).map(([label, suffixes]) => `${label}（${suffixes.join(" ")}）`);
  $("#upload-formats").textContent = `支持 ${labels.join("、")}`;
  $("#upload-input").accept = Object.values(formats).flat().join(",");
}

async function refreshStatus() {
  try {
    const health = await apiJson("/api/health");
    $("#status").textContent = `索引 ${health.index}：${health.documents} 篇简报 · ${health.chunks} 个分块 · ${health.embedder}`;
    const select = $("#answerer");
    const chosen = select.value;
    select.innerHTML = "";
    for (const name of health.answerers) {
      const option = document.createElement("option");
      option.value = name === health.answerer ? "" : name;
      option.textContent = name === "extractive" ? "离线抽取式（extractive）" : name;
      if (name === health.answerer) option.textContent += "（默认）";
      select.append(option);
    }
    if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
    showFormats(health.formats);
    $("#k").max = health.limits.answer_passages; // the limits are defined once, on the server
    $("#question").maxLength = health.limits.question_chars;
  } catch (e) {
    $("#status").textContent = `服务不可用：${e.message}`;
  }
}

async function refreshDocuments() {
  try {
    state.documents = await apiJson("/api/documents");
  } catch (e) {
    state.documents = [];
  }
  const filter = $("#doc-filter");
  const checked = new Set([...filter.querySelectorAll("input:checked")].map((i) => i.value));
  filter.querySelectorAll("label").forEach((node) => node.remove());
  for (const doc of state.documents) {
    const label = document.createElement("label");
    label.innerHTML = `<input type="checkbox" value="${escapeHtml(doc.doc)}"${checked.has(doc.doc) ? " checked" : ""}> ${escapeHtml(doc.title)}`;
    filter.append(label);
  }
  const body = $("#docs-table tbody");
  body.innerHTML = "";
  for (const doc of state.documents) {
    const row = document.createElement("tr");
    row.innerHTML =
      `<td>${escapeHtml(doc.title)}</td><td>${escapeHtml(doc.publisher)}</td><td>${escapeHtml(doc.date)}</td>` +
      `<td class="num">${doc.chunks}</td><td>${escapeHtml(doc.doc)}</td><td></td>`;
    const editButton = document.createElement("button");
    editButton.className = "secondary";
    editButton.textContent = "编辑";
    editButton.setAttribute("aria-label", `编辑简报信息：${doc.title}`);
    editButton.addEventListener("click", () => editDocument(doc, row));
    row.lastElementChild.append(editButton, " ");
    const remove = document.createElement("button");
    remove.className = "secondary delete";
    remove.textContent = "删除";
    remove.setAttribute("aria-label", `删除简报：${doc.title}`);
    remove.addEventListener("click", () => deleteDocument(doc, remove));
    row.lastElementChild.append(remove);
    body.append(row);
  }
}

/** An inline form over the row: title, publisher and date, saved with PATCH /api/documents/{doc}. */
function editDocument(doc, row) {
  const cell = document.createElement("td");
  cell.colSpan = row.children.length;
  cell.innerHTML =
    `<form class="meta-edit"><label>标题 <input name="title" maxlength="200" placeholder="留空则用文件中的标题"></label>` +
    `<label>发布单位 <input name="publisher" maxlength="200"></label>` +
    `<label>日期 <input name="date" maxlength="10" placeholder="YYYY-MM-DD"></label>` +
    `<button class="primary" type="submit">保存</button><button class="secondary" type="button">取消</button>` +
    `<span class="hint" aria-live="polite"></span></form>`;
  const form = cell.querySelector("form");
  for (const key of ["title", "publisher", "date"]) form.elements[key].value = doc[key] || "";
  row.replaceChildren(cell);
  form.elements.title.focus();
  form.querySelector("button[type=button]").addEventListener("click", () => refreshDocuments());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const changed = {};
    for (const key of ["title", "publisher", "date"]) {
      const value = form.elements[key].value.trim();
      if (value !== (doc[key] || "")) changed[key] = value;
    }
    if (!Object.keys(changed).length) return refreshDocuments();
    const note = form.querySelector(".hint");
    note.textContent = "保存中，正在更新索引……";
    try {
      await apiJson(`/api/documents/${encodeURIComponent(doc.doc)}`, {
        method: "PATCH",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(changed),
      });
      $("#rebuild-status").textContent = `已更新：${changed.title || doc.title}`;
      await Promise.all([refreshDocuments(), refreshStatus()]);
    } catch (e) {
      note.textContent = `保存失败：${e.message}`;
    }
  });
}

async function deleteDocument(doc, button) {
  if (!button.classList.contains("confirm")) {
    button.classList.add("confirm");
    button.textContent = "确认删除？";
    button.setAttribute("aria-label", `确认删除简报：${doc.title}？`);
    setTimeout(() => {
      button.classList.remove("confirm");
      button.textContent = "删除";
      button.setAttribute("aria-label", `删除简报：${doc.title}`);
    }, 4000);
    return;
  }
  button.disabled = true;
  button.textContent = "删除中…";
  try {
    await apiJson(`/api/documents/${encodeURIComponent(doc.doc)}`, { method: "DELETE" });
    $("#rebuild-status").textContent = `已删除：${doc.title}`;
  } catch (e) {
    $("#rebuild-status").textContent = `删除失败：${e.message}`;
  }
  await Promise.all([refreshDocuments(), refreshStatus()]);
}

function uploadOne(file, replace, meta) {
  const item = document.createElement("li");
  item.innerHTML = `<span class="file-name"></span><progress max="1" value="0"></progress><span class="file-status">上传中…</span>`;
  item.querySelector(".file-name").textContent = file.name;
  $("#upload-list").append(item);
  const bar = item.querySelector("progress");
  const status = item.querySelector(".file-status");
  return new Promise((resolve) => {
    const request = new XMLHttpRequest();
    request.open("POST", `/api/documents${replace ? "?replace=true" : ""}`);
    for (const [name, value] of Object.entries(withKey())) request.setRequestHeader(name, value);
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) bar.value = event.loaded / event.total;
      if (event.loaded === event.total) status.textContent = "正在解析并生成向量……";
    });
    request.addEventListener("load", () => {
      let data = null;
      try {
        data = JSON.parse(request.responseText);
      } catch (e) {
        data = null;
      }
      bar.value = 1;
      if (request.status === 200 && data) {
        const failed = data.failed && data.failed[file.name];
        status.className = failed ? "file-status failed" : "file-status done";
        status.textContent = failed ? failed : `已加入索引（共 ${data.documents} 篇简报，本次嵌入 ${data.embedded_chunks} 个分块）`;
      } else {
        status.className = "file-status failed";
        status.textContent = data && data.error ? data.error.message : `上传失败（HTTP ${request.status}）`;
      }
      resolve();
    });
    request.addEventListener("error", () => {
      status.className = "file-status failed";
      status.textContent = "上传失败：无法连接服务";
      resolve();
    });
    const form = new FormData();
    form.append("files", file, file.name);
    for (const [key, value] of Object.entries(meta)) form.append(key, value);
    request.send(form);
  });
}

async function uploadSelected() {
  const input = $("#upload-input");
  const files = [...input.files];
  if (!files.length) return;
  const replace = $("#replace").checked;
  const meta = {};
  for (const key of ["title", "publisher", "date"]) {
    const value = $(`#upload-${key}`).value.trim();
    if (value) meta[key] = value;
  }
  if (meta.title && files.length > 1) {
    $("#upload-chosen").textContent = "标题只能为单个文件填写：请只选一个文件，或清空标题";
    return;
  }
  $("#upload-button").disabled = true;
  for (const file of files) await uploadOne(file, replace, meta); // one at a time: the index has one writer
  for (const key of ["title", "publisher", "date"]) $(`#upload-${key}`).value = "";
  input.value = "";
  $("#upload-chosen").textContent = "未选择文件";
  $("#upload-button").disabled = false;
  await Promise.all([refreshDocuments(), refreshStatus()]);
}

async function rebuild() {
  const status = $("#rebuild-status");
  const bar = $("#rebuild-progress");
  $("#rebuild-button").disabled = true;
  try {
    let job = await apiJson("/api/index/rebuild", { method: "POST" });
    bar.hidden = false;
    while (job.state === "running") {
      const stage = { embed: "生成向量", pages: "读取 PDF 页面" }[job.stage] || "解析简报";
      bar.value = job.total ? job.done / job.total : 0;
      status.textContent = job.total ? `重建中：${stage} ${job.done}/${job.total}` : "重建中……";
      await new Promise((r) => setTimeout(r, 500));
      job = await apiJson("/api/index/rebuild");
    }
    bar.value = 1;
    status.textContent =
      job.state === "done"
        ? `重建完成：${job.report.documents} 篇简报，${job.report.chunks} 个分块`
        : `重建失败：${job.error ? job.error.message : "未知原因"}`;
  } catch (e) {
    status.textContent = `重建失败：${e.message}`;
  } finally {
    $("#rebuild-button").disabled = false;
    await Promise.all([refreshDocuments(), refreshStatus()]);
  }
}

function showTab(name) {
  for (const tab of ["ask", "docs", "eval"]) {
    $(`#view-${tab}`).hidden = tab !== name;
    $(`#tab-${tab}`).setAttribute("aria-selected", String(tab === name));
  }
  if (name === "docs") refreshDocuments();
  if (name === "eval") refreshEval(); // eval.js
}

// ---------- wiring ----------

function init() {
  loadConversations();
  renderAll();
  refreshStatus();
  refreshDocuments();

  $("#ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const question = $("#question").value;
    if (!question.trim()) return;
    $("#question").value = "";
    ask(question);
  });
  $("#question").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("#ask-form").requestSubmit();
    }
  });
  document.querySelectorAll(".example").forEach((button) =>
    button.addEventListener("click", () => {
      $("#question").value = button.textContent;
      $("#ask-form").requestSubmit();
    }),
  );
  const messages = $("#messages");
  for (const type of ["mouseover", "mouseout", "focusin", "focusout", "click", "keydown"]) {
    messages.addEventListener(type, onCitationEvent);
  }
  $("#source-close").addEventListener("click", closeSource);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      hideHovercard();
      closeSource();
    }
  });
  $("#new-chat").addEventListener("click", () => {
    startConversation();
    renderAll();
    $("#question").focus();
  });
  $("#download-md").addEventListener("click", () => downloadConversation("markdown").catch((e) => alert(`导出失败：${e.message}`)));
  $("#download-docx").addEventListener("click", () => downloadConversation("docx").catch((e) => alert(`导出失败：${e.message}`)));
  $("#toggle-sidebar").addEventListener("click", () => document.body.classList.toggle("sidebar-open"));
  $("#tab-ask").addEventListener("click", () => showTab("ask"));
  $("#tab-docs").addEventListener("click", () => showTab("docs"));
  $("#tab-eval").addEventListener("click", () => showTab("eval"));
  $("#upload-button").addEventListener("click", uploadSelected);
  $("#upload-input").addEventListener("change", () => {
    const names = [...$("#upload-input").files].map((f) => f.name);
    $("#upload-chosen").textContent = names.length ? names.join("、") : "未选择文件";
  });
  $("#rebuild-button").addEventListener("click", rebuild);
  $("#question").focus();
}

document.addEventListener("DOMContentLoaded", init);
